// The pieces several pages share: an image's actions, and a grid that pages through a list.

import { api, downloadUrl, type Image, type Listing } from "./api";
import { h, mount, spinner, status, type Child } from "./dom";
import { explain } from "./errors";
import { user } from "./session";

/** Like / unlike, with the count; `aria-pressed` says which. */
export function likeButton(image: Image, onChange?: (image: Image) => void): HTMLButtonElement {
  const button = h("button", { type: "button", class: "btn btn-small like" });
  const paint = () => {
    button.setAttribute("aria-pressed", String(image.likedByMe));
    button.setAttribute("aria-label", `${image.likedByMe ? "Unlike" : "Like"} (${image.likes} ${image.likes === 1 ? "like" : "likes"})`);
    mount(button, h("span", { "aria-hidden": "true" }, image.likedByMe ? "♥" : "♡"), ` ${image.likes}`);
  };
  paint();
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const r = await api<{ likes: number; likedByMe: boolean }>(image.likedByMe ? "DELETE" : "PUT", `/images/${image.id}/like`);
      image.likes = r.likes;
      image.likedByMe = r.likedByMe;
      paint();
      onChange?.(image);
    } catch (e) {
      button.after(status(explain(e), "error"));
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/** Copy link, and the networks' share intents (public images only). */
export function shareBox(image: Image): HTMLElement {
  const box = h("div", { class: "share" });
  const paint = () => {
    if (!image.share) {
      mount(box, h("p", { class: "hint" }, "Make the image public to share it."));
      return;
    }
    const links = image.share;
    const note = h("span", { class: "hint", role: "status" });
    const copy = h(
      "button",
      {
        type: "button",
        class: "btn btn-small",
        onclick: async () => {
          try {
            await navigator.clipboard.writeText(links.page);
            note.textContent = "Link copied.";
          } catch {
            note.replaceChildren("Copy this link: ", h("input", { type: "text", readonly: true, value: links.page, "aria-label": "Share link", class: "copy-field" }));
          }
        },
      },
      "Copy link",
    );
    const net = (label: string, href: string) =>
      h("a", { class: "btn btn-small", href, target: "_blank", rel: "noopener noreferrer", "aria-label": `Share on ${label} (opens a new tab)` }, label);
    mount(
      box,
      h("div", { class: "row wrap" }, copy, net("X", links.x), net("Facebook", links.facebook), net("Pinterest", links.pinterest), net("Reddit", links.reddit)),
      note,
    );
  };
  paint();
  (box as HTMLElement & { repaint?: () => void }).repaint = paint;
  return box;
}

/** Make public / private (owner only). */
export function visibilityButton(image: Image, onChange: (image: Image) => void): HTMLButtonElement {
  const button = h("button", { type: "button", class: "btn btn-small" });
  const paint = () => {
    button.textContent = image.visibility === "public" ? "Make private" : "Make public";
    button.setAttribute("aria-label", `${button.textContent} (now ${image.visibility})`);
  };
  paint();
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const updated = await api<Image>("PATCH", `/images/${image.id}`, { visibility: image.visibility === "public" ? "private" : "public" });
      Object.assign(image, updated);
      paint();
      onChange(image);
    } catch (e) {
      button.after(status(explain(e), "error"));
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

export function badge(text: string): HTMLElement {
  return h("span", { class: "badge" }, text);
}

/** A full image card with every action, for the results of a job. */
export function imageCard(image: Image): HTMLElement {
  const share = shareBox(image) as HTMLElement & { repaint?: () => void };
  const vis = h("span", { class: "badge" }, image.visibility);
  return h(
    "article",
    { class: "card", "data-image-id": image.id, "aria-label": `Image: ${image.prompt}` },
    h("a", { href: `/history/${image.id}`, class: "card-media", "aria-label": `Open: ${image.prompt}` },
      h("img", { src: image.urls.image, alt: image.prompt, width: image.width, height: image.height, loading: "lazy", decoding: "async" })),
    h("div", { class: "card-body" },
      h("div", { class: "row wrap" }, badge(image.model.toUpperCase()), badge(`${image.width}×${image.height}`), vis),
      h("div", { class: "row wrap actions" },
        h("a", { class: "btn btn-small", href: downloadUrl(image.id), download: "", "aria-label": "Download" }, "Download"),
        likeButton(image),
        visibilityButton(image, () => {
          vis.textContent = image.visibility;
          share.repaint?.();
        }),
      ),
      h("details", { class: "share-details" }, h("summary", null, "Share"), share),
    ),
  );
}

/** A thumbnail linking somewhere, with the prompt as its alt text. */
export function thumb(image: Image, href: string, extra?: Child): HTMLElement {
  return h(
    "li",
    { class: "thumb", "data-image-id": image.id },
    h("a", { href, class: "thumb-link" },
      h("img", { src: image.urls.thumbnail, alt: image.prompt, loading: "lazy", decoding: "async", width: 384, height: Math.round((384 * image.height) / image.width) })),
    extra,
  );
}

/** A list over the cursor API, loading the next page as its end scrolls into view (and by a
 * button, for keyboards and when observers are not there). */
export function pagedGrid<T>(opts: {
  load: (cursor: string | null) => Promise<Listing<T>>;
  item: (item: T) => Node;
  empty: Child;
  label: string;
  listClass?: string;
}): HTMLElement {
  const list = h("ul", { class: opts.listClass ?? "grid", "aria-label": opts.label });
  const more = h("button", { type: "button", class: "btn", hidden: true }, "Load more");
  const state = h("div", { class: "grid-state" });
  const wrap = h("section", { class: "paged", "aria-busy": "true" }, list, state, h("div", { class: "center" }, more));
  let cursor: string | null = null;
  let loading = false;
  let done = false;
  let count = 0;
  const observer = "IntersectionObserver" in window ? new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && void next(), { rootMargin: "400px" }) : null;

  async function next(): Promise<void> {
    if (loading || done) return;
    loading = true;
    wrap.setAttribute("aria-busy", "true");
    mount(state, spinner("Loading…"));
    try {
      const page = await opts.load(cursor);
      for (const it of page.items) list.appendChild(opts.item(it));
      count += page.items.length;
      cursor = page.nextCursor;
      done = cursor === null;
      mount(state, count === 0 ? h("div", { class: "empty" }, opts.empty) : null);
      more.hidden = done;
    } catch (e) {
      mount(state, status(explain(e), "error"));
      more.hidden = false;
    } finally {
      loading = false;
      wrap.setAttribute("aria-busy", "false");
    }
    if (!done && observer) {
      observer.disconnect();
      observer.observe(more);
    }
  }
  more.addEventListener("click", () => void next());
  void next();
  return wrap;
}

export function requireSignIn(what: string): HTMLElement | null {
  if (user()) return null;
  return h(
    "section",
    { class: "panel narrow" },
    h("h1", { tabindex: "-1" }, "Log in to continue"),
    h("p", null, `Log in or create an account to ${what}. New accounts get 3 free credits.`),
    h("div", { class: "row wrap" },
      h("a", { class: "btn btn-primary", href: `/login?next=${encodeURIComponent(location.pathname + location.search)}` }, "Log in"),
      h("a", { class: "btn", href: `/register?next=${encodeURIComponent(location.pathname + location.search)}` }, "Create an account"),
    ),
  );
}
