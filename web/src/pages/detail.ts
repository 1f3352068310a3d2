import { api, downloadUrl, get, Problem, type Image } from "../api";
import { h, mount, status, uid } from "../dom";
import { badge, likeButton, lineage, requireSignIn, responsiveImage, shareBox, visibilityButton } from "../components";
import { explain } from "../errors";
import { openLightbox } from "../lightbox";
import { splitTags, tagsProblem } from "../pure/tags";
import { navigate } from "../router";

/** `/history/:id`: one image: the preset-sized image, the original, tags, sharing, delete. */
export async function detailPage(params: Record<string, string>): Promise<Node> {
  const gate = requireSignIn("see this image");
  if (gate) return gate;
  const image = await get<Image>(`/images/${encodeURIComponent(params.id ?? "")}`);
  const own = image.jobId !== null;

  const tagsId = uid("tags");
  const tagsInput = h("input", { id: tagsId, name: "tags", type: "text", value: image.tags.join(", "), autocomplete: "off", "aria-describedby": `${tagsId}-hint ${tagsId}-err` });
  const tagsErr = h("p", { id: `${tagsId}-err`, class: "field-error", role: "alert" });
  const tagsNote = h("span", { role: "status", class: "hint" });
  const tagList = h("div", { class: "row wrap tags" });
  const paintTags = () => mount(tagList, image.tags.length ? image.tags.map((t) => h("a", { class: "badge tag", href: `/history?tag=${encodeURIComponent(t)}` }, `#${t}`)) : h("span", { class: "hint" }, "No tags yet."));
  paintTags();
  const tagsForm = h(
    "form",
    { class: "field", "aria-label": "Edit tags" },
    h("label", { for: tagsId }, "Tags"),
    h("div", { class: "row" }, tagsInput, h("button", { type: "submit", class: "btn" }, "Save tags")),
    h("p", { id: `${tagsId}-hint`, class: "hint" }, "Up to 10, separated by commas or spaces: letters, digits, - and _."),
    tagsErr,
    tagsNote,
  );
  tagsForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    tagsErr.textContent = "";
    tagsNote.textContent = "";
    tagsInput.removeAttribute("aria-invalid");
    const tags = splitTags(tagsInput.value);
    const problem = tagsProblem(tags);
    if (problem) {
      tagsErr.textContent = problem;
      tagsInput.setAttribute("aria-invalid", "true");
      tagsInput.focus();
      return;
    }
    try {
      Object.assign(image, await api<Image>("PATCH", `/images/${image.id}`, { tags }));
      tagsInput.value = image.tags.join(", ");
      paintTags();
      tagsNote.textContent = "Tags saved.";
    } catch (e) {
      mount(tagsErr, e instanceof Problem && e.errors.length ? `Tags ${e.errors.map((x) => x.message).join("; ")}.` : explain(e));
      tagsInput.setAttribute("aria-invalid", "true");
    }
  });

  const share = shareBox(image) as HTMLElement & { repaint?: () => void };
  const vis = badge(image.visibility);
  const deleteArea = h("div", { class: "danger" });
  const askDelete = () =>
    mount(
      deleteArea,
      h("button", {
        type: "button",
        class: "btn btn-danger",
        onclick: () =>
          mount(
            deleteArea,
            h("p", { role: "alert" }, "Delete this image and its files for good?"),
            h("div", { class: "row" },
              h("button", {
                type: "button",
                class: "btn btn-danger",
                onclick: async (event: Event) => {
                  (event.currentTarget as HTMLButtonElement).disabled = true;
                  try {
                    await api("DELETE", `/images/${image.id}`);
                    navigate("/history?deleted=1", true);
                  } catch (e) {
                    deleteArea.append(status(explain(e), "error"));
                  }
                },
              }, "Yes, delete"),
              h("button", { type: "button", class: "btn", onclick: askDelete }, "Cancel"),
            ),
          ),
      }, "Delete image"),
    );
  askDelete();

  const picture = responsiveImage(image, "(min-width: 900px) 60vw, 100vw", "eager");
  const enlarge = h("button", { type: "button", class: "enlarge-large", "aria-label": `Enlarge: ${image.prompt}` }, picture);
  enlarge.addEventListener("click", () => openLightbox([image], 0, () => enlarge.focus()));

  return h(
    "article",
    { class: "detail" },
    h(
      "div",
      { class: "detail-media" },
      enlarge,
      image.urls.original ? h("p", null, h("a", { href: image.urls.original, target: "_blank", rel: "noopener", "data-external": "" }, "Open the original (as the model made it)")) : null,
    ),
    h(
      "div",
      { class: "detail-side panel" },
      h("p", null, h("a", { href: "/history" }, "← Your images")),
      h("h1", { tabindex: "-1", class: "prompt-title" }, image.prompt),
      h("div", { class: "row wrap" }, badge(image.model.toUpperCase()), badge(image.preset), badge(`${image.width}×${image.height}`), badge(image.quality), vis),
      h("p", { class: "hint" }, `Made ${new Date(image.createdAt).toLocaleString()}`),
      lineage(image),
      h("div", { class: "row wrap actions" },
        h("a", { class: "btn", href: downloadUrl(image.id, "preset"), download: "", "data-testid": "download" }, "Download"),
        h("a", { class: "btn", href: downloadUrl(image.id, "original"), download: "" }, "Download original"),
        likeButton(image),
        h("a", { class: "btn", href: `/create?remix=${encodeURIComponent(image.id)}` }, "Remix"),
        own ? visibilityButton(image, () => { vis.textContent = image.visibility; share.repaint?.(); }) : null,
      ),
      tagList,
      own ? tagsForm : null,
      h("h2", null, "Share"),
      share,
      own ? deleteArea : null,
    ),
  );
}
