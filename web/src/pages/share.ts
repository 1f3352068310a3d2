import { get, type Image } from "../api";
import { h } from "../dom";
import { badge, likeButton, shareBox } from "../components";
import { user } from "../session";

/** `/i/:id`: the page share links point at; public images only, no session needed. */
export async function sharePage(params: Record<string, string>): Promise<Node> {
  const image = await get<Image>(`/public/images/${encodeURIComponent(params.id ?? "")}`);
  return h(
    "article",
    { class: "detail" },
    h("div", { class: "detail-media" }, h("img", { src: image.urls.image, alt: image.prompt, width: image.width, height: image.height })),
    h(
      "div",
      { class: "detail-side panel" },
      h("h1", { tabindex: "-1", class: "prompt-title" }, image.prompt),
      h("div", { class: "row wrap" }, badge(image.model.toUpperCase()), badge(image.preset), badge(`${image.width}×${image.height}`)),
      user() ? likeButton(image) : h("p", null, `♥ ${image.likes} · `, h("a", { href: "/register" }, "Sign up"), " to like and make your own."),
      h("h2", null, "Share"),
      shareBox(image),
      h("p", null, h("a", { class: "btn btn-primary", href: "/create" }, "Make your own")),
    ),
  );
}
