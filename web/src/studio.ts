// The studio's part of Create (DESIGN §10): a custom size with a live outline, background and
// format, and editing: sources from the gallery or from disk (file picker, drag and drop,
// paste), up to 16 as thumbnails, and a mask painted over the first one. Each part shows only
// when the chosen tier's catalogue entry offers it.

import { api, get, PAGE_SIZE, Problem, query, type Image, type Listing, type SourceRef, type Tier, type Upload } from "./api";
import { h, mount, spinner, status, uid } from "./dom";
import { explain } from "./errors";
import { MaskPainter } from "./mask";
import { customSizeProblems, outline } from "./pure/sizes";

const UPLOAD_TYPES = ["image/png", "image/jpeg", "image/webp"];
const UPLOAD_MAX = 20 * 1024 * 1024;
const MAX_SOURCES = 16;

interface Source {
  key: string;
  name: string;
  /** Shown in the list of sources. */
  url: string;
  /** The file the edit uses, shown under the mask: an image's original (as the provider made
   * it: the API compares the mask with its pixels), or the upload itself. */
  full: string;
  width: number;
  height: number;
  image?: string;
  file?: File;
  upload?: string;
}

export interface StudioPart {
  size: HTMLElement;
  look: HTMLElement;
  edit: HTMLElement;
  setTier(tier: Tier, preset: string): void;
  editing(): boolean;
  /** The request's studio fields (uploading what needs it), or null after saying what to fix. */
  fields(preset: string, say: (text: string) => void): Promise<Record<string, unknown> | null>;
  showErrors(problem: Problem): void;
}

/** Sends a file exactly as `POST /uploads` said: a form POST with its policy, or a signed PUT. */
export async function sendUpload(file: Blob): Promise<string> {
  const upload = await api<Upload>("POST", "/uploads", { contentType: file.type, size: file.size });
  let response: Response;
  try {
    if (upload.method === "POST") {
      const form = new FormData();
      for (const [k, v] of Object.entries(upload.fields ?? {})) form.append(k, v);
      form.append("file", file);
      response = await fetch(upload.url, { method: "POST", body: form });
    } else {
      response = await fetch(upload.url, { method: "PUT", headers: upload.headers ?? { "content-type": file.type }, body: file });
    }
  } catch {
    throw new Problem(0, "network", "The file could not be sent. Check your connection and try again.");
  }
  if (!response.ok) throw new Problem(response.status, "upload_invalid", `The storage refused the file (${response.status}).`);
  return upload.id;
}

function pixelSize(url: string): Promise<{ width: number; height: number }> {
  return new Promise((ok, fail) => {
    const img = new window.Image();
    img.onload = () => ok({ width: img.naturalWidth, height: img.naturalHeight });
    img.onerror = () => fail(new Error("not an image"));
    img.src = url;
  });
}

