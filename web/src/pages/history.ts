import { PAGE_SIZE, get, query, type Catalog, type Image, type Listing } from "../api";
import { h, status, uid } from "../dom";
import { likeButton, pagedGrid, requireSignIn, thumb } from "../components";
import { navigate } from "../router";
import { user } from "../session";

/** `/history` (and `/liked`): the profile, and the user's images with server-side filters. */
export async function historyPage(_: Record<string, string>, q: URLSearchParams): Promise<Node> {
  const gate = requireSignIn("see your images");
  if (gate) return gate;
  const me = user();
  const [catalog, tags] = await Promise.all([get<Catalog>("/models"), get<Listing<{ tag: string; count: number }>>("/tags")]);
  const filters = { model: q.get("model") ?? "", preset: q.get("preset") ?? "", tag: q.get("tag") ?? "", liked: q.get("liked") === "true" };

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
  const form = h(
    "form",
    { class: "filters row wrap", "aria-label": "Filter images" },
    select("model", "Model", catalog.tiers.map((t) => [t.id, t.name]), filters.model),
    select("preset", "Size", catalog.presets.map((p) => [p.id, p.name]), filters.preset),
    select("tag", "Tag", tags.items.map((t) => [t.tag, `${t.tag} (${t.count})`]), filters.tag),
    h("div", { class: "field check" }, h("input", { type: "checkbox", id: likedId, name: "liked", checked: filters.liked }), h("label", { for: likedId }, "Liked only")),
  );
  form.addEventListener("change", () => {
    const data = new FormData(form);
    const path = data.get("liked") && location.pathname === "/liked" ? "/liked" : "/history";
    navigate(
      path +
        query({
          model: String(data.get("model") ?? ""),
          preset: String(data.get("preset") ?? ""),
          tag: String(data.get("tag") ?? ""),
          liked: path === "/liked" ? null : data.get("liked") ? "true" : null,
        }),
      true,
    );
  });
  form.addEventListener("submit", (e) => e.preventDefault());

  const filtered = Boolean(filters.model || filters.preset || filters.tag || filters.liked);
  const grid = pagedGrid<Image>({
    label: filters.liked ? "Liked images" : "Your images",
    load: (cursor) => get<Listing<Image>>(`/images${query({ ...filters, liked: filters.liked ? "true" : null, cursor, limit: PAGE_SIZE })}`),
    item: (image) => thumb(image, `/history/${image.id}`, h("div", { class: "thumb-meta" }, h("p", { class: "thumb-prompt" }, image.prompt), likeButton(image))),
    empty: filtered
      ? ["No images match these filters. ", h("a", { href: "/history" }, "Show all")]
      : ["No images yet. ", h("a", { href: "/create" }, "Create your first"), "."],
  });

  return h(
    "div",
    { class: "history" },
    h(
      "section",
      { class: "profile panel" },
      h("h1", { tabindex: "-1" }, filters.liked ? "Liked images" : "Your images"),
      me ? h("p", { class: "hint" }, `${me.name ? `${me.name} · ` : ""}${me.email} · ${me.credits} credits · member since ${new Date(me.createdAt).toLocaleDateString()}`) : null,
      form,
    ),
    q.get("deleted") ? status("The image was deleted.", "success") : null,
    grid,
  );
}
