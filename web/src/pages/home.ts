import { PAGE_SIZE, get, query, type Image, type Listing } from "../api";
import { h, uid } from "../dom";
import { likeButton, pagedGrid, thumb } from "../components";
import { user } from "../session";

/** `/`: the hero, whose search searches the public feed (`q`), and the feed itself. */
export function homePage(_: Record<string, string>, q: URLSearchParams): Node {
  let words = q.get("q") ?? "";
  const searchId = uid("q");
  const input = h("input", { id: searchId, name: "q", type: "search", placeholder: "Search: lighthouse, watercolour…", maxlength: 200, autocomplete: "off", value: words });
  const form = h(
    "form",
    { class: "promptbar", role: "search", "aria-label": "Find images" },
    h("label", { for: searchId, class: "sr-only" }, "Search public images"),
    input,
    h("button", { type: "submit", class: "btn btn-primary" }, "Search"),
  );
  const title = h("h2", { id: "feed-title" });
  const announce = h("p", { class: "sr-only", role: "status" });
  const makeFeed = () =>
    pagedGrid<Image>({
      label: words ? `Public images matching ${words}` : "Public images",
      load: (cursor) => get<Listing<Image>>(`/feed${query({ q: words, cursor, limit: PAGE_SIZE })}`),
      item: (image) =>
        thumb(image, `/i/${image.id}`, h("div", { class: "thumb-meta" },
          h("p", { class: "thumb-prompt" }, image.prompt),
          h("div", { class: "row wrap" },
            user() ? likeButton(image) : h("span", { class: "hint" }, `♥ ${image.likes}`),
            h("a", { class: "btn btn-small", href: `/create?remix=${encodeURIComponent(image.id)}`, "aria-label": `Remix “${image.prompt}”` }, "Remix")))),
      empty: words ? [`No public images match “${words}”. `, h("a", { href: "/" }, "Show all")] : ["Nothing public yet. ", h("a", { href: "/create" }, "Make the first image"), " and share it."],
    });
  let feed = makeFeed();
  const paintTitle = () => (title.textContent = words ? `Results for “${words}”` : "From the community");
  paintTitle();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    words = input.value.trim();
    history.replaceState(null, "", `/${query({ q: words })}`);
    paintTitle();
    const fresh = makeFeed();
    feed.replaceWith(fresh);
    feed = fresh;
    announce.textContent = words ? `Searching public images for ${words}.` : "Showing all public images.";
  });
  return h(
    "div",
    { class: "home" },
    h(
      "section",
      { class: "hero" },
      h("h1", { tabindex: "-1" }, "Images sized for where you post them"),
      h("p", { class: "lead" }, "Describe it, pick Instagram, Stories or YouTube, and get finished images at the exact pixels."),
      form,
      h("p", { class: "hero-cta" }, h("a", { class: "btn btn-primary", href: "/create" }, "Start creating"), user() ? null : h("span", { class: "hint" }, " New accounts get 3 free credits.")),
    ),
    h("section", { class: "feed", "aria-labelledby": "feed-title" }, title, announce, feed),
  );
}
