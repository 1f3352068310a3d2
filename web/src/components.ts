// The pieces several pages share: an image's actions, and a grid that pages through a list.

import { api, downloadUrl, type Image, type Listing } from "./api";
import { h, mount, spinner, status, type Child } from "./dom";
import { explain } from "./errors";
import { openLightbox } from "./lightbox";
import { srcset } from "./pure/sizes";
import { user } from "./session";

/** Like / unlike, with the count; `aria-pressed` says which. */
export function likeButton(image: Image, onChange?: (image: Image) => void): HTMLButtonElement {
  const button = h("button", { type: "button", class: "btn btn-small like" });
  const paint = () => {
    button.setAttribute("aria-pressed", String(image.likedByMe));
    // The name holds the visible count (axe: label-content-name-mismatch): "Unlike 1 like".
    mount(button,
      h("span", { "aria-hidden": "true" }, image.likedByMe ? "♥" : "♡"),
      h("span", { class: "sr-only" }, image.likedByMe ? "Unlike" : "Like"),
      ` ${image.likes}`,
      h("span", { class: "sr-only" }, image.likes === 1 ? " like" : " likes"));
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

/** The file of an image, for the Web Share API's `files` (null where the browser cannot fetch it:
 * a bucket without CORS for this origin, or a policy that forbids the connection). */
async function imageFile(image: Image): Promise<File | null> {
  try {
    const response = await fetch(image.urls.image, { mode: "cors", credentials: "omit" });
    if (!response.ok) return null;
    const blob = await response.blob();
    const ext = blob.type === "image/png" ? "png" : blob.type === "image/webp" ? "webp" : "jpg";
    return new File([blob], `artforge-${image.id}.${ext}`, { type: blob.type || "image/jpeg" });
  } catch {
    return null;
  }
}

/** Share: the system's share sheet where there is one (with the picture itself where the browser
 * can share files), copy link as the fallback, and the networks' share intents. Public images
 * only: a private one has no page anyone else could open. */
export function shareBox(image: Image): HTMLElement {
  const box = h("div", { class: "share" });
  const paint = () => {
    if (!image.share) {
      mount(box, h("p", { class: "hint" }, "Make the image public to share it."));
      return;
    }
    const links = image.share;
    const note = h("span", { class: "hint", role: "status" });
    const copyLink = async () => {
      try {
        await navigator.clipboard.writeText(links.page);
        note.textContent = "Link copied.";
      } catch {
        const field = h("input", { type: "text", readonly: true, value: links.page, "aria-label": "Share link", class: "copy-field" });
        note.replaceChildren("Copy this link: ", field);
        field.select();
      }
    };
    const copy = h("button", { type: "button", class: "btn btn-small", onclick: copyLink }, "Copy link");
    const native = typeof navigator.share === "function"
      ? h("button", {
          type: "button",
          class: "btn btn-small btn-primary",
          "data-testid": "web-share",
          onclick: async (event: Event) => {
            const button = event.currentTarget as HTMLButtonElement;
            button.disabled = true;
            const data: ShareData = { title: "Artforge", text: image.prompt, url: links.page };
            const file = await imageFile(image);
            if (file && navigator.canShare?.({ files: [file] })) data.files = [file];
            try {
              await navigator.share(data);
              note.textContent = data.files ? "Shared with the picture." : "Shared.";
            } catch (e) {
              // AbortError: the person closed the sheet; anything else: offer the link instead.
              if ((e as DOMException | null)?.name !== "AbortError") await copyLink();
            } finally {
              button.disabled = false;
            }
          },
        }, "Share…")
      : null;
    const net = (label: string, href: string) =>
      h("a", { class: "btn btn-small", href, target: "_blank", rel: "noopener noreferrer", "aria-label": `Share on ${label} (opens a new tab)` }, label);
    mount(
      box,
      h("div", { class: "row wrap" }, native, copy, net("X", links.x), net("Facebook", links.facebook), net("Pinterest", links.pinterest), net("Reddit", links.reddit)),
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

/** "Edited from" / "remixed from": where an image came from, linked (its page if it is ours,
 * the share page otherwise: the image page asks, and a foreign one answers 404 there). */
export function lineage(image: Image): HTMLElement | null {
  const parts: HTMLElement[] = [];
  if (image.edited || image.editedFrom) {
    const from = image.editedFrom && "image" in image.editedFrom ? image.editedFrom.image : image.sourceId;
    parts.push(h("span", { "data-testid": "edited-from" }, from ? ["Edited from ", h("a", { href: `/history/${from}` }, "this image")] : "Edited from an uploaded image"));
  }
  if (image.remixOf) {
    parts.push(h("span", { "data-testid": "remixed-from" }, "Remixed from ", h("a", { href: `/history/${image.remixOf}` }, "this image")));
  }
  return parts.length ? h("p", { class: "lineage hint" }, parts.flatMap((p, i) => (i ? [" · ", p] : [p]))) : null;
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
      responsiveImage(image, "(min-width: 640px) 24rem, 100vw", "lazy")),
    h("div", { class: "card-body" },
      h("div", { class: "row wrap" }, badge(image.model.toUpperCase()), badge(`${image.width}×${image.height}`), vis),
      h("div", { class: "row wrap actions" },
        h("a", { class: "btn btn-small", href: downloadUrl(image.id), download: "", "aria-label": "Download" }, "Download"),
        likeButton(image),
        h("a", { class: "btn btn-small", href: `/create?remix=${encodeURIComponent(image.id)}` }, "Remix"),
        visibilityButton(image, () => {
          vis.textContent = image.visibility;
          share.repaint?.();
        }),
      ),
      h("details", { class: "share-details" }, h("summary", null, "Share"), share),
    ),
  );
}

/** The image at its shown size: the thumbnail first, the sized image where the slot (or the
 * screen's density) needs more pixels; `width`/`height` reserve the space before it loads. */
export function responsiveImage(image: Image, sizes: string, loading: "lazy" | "eager" = "lazy"): HTMLImageElement {
  return h("img", {
    src: image.urls.thumbnail,
    srcset: srcset(image.urls, image.width, image.height),
    sizes,
    alt: image.prompt,
    width: image.width,
    height: image.height,
    loading,
    decoding: "async",
  });
}

interface ThumbEntry {
  image: Image;
  href: string;
}
type ThumbItem = HTMLElement & { entry?: ThumbEntry };

/** A thumbnail linking to its page, with "Enlarge" opening the lightbox over its grid. */
export function thumb(image: Image, href: string, extra?: Child): HTMLElement {
  const enlarge = h("button", { type: "button", class: "enlarge", "aria-label": `Enlarge: ${image.prompt}`, "data-lightbox": image.id },
    h("span", { "aria-hidden": "true" }, "⤢"));
  const li = h(
    "li",
    { class: "thumb", "data-image-id": image.id },
    h("div", { class: "thumb-frame" },
      h("a", { href, class: "thumb-link" },
        h("img", { src: image.urls.thumbnail, alt: image.prompt, loading: "lazy", decoding: "async", width: 384, height: Math.round((384 * image.height) / image.width) })),
      enlarge),
    extra,
  );
  (li as ThumbItem).entry = { image, href };
  enlarge.addEventListener("click", () => {
    const list = li.closest("ul");
    const entries = list ? [...list.querySelectorAll<ThumbItem>(":scope > .thumb")].map((el) => el.entry).filter((x): x is ThumbEntry => Boolean(x)) : [{ image, href }];
    const images = entries.map((e) => e.image);
    const pages = new Map(entries.map((e) => [e.image.id, e.href]));
    openLightbox(images, Math.max(0, images.indexOf(image)), (shown) => {
      // Focus returns to the "Enlarge" of the image last shown, so the grid's place is kept.
      list?.querySelector<HTMLElement>(`[data-lightbox="${CSS.escape(shown.id)}"]`)?.focus();
    }, (shown) => pages.get(shown.id) ?? href);
  });
  return li;
}

export type PagedGrid = HTMLElement & {
  /** Starts again from the first page (after the filters changed). */
  reload: () => void;
  /** One item was taken out of the list by the page (an unlike in the Liked view). */
  removed: () => void;
};

/** A list over the cursor API, loading the next page as its end scrolls into view (and by a
 * button, for keyboards and when observers are not there). A failed page is not retried by
 * scrolling: the error says so and "Try again" (or a `reload()`) asks once more, so a broken
 * connection never turns into a loop of requests. */
export function pagedGrid<T>(opts: {
  load: (cursor: string | null) => Promise<Listing<T>>;
  item: (item: T) => Node;
  empty: Child;
  label: string;
  listClass?: string;
}): PagedGrid {
  const list = h("ul", { class: opts.listClass ?? "grid", "aria-label": opts.label });
  const more = h("button", { type: "button", class: "btn", hidden: true }, "Load more");
  const state = h("div", { class: "grid-state" });
  const wrap = h("section", { class: "paged", "aria-busy": "true" }, list, state, h("div", { class: "center" }, more)) as PagedGrid;
  let cursor: string | null = null;
  let loading = false;
  let done = false;
  let count = 0;
  let generation = 0;
  const observer = "IntersectionObserver" in window ? new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && void next(false), { rootMargin: "400px" }) : null;

  async function next(asked: boolean): Promise<void> {
    if (loading || done) return;
    // Only a person (the button) retries after a failure; the observer does not.
    if (!asked && wrap.dataset.failed === "true") return;
    const mine = generation;
    loading = true;
    wrap.setAttribute("aria-busy", "true");
    mount(state, spinner("Loading…"));
    observer?.disconnect();
    try {
      const page = await opts.load(cursor);
      if (mine !== generation) return;
      for (const it of page.items) list.appendChild(opts.item(it));
      count += page.items.length;
      cursor = page.nextCursor;
      done = cursor === null;
      delete wrap.dataset.failed;
      mount(state, count === 0 ? h("div", { class: "empty" }, opts.empty) : null);
      more.textContent = "Load more";
      more.hidden = done;
      if (!done) observer?.observe(more);
    } catch (e) {
      if (mine !== generation) return;
      wrap.dataset.failed = "true";
      mount(state, status(explain(e), "error"));
      more.textContent = "Try again";
      more.hidden = false;
    } finally {
      if (mine === generation) {
        loading = false;
        wrap.setAttribute("aria-busy", "false");
      }
    }
  }
  more.addEventListener("click", () => void next(true));
  wrap.removed = () => {
    count = Math.max(0, count - 1);
    if (count === 0 && done) mount(state, h("div", { class: "empty" }, opts.empty));
  };
  wrap.reload = () => {
    generation += 1;
    observer?.disconnect();
    list.replaceChildren();
    cursor = null;
    loading = false;
    done = false;
    count = 0;
    delete wrap.dataset.failed;
    void next(true);
  };
  void next(true);
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
