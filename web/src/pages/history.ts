import { api, get, PAGE_SIZE, query, type Archive, type Catalog, type Image, type Listing } from "../api";
import { h, mount, spinner, status, uid } from "../dom";
import { likeButton, pagedGrid, requireSignIn, thumb } from "../components";
import { explain } from "../errors";
import { Backoff } from "../pure/backoff";
import { user } from "../session";

/** At most this many images in one ZIP (DESIGN §11). */
const ARCHIVE_MAX = 100;

interface Filters {
  model: string;
  preset: string;
  tag: string;
  liked: boolean;
  q: string;
}

/** `/history` (and `/liked`): the profile, and the user's images with server-side filters. A
 * filter changes the grid and the address in place, so focus stays on the control just used. */
export async function historyPage(_: Record<string, string>, q: URLSearchParams): Promise<Node> {
  const gate = requireSignIn("see your images");
  if (gate) return gate;
  const me = user();
  const likedView = location.pathname === "/liked";
  const [catalog, tags] = await Promise.all([get<Catalog>("/models"), get<Listing<{ tag: string; count: number }>>("/tags")]);
  const filters: Filters = { model: q.get("model") ?? "", preset: q.get("preset") ?? "", tag: q.get("tag") ?? "", liked: likedView || q.get("liked") === "true", q: q.get("q") ?? "" };

  const select = (name: string, label: string, options: [string, string][], value: string) => {
    const id = uid(name);
    return h(
      "div",
      { class: "field" },
      h("label", { for: id }, label),
      h("select", { id, name }, h("option", { value: "" }, "All"), options.map(([v, text]) => h("option", { value: v, selected: v === value }, text))),
    );
  };
  const likedId = uid("liked");
  const searchId = uid("q");
  const search = h("input", { id: searchId, name: "q", type: "search", value: filters.q, autocomplete: "off", placeholder: "Words of the prompt or tags" });
  const form = h(
    "form",
    { class: "filters row wrap", role: "search", "aria-label": "Filter images" },
    h("div", { class: "field grow" }, h("label", { for: searchId }, "Search"), search),
    select("model", "Model", catalog.tiers.map((t) => [t.id, t.name]), filters.model),
    select("preset", "Size", catalog.presets.map((p) => [p.id, p.name]), filters.preset),
    select("tag", "Tag", tags.items.map((t) => [t.tag, `${t.tag} (${t.count})`]), filters.tag),
    likedView ? null : h("div", { class: "field check" }, h("input", { type: "checkbox", id: likedId, name: "liked", checked: filters.liked }), h("label", { for: likedId }, "Liked only")),
  );
  const heading = h("h1", { tabindex: "-1" }, filters.liked ? "Liked images" : "Your images");
  const announce = h("p", { class: "sr-only", role: "status" });

  // ---- multi-select and "Download ZIP" ----
  const selected = new Set<string>();
  const selectToggle = h("button", { type: "button", class: "btn btn-small", "aria-pressed": "false" }, "Select");
  const zipButton = h("button", { type: "button", class: "btn btn-small btn-primary", hidden: true, disabled: true }, "Download ZIP");
  const selectAll = h("button", { type: "button", class: "btn btn-small", hidden: true }, "Select all shown");
  const zipState = h("div", { "aria-live": "polite" });
  const selecting = () => selectToggle.getAttribute("aria-pressed") === "true";
  const paintSelection = () => {
    zipButton.hidden = selectAll.hidden = !selecting();
    zipButton.disabled = selected.size === 0 || selected.size > ARCHIVE_MAX;
    zipButton.textContent = selected.size ? `Download ZIP (${selected.size})` : "Download ZIP";
    gridWrap.classList.toggle("selecting", selecting());
  };
  selectToggle.addEventListener("click", () => {
    selectToggle.setAttribute("aria-pressed", String(!selecting()));
    selectToggle.textContent = selecting() ? "Done selecting" : "Select";
    if (!selecting()) {
      selected.clear();
      for (const box of gridWrap.querySelectorAll<HTMLInputElement>("input.pick-box")) box.checked = false;
    }
    paintSelection();
  });
  selectAll.addEventListener("click", () => {
    for (const box of gridWrap.querySelectorAll<HTMLInputElement>("input.pick-box")) {
      if (selected.size >= ARCHIVE_MAX) break;
      box.checked = true;
      selected.add(box.value);
    }
    paintSelection();
  });
  zipButton.addEventListener("click", () => void makeZip([...selected], zipState, zipButton));

  let grid = makeGrid();
  const gridWrap = h("div", { class: "grid-wrap" }, grid);

  function makeGrid() {
    const filtered = Boolean(filters.model || filters.preset || filters.tag || filters.q || (filters.liked && !likedView));
    return pagedGrid<Image>({
      label: filters.liked ? "Liked images" : "Your images",
      load: (cursor) => get<Listing<Image>>(`/images${query({ model: filters.model, preset: filters.preset, tag: filters.tag, q: filters.q, liked: filters.liked ? "true" : null, cursor, limit: PAGE_SIZE })}`),
      item: (image) => {
        const boxId = uid("pick");
        const box = h("input", { type: "checkbox", class: "pick-box", id: boxId, value: image.id, checked: selected.has(image.id), "aria-label": `Select “${image.prompt}”` });
        box.addEventListener("change", () => {
          if (box.checked) selected.add(image.id);
          else selected.delete(image.id);
          paintSelection();
        });
        const item: HTMLElement = thumb(
          image,
          `/history/${image.id}`,
          h("div", { class: "thumb-meta" },
            h("div", { class: "pick-row" }, box, h("label", { for: boxId }, "Select")),
            h("p", { class: "thumb-prompt" }, image.prompt),
            likeButton(image, (changed) => {
              // Unliked in the Liked view: the card goes, and focus moves to the next card's like.
              if (!filters.liked || changed.likedByMe) return;
              const next = (item.nextElementSibling ?? item.previousElementSibling) as HTMLElement | null;
              item.remove();
              selected.delete(image.id);
              grid.removed();
              announce.textContent = `Unliked and removed “${image.prompt}”.`;
              (next?.querySelector<HTMLElement>("button.like") ?? heading).focus();
            }),
          ),
        );
        return item;
      },
      empty: filtered
        ? ["No images match these filters. ", h("a", { href: likedView ? "/liked" : "/history" }, "Show all")]
        : filters.liked
          ? "No liked images yet."
          : ["No images yet. ", h("a", { href: "/create" }, "Create your first"), "."],
    });
  }

  const apply = () => {
    const data = new FormData(form);
    filters.model = String(data.get("model") ?? "");
    filters.preset = String(data.get("preset") ?? "");
    filters.tag = String(data.get("tag") ?? "");
    filters.q = String(data.get("q") ?? "").trim();
    filters.liked = likedView || Boolean(data.get("liked"));
    heading.textContent = filters.liked ? "Liked images" : "Your images";
    document.title = `${heading.textContent} · Artforge`;
    const path = likedView ? "/liked" : "/history";
    history.replaceState(null, "", path + query({ model: filters.model, preset: filters.preset, tag: filters.tag, q: filters.q, liked: !likedView && filters.liked ? "true" : null }));
    selected.clear();
    paintSelection();
    const fresh = makeGrid();
    grid.replaceWith(fresh);
    grid = fresh;
    announce.textContent = "Filters applied.";
  };
  form.addEventListener("change", (e) => {
    if ((e.target as HTMLElement).getAttribute("name") !== "q") apply();
  });
  let typing: ReturnType<typeof setTimeout> | null = null;
  search.addEventListener("input", () => {
    if (typing) clearTimeout(typing);
    typing = setTimeout(apply, 350);
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (typing) clearTimeout(typing);
    apply();
  });
  paintSelection();

  return h(
    "div",
    { class: "history" },
    h(
      "section",
      { class: "profile panel" },
      heading,
      me ? h("p", { class: "hint" }, `${me.name ? `${me.name} · ` : ""}${me.email} · ${me.credits} credits · member since ${new Date(me.createdAt).toLocaleDateString()} · `, h("a", { href: "/account" }, "Account")) : null,
      form,
    ),
    q.get("deleted") ? h("div", { tabindex: "-1", "data-focus": "" }, status("The image was deleted.", "success")) : null,
    h("div", { class: "row wrap select-bar" }, selectToggle, selectAll, zipButton),
    zipState,
    announce,
    gridWrap,
  );
}

