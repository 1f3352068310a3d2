import { PAGE_SIZE, get, query, type Image, type Listing } from "../api";
import { h, uid } from "../dom";
import { likeButton, pagedGrid, thumb } from "../components";
import { navigate } from "../router";
import { user } from "../session";

export function homePage(): Node {
  const promptId = uid("prompt");
  const input = h("input", { id: promptId, name: "prompt", type: "text", placeholder: "A lighthouse at dawn, in watercolour", maxlength: 1000, autocomplete: "off", required: true });
  const form = h(
    "form",
    { class: "promptbar", role: "search", "aria-label": "Start an image" },
    h("label", { for: promptId, class: "sr-only" }, "Describe the image"),
    input,
    h("button", { type: "submit", class: "btn btn-primary" }, "Create"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate(`/create${query({ prompt: input.value.trim() })}`);
  });
  const feed = pagedGrid<Image>({
    label: "Public images",
    load: (cursor) => get<Listing<Image>>(`/feed${query({ cursor, limit: PAGE_SIZE })}`),
    item: (image) => thumb(image, `/i/${image.id}`, h("div", { class: "thumb-meta" }, h("p", { class: "thumb-prompt" }, image.prompt), user() ? likeButton(image) : h("span", { class: "hint" }, `♥ ${image.likes}`))),
    empty: ["Nothing public yet. ", h("a", { href: "/create" }, "Make the first image"), " and share it."],
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
      user() ? null : h("p", { class: "hint" }, "New accounts get 3 free credits."),
    ),
    h("section", { class: "feed", "aria-labelledby": "feed-title" }, h("h2", { id: "feed-title" }, "From the community"), feed),
  );
}