export function studio(opts: { remix: Image | null; onChange: () => void }): StudioPart {
  let tier: Tier | null = null;

  // ---- custom size ----
  const widthId = uid("width");
  const heightId = uid("height");
  const width = h("input", { id: widthId, name: "width", type: "number", inputmode: "numeric", step: 16, value: opts.remix?.preset === "custom" ? opts.remix.width : 1600, "aria-describedby": `${widthId}-err` });
  const height = h("input", { id: heightId, name: "height", type: "number", inputmode: "numeric", step: 16, value: opts.remix?.preset === "custom" ? opts.remix.height : 900, "aria-describedby": `${heightId}-err` });
  const widthErr = h("p", { id: `${widthId}-err`, class: "field-error" });
  const heightErr = h("p", { id: `${heightId}-err`, class: "field-error" });
  const aspect = h("span", { class: "shape" });
  const aspectText = h("span", { class: "hint", "data-testid": "custom-aspect" });
  const size = h("fieldset", { class: "custom-size", hidden: true },
    h("legend", null, "Custom size"),
    h("div", { class: "row wrap" },
      h("div", { class: "field" }, h("label", { for: widthId }, "Width (px)"), width, widthErr),
      h("div", { class: "field" }, h("label", { for: heightId }, "Height (px)"), height, heightErr),
      h("div", { class: "aspect-box", "aria-hidden": "true" }, aspect),
    ),
    aspectText);
  const paintSize = () => {
    const w = Number(width.value);
    const hh = Number(height.value);
    const box = outline(w, hh, 72);
    aspect.style.width = `${box.width}px`;
    aspect.style.height = `${box.height}px`;
    const limits = tier?.customSize;
    const problems = limits ? customSizeProblems(w, hh, limits) : [];
    const wMessage = problems.find((p) => p.field === "width")?.message ?? "";
    const hMessage = problems.find((p) => p.field === "height")?.message ?? "";
    // A ratio problem names both fields (as the API does) but is said once.
    widthErr.textContent = wMessage;
    heightErr.textContent = hMessage === wMessage ? "" : hMessage;
    width.toggleAttribute("aria-invalid", problems.some((p) => p.field === "width"));
    height.toggleAttribute("aria-invalid", problems.some((p) => p.field === "height"));
    aspectText.textContent = w > 0 && hh > 0 ? `${w}×${hh} px${limits ? `; each side ${limits.min}-${limits.max} px, at most ${limits.maxRatio}:1` : ""}.` : "";
  };
  width.addEventListener("input", paintSize);
  height.addEventListener("input", paintSize);

  // ---- background and format ----
  const bgId = uid("background");
  const fmtId = uid("format");
  const background = h("select", { id: bgId, name: "background" });
  const format = h("select", { id: fmtId, name: "format", "aria-describedby": `${fmtId}-err` });
  const formatErr = h("p", { id: `${fmtId}-err`, class: "field-error" });
  const look = h("div", { class: "row wrap fields", hidden: true },
    h("div", { class: "field" }, h("label", { for: bgId }, "Background"), background),
    h("div", { class: "field" }, h("label", { for: fmtId }, "Format"), format, formatErr));
  const NAMES: Record<string, string> = { auto: "Automatic", opaque: "Opaque", transparent: "Transparent", jpeg: "JPEG", webp: "WebP", png: "PNG" };
  const paintLook = () => {
    const transparent = background.value === "transparent";
    formatErr.textContent = transparent && format.value === "jpeg" ? "JPEG has no transparency: choose PNG or WebP." : "";
    format.toggleAttribute("aria-invalid", Boolean(formatErr.textContent));
  };
  background.addEventListener("change", () => {
    // A transparent background needs a format that keeps alpha: move off JPEG for the person.
    if (background.value === "transparent" && format.value === "jpeg") {
      const alpha = [...format.options].find((o) => o.value === "png" || o.value === "webp");
      if (alpha) format.value = alpha.value;
    }
    paintLook();
  });
  format.addEventListener("change", paintLook);

  // ---- editing ----
  const sources: Source[] = [];
  const sourceList = h("ol", { class: "sources", "aria-label": "Images to edit and references" });
  const sourceNote = h("div", { role: "status", class: "hint" });
  const fileInput = h("input", { type: "file", accept: UPLOAD_TYPES.join(","), multiple: true, class: "sr-only", id: uid("file"), tabindex: "-1", "aria-hidden": "true" });
  const fromDisk = h("button", { type: "button", class: "btn btn-small" }, "From your computer");
  fromDisk.addEventListener("click", () => fileInput.click());
  const fromGallery = h("button", { type: "button", class: "btn btn-small" }, "From your images");
  const drop = h("div", { class: "dropzone", "data-testid": "dropzone" }, "Drop images here, or paste one (Ctrl+V).");
  const maskBox = h("div", { class: "mask-box" });
  const painter = new MaskPainter();
  let maskUpload: { version: number; id: string } | null = null;
  const edit = h(
    "details",
    { class: "edit-part", hidden: true, open: Boolean(opts.remix?.edited) },
    h("summary", null, "Edit an image, or add references"),
    h("p", { class: "hint" }, "The first image is the one edited; a mask painted on it marks where to change. The others guide the result. PNG, JPEG or WebP, up to 20 MB and 4096 px a side."),
    h("div", { class: "row wrap" }, fromGallery, fromDisk, fileInput),
    drop,
    sourceNote,
    sourceList,
    maskBox,
  );

  const maxSources = () => Math.min(tier?.edits?.maxSources ?? MAX_SOURCES, MAX_SOURCES);
  const paintSources = () => {
    mount(
      sourceList,
      sources.map((s, i) =>
        h("li", { class: "source", "data-testid": "source" },
          h("img", { src: s.url, alt: i === 0 ? `Image to edit: ${s.name}` : `Reference ${i}: ${s.name}`, width: 96, height: Math.round((96 * s.height) / Math.max(1, s.width)) }),
          h("span", { class: "hint" }, i === 0 ? "Edited" : `Reference ${i}`),
          h("button", { type: "button", class: "btn btn-small", "aria-label": `Remove ${s.name}`, onclick: () => removeSource(s.key) }, "Remove")),
      ),
    );
    const first = sources[0];
    if (first && tier?.edits?.mask) {
      painter.show(first.full, first.width, first.height, first.key);
      mount(maskBox, painter.el);
    } else {
      painter.reset();
      mount(maskBox);
    }
    fromGallery.disabled = fromDisk.disabled = sources.length >= maxSources();
    opts.onChange();
  };
  const removeSource = (key: string) => {
    const at = sources.findIndex((s) => s.key === key);
    if (at < 0) return;
    const [gone] = sources.splice(at, 1);
    if (gone?.file) URL.revokeObjectURL(gone.url);
    paintSources();
    sourceNote.textContent = `Removed ${gone?.name ?? "the image"}.`;
    (sourceList.querySelector<HTMLElement>("button") ?? fromDisk).focus();
  };
  const addFiles = async (files: Iterable<File>) => {
    for (const file of files) {
      if (sources.length >= maxSources()) {
        sourceNote.textContent = `At most ${maxSources()} images.`;
        break;
      }
      if (!UPLOAD_TYPES.includes(file.type)) {
        sourceNote.textContent = `${file.name || "That file"} is not a PNG, JPEG or WebP image.`;
        continue;
      }
      if (file.size > UPLOAD_MAX) {
        sourceNote.textContent = `${file.name || "That file"} is over 20 MB.`;
        continue;
      }
      const url = URL.createObjectURL(file);
      try {
        const px = await pixelSize(url);
        sources.push({ key: uid("src"), name: file.name || "pasted image", url, full: url, ...px, file });
        sourceNote.textContent = `Added ${file.name || "the pasted image"} (${px.width}×${px.height}).`;
      } catch {
        URL.revokeObjectURL(url);
        sourceNote.textContent = `${file.name || "That file"} could not be read as an image.`;
      }
    }
    paintSources();
  };
  const addImage = async (image: Image) => {
    if (sources.length >= maxSources() || sources.some((s) => s.image === image.id)) return;
    // An edit starts from the image's original, whose pixels (not the sized image's) a mask
    // must have; an <img> reads them without CORS.
    const full = image.urls.original ?? image.urls.image;
    const px = await pixelSize(full).catch(() => ({ width: image.width, height: image.height }));
    if (sources.length >= maxSources() || sources.some((s) => s.image === image.id)) return;
    sources.push({ key: uid("src"), name: image.prompt, url: image.urls.thumbnail, full, ...px, image: image.id });
    sourceNote.textContent = `Added “${image.prompt}”.`;
    paintSources();
  };
  fileInput.addEventListener("change", () => {
    void addFiles(fileInput.files ?? []);
    fileInput.value = "";
  });
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    void addFiles(e.dataTransfer?.files ?? []);
  });
  // Paste anywhere on Create, unless into a text field (that is text).
  const onPaste = (e: ClipboardEvent) => {
    if (!edit.isConnected) {
      document.removeEventListener("paste", onPaste);
      return;
    }
    if (edit.hidden) return;
    const files = [...(e.clipboardData?.files ?? [])].filter((f) => f.type.startsWith("image/"));
    if (files.length === 0) return;
    e.preventDefault();
    edit.open = true;
    void addFiles(files);
  };
  document.addEventListener("paste", onPaste);
  fromGallery.addEventListener("click", () => pickFromGallery(addImage, fromGallery));
  if (opts.remix?.edited) void addImage(opts.remix);

  return {
    size,
    look,
    edit,
    setTier(next, preset) {
      tier = next;
      size.hidden = preset !== "custom" || !next.customSize;
      if (!size.hidden) {
        for (const input of [width, height]) {
          input.min = String(next.customSize?.min ?? 256);
          input.max = String(next.customSize?.max ?? 3840);
        }
        paintSize();
      }
      const fill = (select: HTMLSelectElement, values: string[] | undefined, want: string | undefined) => {
        const keep = select.value || want || values?.[0] || "";
        mount(select, (values ?? []).map((v) => h("option", { value: v, selected: v === keep }, NAMES[v] ?? v)));
      };
      fill(background, next.backgrounds, opts.remix?.background);
      fill(format, next.formats, opts.remix?.format);
      look.hidden = !(next.backgrounds?.length || next.formats?.length);
      paintLook();
      edit.hidden = !next.edits;
      if (sources.length > maxSources()) sources.splice(maxSources());
      paintSources();
    },
    editing: () => !edit.hidden && sources.length > 0,
    async fields(preset, say) {
      const out: Record<string, unknown> = {};
      if (preset === "custom" && tier?.customSize) {
        const w = Number(width.value);
        const hh = Number(height.value);
        const problems = customSizeProblems(w, hh, tier.customSize);
        if (problems.length) {
          paintSize();
          (problems[0]?.field === "height" ? height : width).focus();
          return null;
        }
        out.width = w;
        out.height = hh;
      }
      if (!look.hidden) {
        if (formatErr.textContent) {
          format.focus();
          return null;
        }
        // Only what differs from the defaults (DESIGN §10: `auto`, `jpeg`) is sent.
        if (tier?.backgrounds?.length && background.value && background.value !== "auto") out.background = background.value;
        if (tier?.formats?.length && format.value && format.value !== "jpeg") out.format = format.value;
      }
      if (!edit.hidden && sources.length) {
        const refs: SourceRef[] = [];
        for (const s of sources) {
          if (s.image) refs.push({ image: s.image });
          else if (s.file) {
            if (!s.upload) {
              say(`Sending ${s.name}…`);
              s.upload = await sendUpload(s.file);
            }
            refs.push({ upload: s.upload });
          }
        }
        out.sources = refs;
        if (painter.painted()) {
          // The same strokes are the same upload: a retry then sends the same request (and
          // Idempotency-Key), so it is never charged twice.
          if (!maskUpload || maskUpload.version !== painter.version) {
            say("Sending the mask…");
            const version = painter.version;
            maskUpload = { version, id: await sendUpload(await painter.toBlob()) };
          }
          out.mask = { upload: maskUpload.id };
        }
      }
      return out;
    },
    showErrors(problem) {
      for (const e of problem.errors) {
        if (e.field === "width") widthErr.textContent = e.message;
        if (e.field === "height") heightErr.textContent = e.message;
        if (e.field === "format" || e.field === "background") formatErr.textContent = e.message;
        if (e.field.startsWith("sources") || e.field === "mask") sourceNote.textContent = e.message;
      }
    },
  };
}