/** Asks for a ZIP of the chosen images and waits for it, then offers it (and starts it). */
async function makeZip(ids: string[], box: HTMLElement, button: HTMLButtonElement): Promise<void> {
  button.disabled = true;
  mount(box, spinner(`Packing ${ids.length} image${ids.length === 1 ? "" : "s"}…`));
  try {
    let archive = await api<Archive>("POST", "/images/archive", { ids });
    const backoff = new Backoff({ base: 1000, steady: 3000, max: 15_000 });
    const until = Date.now() + 5 * 60 * 1000;
    while (archive.status === "pending" && Date.now() < until) {
      await new Promise((r) => setTimeout(r, backoff.succeeded()));
      try {
        archive = await get<Archive>(`/images/archive/${encodeURIComponent(archive.id)}`);
      } catch (e) {
        if ((e as { status?: number }).status === 401 || (e as { status?: number }).status === 404) throw e;
        await new Promise((r) => setTimeout(r, backoff.failed()));
      }
    }
    if (archive.status === "ready" && archive.url) {
      const b = archive.bytes ?? 0;
      const size = b >= 1024 * 1024 ? ` (${(b / 1024 / 1024).toFixed(1)} MB)` : b > 0 ? ` (${Math.max(1, Math.round(b / 1024))} KB)` : "";
      const link = h("a", { class: "btn btn-primary", href: archive.url, download: "", "data-external": "", "data-testid": "zip-link" }, `Download the ZIP${size}`);
      mount(box, status([`Your ZIP of ${archive.count} image${archive.count === 1 ? "" : "s"} is ready. `, link, " The link works for a few minutes; the ZIP is kept for a day."], "success"));
      link.focus();
    } else if (archive.status === "failed") {
      mount(box, status("The ZIP could not be made. Try again, or with fewer images.", "error"));
    } else {
      mount(box, status("The ZIP is taking long. Try again in a minute.", "info"));
    }
  } catch (e) {
    mount(box, status(explain(e), "error"));
  } finally {
    button.disabled = false;
  }
}
