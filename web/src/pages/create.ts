import { api, get, Problem, ratio, type Catalog, type Image, type Job, type Tier } from "../api";
import { h, mount, status, uid } from "../dom";
import { requireSignIn } from "../components";
import { explain } from "../errors";
import { jobsPanel } from "../jobs";
import { outline } from "../pure/sizes";
import { splitTags, tagsProblem } from "../pure/tags";
import { setCredits, subscribe, user } from "../session";
import { Submission } from "../submission";
import { studio } from "../studio";

/** What was typed, kept for the tab's life: a reload or a session that ended mid-task loses nothing. */
const DRAFT = "artforge.create.draft";

/** The preset's outline at its ratio (CSSOM, not a style attribute: the CSP has no inline styles). */
export function shape(width: number, height: number): HTMLElement {
  const el = h("span", { class: "shape" });
  el.style.width = `${width}px`;
  el.style.height = `${height}px`;
  return el;
}

/** The image a "Remix" link names: own (with every setting) or public. */
async function remixSource(id: string): Promise<Image | null> {
  try {
    return await get<Image>(`/images/${encodeURIComponent(id)}`);
  } catch {
    return get<Image>(`/public/images/${encodeURIComponent(id)}`).catch(() => null);
  }
}

export async function createPage(_: Record<string, string>, q: URLSearchParams): Promise<Node> {
  const gate = requireSignIn("create images");
  if (gate) return gate;
  const remixId = q.get("remix");
  const [catalog, remix] = await Promise.all([get<Catalog>("/models"), remixId ? remixSource(remixId) : Promise.resolve(null)]);
  const firstTier = (catalog.tiers.find((t) => t.id === remix?.model) ?? catalog.tiers[0]) as Tier;
  let tier: Tier = firstTier;
  let draft: { prompt?: string; tags?: string } = {};
  try {
    draft = JSON.parse(sessionStorage.getItem(DRAFT) ?? "{}") as typeof draft;
  } catch {
    draft = {};
  }

  const promptId = uid("prompt");
  const prompt = h("textarea", { id: promptId, name: "prompt", rows: 3, maxlength: 1000, required: true, "aria-describedby": `${promptId}-err` }, remix?.prompt ?? q.get("prompt") ?? draft.prompt ?? "");
  const promptErr = h("p", { id: `${promptId}-err`, class: "field-error" });

  const tierFieldset = h(
    "fieldset",
    { class: "choices" },
    h("legend", null, "Model"),
    catalog.tiers.map((t) =>
      h(
        "label",
        { class: "choice" },
        h("input", { type: "radio", name: "model", value: t.id, checked: t.id === firstTier.id }),
        h("span", { class: "choice-body" }, h("strong", null, t.name), h("span", { class: "hint" }, `${t.description} Up to ${t.maxImages} image${t.maxImages > 1 ? "s" : ""}; ${t.qualities.map((x) => `${x.name.toLowerCase()} ${x.credits} credit${x.credits > 1 ? "s" : ""}`).join(", ")} per image.`)),
      ),
    ),
  );

  const styleId = uid("style");
  const style = h("select", { id: styleId, name: "style" });
  const qualityBox = h("fieldset", { class: "choices inline" }, h("legend", null, "Quality"));
  const countId = uid("count");
  const count = h("select", { id: countId, name: "count" });

  const wantPreset = remix?.preset ?? q.get("preset");
  const customCard = h("label", { class: "preset-card", hidden: true },
    h("input", { type: "radio", name: "preset", value: "custom", checked: wantPreset === "custom" }),
    h("span", { class: "preset-shape", "aria-hidden": "true" }, shape(40, 40)),
    h("span", { class: "preset-text" }, h("strong", null, "Custom"), h("span", null, "Your own pixels"), h("span", { class: "hint" }, "Width and height")));
  const presetFieldset = h(
    "fieldset",
    { class: "presets" },
    h("legend", null, "Size"),
    h(
      "div",
      { class: "preset-grid" },
      catalog.presets.map((p, i) => {
        const r = ratio(p.width, p.height);
        const box = outline(p.width, p.height, 44);
        return h(
          "label",
          { class: "preset-card" },
          h("input", { type: "radio", name: "preset", value: p.id, checked: wantPreset && catalog.presets.some((x) => x.id === wantPreset) ? wantPreset === p.id : i === 0 }),
          h("span", { class: "preset-shape", "aria-hidden": "true" }, shape(box.width, box.height)),
          h("span", { class: "preset-text" }, h("strong", null, p.name), h("span", null, `${r} · ${p.width}×${p.height}`), h("span", { class: "hint" }, p.platforms.join(", "))),
        );
      }),
      customCard,
    ),
  );

  // The studio part may change the price while it is built (a remix of an edit adds its source):
  // the price is painted once the form exists, and on every change after that.
  let built = false;
  const studioPart = studio({ remix, onChange: () => built && paintPrice() });

  const tagsId = uid("tags");
  const tags = h("input", { id: tagsId, name: "tags", type: "text", placeholder: "sea, dawn", autocomplete: "off", value: draft.tags ?? "", "aria-describedby": `${tagsId}-hint ${tagsId}-err` });
  const tagsErr = h("p", { id: `${tagsId}-err`, class: "field-error" });
  const price = h("div", { class: "price", role: "status", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-large" }, "Create");
  const formError = h("div", { class: "form-error" });
  const jobs = jobsPanel();

  const form = h(
    "form",
    { class: "create-form panel", novalidate: true, "aria-label": "New images" },
    remix ? h("p", { class: "notice", "data-testid": "remix-note" }, "Remixing ", h("a", { href: `/i/${remix.id}` }, `“${remix.prompt}”`), ": change anything, the new images keep the link to it.") : null,
    h("div", { class: "field" }, h("label", { for: promptId }, "Prompt"), prompt, promptErr),
    tierFieldset,
    h("div", { class: "row wrap fields" }, h("div", { class: "field" }, h("label", { for: styleId }, "Style"), style), h("div", { class: "field" }, h("label", { for: countId }, "Images"), count)),
    qualityBox,
    presetFieldset,
    studioPart.size,
    studioPart.look,
    studioPart.edit,
    h("div", { class: "field" }, h("label", { for: tagsId }, "Tags"), tags, h("p", { id: `${tagsId}-hint`, class: "hint" }, "Optional: words to find the images by later, separated by commas or spaces."), tagsErr),
    price,
    formError,
    submit,
  );

  const saveDraft = () => sessionStorage.setItem(DRAFT, JSON.stringify({ prompt: prompt.value, tags: tags.value }));
  prompt.addEventListener("input", saveDraft);
  tags.addEventListener("input", saveDraft);

  const selectedPreset = () => form.querySelector<HTMLInputElement>("input[name=preset]:checked")?.value ?? catalog.presets[0]?.id ?? "";
  const selectedQuality = () => form.querySelector<HTMLInputElement>("input[name=quality]:checked")?.value ?? tier.qualities[0]?.id ?? "";
  function paintPrice(): void {
    const editing = studioPart.editing();
    const plain = tier.qualities.find((x) => x.id === selectedQuality())?.credits ?? 0;
    const edit = tier.edits?.credits;
    const per = editing && edit !== undefined ? (typeof edit === "number" ? edit : (edit[selectedQuality()] ?? plain)) : plain;
    const n = Number(count.value) || 1;
    const cost = per * n;
    const balance = user()?.credits ?? 0;
    submit.textContent = `${editing ? "Edit" : "Create"} ${n} image${n > 1 ? "s" : ""} · ${cost} credit${cost === 1 ? "" : "s"}`;
    mount(
      price,
      h("span", null, "Price: ", h("strong", { "data-testid": "price" }, `${cost} credit${cost === 1 ? "" : "s"}`), ` (${per} per image${editing ? ", an edit" : ""}). You have ${balance}.`),
      cost > balance ? h("span", { class: "warn" }, " Not enough credits: ", h("a", { href: "/credits" }, "buy credits"), ".") : null,
    );
  }
  function paintTier(): void {
    const keepStyle = style.value || remix?.style || "";
    mount(style, tier.styles.map((s) => h("option", { value: s.id, selected: s.id === keepStyle }, s.name)));
    const keepQuality = selectedQuality() || remix?.quality || "";
    mount(
      qualityBox,
      h("legend", null, "Quality"),
      tier.qualities.map((x, i) =>
        h("label", { class: "choice small" }, h("input", { type: "radio", name: "quality", value: x.id, checked: tier.qualities.some((y) => y.id === keepQuality) ? x.id === keepQuality : i === 0 }), h("span", null, `${x.name} · ${x.credits} credit${x.credits > 1 ? "s" : ""}/image`)),
      ),
    );
    const keepCount = Math.min(Number(count.value) || 1, tier.maxImages);
    mount(count, Array.from({ length: tier.maxImages }, (_, i) => h("option", { value: i + 1, selected: i + 1 === keepCount }, String(i + 1))));
    count.disabled = tier.maxImages === 1;
    customCard.hidden = !tier.customSize;
    if (customCard.hidden && selectedPreset() === "custom") form.querySelector<HTMLInputElement>("input[name=preset]")?.click();
    studioPart.setTier(tier, selectedPreset());
    paintPrice();
  }
  tierFieldset.addEventListener("change", () => {
    const id = form.querySelector<HTMLInputElement>("input[name=model]:checked")?.value;
    tier = catalog.tiers.find((t) => t.id === id) ?? firstTier;
    paintTier();
  });
  presetFieldset.addEventListener("change", () => studioPart.setTier(tier, selectedPreset()));
  qualityBox.addEventListener("change", paintPrice);
  count.addEventListener("change", paintPrice);
  built = true;
  paintTier();
  // The balance changes under the form (a refund, a purchase in another tab): the price says so.
  let shown = false;
  const unsubscribe = subscribe(() => {
    if (form.isConnected) {
      shown = true;
      paintPrice();
    } else if (shown) unsubscribe(); // the page was left
  });

  // One key for every retry of one request, so a retry after a lost answer is never charged twice.
  const submission = new Submission();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    mount(promptErr);
    mount(tagsErr);
    mount(formError);
    prompt.removeAttribute("aria-invalid");
    tags.removeAttribute("aria-invalid");
    if (!prompt.value.trim()) {
      promptErr.textContent = "Describe the image you want.";
      prompt.setAttribute("aria-invalid", "true");
      prompt.focus();
      return;
    }
    const tagList = splitTags(tags.value);
    const tagError = tagsProblem(tagList);
    if (tagError) {
      tagsErr.textContent = tagError;
      tags.setAttribute("aria-invalid", "true");
      tags.focus();
      return;
    }
    const preset = selectedPreset();
    submit.disabled = true;
    try {
      const extra = await studioPart.fields(preset, (text) => mount(formError, status(text, "info")));
      if (extra === null) return; // the studio part said what to fix, and focused it
      const body = {
        prompt: prompt.value.trim(),
        model: tier.id,
        style: style.value,
        preset,
        quality: selectedQuality(),
        count: Number(count.value) || 1,
        tags: tagList,
        ...(remix ? { remixOf: remix.id } : {}),
        ...extra,
      };
      mount(formError);
      const answer = await api<{ job: Job; credits: number }>("POST", "/generations", body, { "idempotency-key": submission.keyFor(body) });
      submission.accepted();
      sessionStorage.removeItem(DRAFT);
      setCredits(answer.credits);
      paintPrice();
      jobs.add(answer.job);
      jobs.el.querySelector<HTMLElement>(".job")?.scrollIntoView({ block: "nearest" });
    } catch (e) {
      if (e instanceof Problem && e.errors.length) {
        const p = e.field("prompt");
        const t = e.errors.find((x) => x.field.startsWith("tags"))?.message;
        if (p) promptErr.textContent = p;
        if (t) tagsErr.textContent = t;
        studioPart.showErrors(e);
      }
      mount(formError, status(explain(e), "error"));
    } finally {
      submit.disabled = false;
    }
  });

  return h("div", { class: "create" }, h("h1", { tabindex: "-1" }, "Create"), h("div", { class: "create-layout" }, form, jobs.el));
}
