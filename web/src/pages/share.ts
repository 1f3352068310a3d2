import { get, type Image } from "../api";
import { h } from "../dom";
import { badge, likeButton, lineage, responsiveImage, shareBox } from "../components";
import { user } from "../session";

/** `/i/:id`: the page share links point at; public images only, no session needed. */
export async function sharePage(params: Record<string, string>): Promise<Node> {
  const image = await get<Image>(`/public/images/${encodeURIComponent(params.id ?? "")}`);
  return h(
    "article",
    { class: "detail" },
    h("div", { class: "detail-media" }, responsiveImage(image, "(min-width: 900px) 60vw, 100vw", "eager")),
    h(
      "div",
      { class: "detail-side panel" },
      h("h1", { tabindex: "-1", class: "prompt-title" }, image.prompt),
      h("div", { class: "row wrap" }, badge(image.model.toUpperCase()), badge(image.preset), badge(`${image.width}×${image.height}`)),
      lineage(image),
      user() ? likeButton(image) : h("p", null, `♥ ${image.likes} · `, h("a", { href: "/register" }, "Sign up"), " to like and make your own."),
      h("h2", null, "Share"),
      shareBox(image),
      h("p", { class: "row wrap" }, h("a", { class: "btn btn-primary", href: `/create?remix=${encodeURIComponent(image.id)}` }, "Remix"), h("a", { class: "btn", href: "/create" }, "Make your own")),
    ),
  );
}