/** A dialog listing the person's images; choosing one adds it as a source. */
function pickFromGallery(choose: (image: Image) => Promise<void>, opener: HTMLElement): void {
  const list = h("ul", { class: "grid picker", "aria-label": "Your images" });
  const state = h("div", null, spinner("Loading…"));
  const close = h("button", { type: "button", class: "btn", onclick: () => dialog.close() }, "Done");
  const dialog = h("dialog", { class: "picker-dialog", "aria-labelledby": "picker-title" },
    h("div", { class: "row lightbox-bar" }, h("h2", { id: "picker-title" }, "Choose from your images"), close),
    state, list);
  let cursor: string | null = null;
  const more = h("button", { type: "button", class: "btn", hidden: true }, "Load more");
  const load = async () => {
    mount(state, spinner("Loading…"));
    try {
      const page = await get<Listing<Image>>(`/images${query({ cursor, limit: PAGE_SIZE })}`);
      for (const image of page.items) {
        const pick = h("button", { type: "button", class: "pick", "aria-label": `Use “${image.prompt}”` },
          h("img", { src: image.urls.thumbnail, alt: "", width: 192, height: Math.round((192 * image.height) / image.width) }));
        pick.addEventListener("click", () => {
          pick.setAttribute("aria-pressed", "true");
          void choose(image);
        });
        list.append(h("li", null, pick));
      }
      cursor = page.nextCursor;
      more.hidden = cursor === null;
      mount(state, list.children.length ? null : h("p", { class: "empty" }, "No images yet: add one from your computer instead."));
    } catch (e) {
      mount(state, status(explain(e), "error"));
    }
  };
  more.addEventListener("click", () => void load());
  dialog.append(h("div", { class: "center" }, more));
  dialog.addEventListener("close", () => {
    dialog.remove();
    opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  void load();
}
