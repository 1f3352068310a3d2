import { api, get, Problem, ratio, type Catalog, type Job, type Tier } from "../api";
import { h, mount, status, uid } from "../dom";
import { imageCard, requireSignIn } from "../components";
import { explain } from "../errors";
import { setCredits, user } from "../session";
import { Submission } from "../submission";

const POLL_MS = 1000;
const POLL_LIMIT_MS = 5 * 60 * 1000;


/** The preset's outline at its ratio (CSSOM, not a style attribute: the CSP has no inline styles). */
function shape(width: number, height: number): HTMLElement {
  const el = h("span", { class: "shape" });
  el.style.width = `${width}px`;
  el.style.height = `${height}px`;
  return el;
}

function parseTags(text: string): string[] {
  return text
    .split(/[,\s]+/)
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);
}

export async function createPage(_: Record<string, string>, q: URLSearchParams): Promise<Node> {
  const gate = requireSignIn("create images");
  if (gate) return gate;
  const catalog = await get<Catalog>("/models");
  const firstTier = catalog.tiers[0] as Tier;
  let tier: Tier = firstTier;

  const promptId = uid("prompt");
  const prompt = h("textarea", { id: promptId, name: "prompt", rows: 3, maxlength: 1000, required: true, "aria-describedby": `${promptId}-err` }, q.get("prompt") ?? "");
  const promptErr = h("p", { id: `${promptId}-err`, class: "field-error" });

  const tierFieldset = h(
    "fieldset",
    { class: "choices" },
    h("legend", null, "Model"),
    catalog.tiers.map((t, i) =>
      h(
        "label",
        { class: "choice" },
        h("input", { type: "radio", name: "model", value: t.id, checked: i === 0 }),
        h("span", { class: "choice-body" }, h("strong", null, t.name), h("span", { class: "hint" }, `${t.description} Up to ${t.maxImages} image${t.maxImages > 1 ? "s" : ""}; ${t.qualities.map((x) => `${x.name.toLowerCase()} ${x.credits} credit${x.credits > 1 ? "s" : ""}`).join(", ")} per image.`)),
      ),
    ),
  );

  const styleId = uid("style");
  const style = h("select", { id: styleId, name: "style" });
  const qualityBox = h("fieldset", { class: "choices inline" }, h("legend", null, "Quality"));
  const countId = uid("count");
  const count = h("select", { id: countId, name: "count" });

  const presetFieldset = h(
    "fieldset",
    { class: "presets" },
    h("legend", null, "Size"),
    h(
      "div",
      { class: "preset-grid" },
      catalog.presets.map((p, i) => {
        const r = ratio(p.width, p.height);
        const [rw, rh] = r.split(":").map(Number) as [number, number];
        const scale = 44 / Math.max(rw, rh);
        return h(
          "label",
          { class: "preset-card" },
          h("input", { type: "radio", name: "preset", value: p.id, checked: q.get("preset") ? q.get("preset") === p.id : i === 0 }),
          h("span", { class: "preset-shape", "aria-hidden": "true" }, shape(Math.round(rw * scale), Math.round(rh * scale))),
          h("span", { class: "preset-text" }, h("strong", null, p.name), h("span", null, `${r} · ${p.width}×${p.height}`), h("span", { class: "hint" }, p.platforms.join(", "))),
        );
      }),
    ),
  );

  const tagsId = uid("tags");
  const tags = h("input", { id: tagsId, name: "tags", type: "text", placeholder: "sea, dawn", autocomplete: "off", "aria-describedby": `${tagsId}-hint ${tagsId}-err` });
  const tagsErr = h("p", { id: `${tagsId}-err`, class: "field-error" });
  const price = h("div", { class: "price", role: "status", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-large" }, "Create");
  const formError = h("div", { class: "form-error" });
  const result = h("section", { class: "result", "aria-label": "Result", "aria-live": "polite" });

  const form = h(
    "form",
    { class: "create-form panel", novalidate: true },
    h("div", { class: "field" }, h("label", { for: promptId }, "Prompt"), prompt, promptErr),
    tierFieldset,
    h("div", { class: "row wrap fields" }, h("div", { class: "field" }, h("label", { for: styleId }, "Style"), style), h("div", { class: "field" }, h("label", { for: countId }, "Images"), count)),
    qualityBox,
    presetFieldset,
    h("div", { class: "field" }, h("label", { for: tagsId }, "Tags"), tags, h("p", { id: `${tagsId}-hint`, class: "hint" }, "Optional: words to find the images by later, separated by commas."), tagsErr),
    price,
    formError,
    submit,
  );

  const selectedQuality = () => form.querySelector<HTMLInputElement>("input[name=quality]:checked")?.value ?? tier.qualities[0]?.id ?? "";
  function paintPrice(): void {
    const per = tier.qualities.find((x) => x.id === selectedQuality())?.credits ?? 0;
    const n = Number(count.value) || 1;
    const cost = per * n;
    const balance = user()?.credits ?? 0;
    submit.textContent = `Create ${n} image${n > 1 ? "s" : ""} · ${cost} credit${cost === 1 ? "" : "s"}`;
    mount(
      price,
      h("span", null, "Price: ", h("strong", { "data-testid": "price" }, `${cost} credit${cost === 1 ? "" : "s"}`), ` (${per} per image). You have ${balance}.`),
      cost > balance ? h("span", { class: "warn" }, " Not enough credits: ", h("a", { href: "/credits" }, "buy credits"), ".") : null,
    );
  }
  function paintTier(): void {
    const keepStyle = style.value;
    mount(style, tier.styles.map((s) => h("option", { value: s.id, selected: s.id === keepStyle }, s.name)));
    const keepQuality = selectedQuality();
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
    paintPrice();
  }
  tierFieldset.addEventListener("change", () => {
    const id = form.querySelector<HTMLInputElement>("input[name=model]:checked")?.value;
    tier = catalog.tiers.find((t) => t.id === id) ?? firstTier;
    paintTier();
  });
  qualityBox.addEventListener("change", paintPrice);
  count.addEventListener("change", paintPrice);
  paintTier();

  // One key for every retry of one request, so a retry after a lost answer is never charged twice.
  const submission = new Submission();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    mount(promptErr);
    mount(tagsErr);
    mount(formError);
    if (!prompt.value.trim()) {
      promptErr.textContent = "Describe the image you want.";
      prompt.setAttribute("aria-invalid", "true");
      prompt.focus();
      return;
    }
    prompt.removeAttribute("aria-invalid");
    submit.disabled = true;
    const body = {
      prompt: prompt.value.trim(),
      model: tier.id,
      style: style.value,
      preset: form.querySelector<HTMLInputElement>("input[name=preset]:checked")?.value,
      quality: selectedQuality(),
      count: Number(count.value) || 1,
      tags: parseTags(tags.value),
    };
    try {
      const answer = await api<{ job: Job; credits: number }>("POST", "/generations", body, { "idempotency-key": submission.keyFor(body) });
      submission.accepted();
      setCredits(answer.credits);
      paintPrice();
      await follow(answer.job, result);
    } catch (e) {
      if (e instanceof Problem && e.code === "validation_failed") {
        const p = e.field("prompt");
        const t = e.errors.find((x) => x.field.startsWith("tags"))?.message;
        if (p) promptErr.textContent = p;
        if (t) tagsErr.textContent = t;
      }
      mount(formError, status(explain(e), "error"));
    } finally {
      submit.disabled = false;
    }
  });

  return h("div", { class: "create" }, h("h1", { tabindex: "-1" }, "Create"), form, result);
}

const STEPS: Job["status"][] = ["queued", "running", "succeeded"];
const LABEL: Record<Job["status"], string> = { queued: "Queued", running: "Drawing your images", succeeded: "Done", failed: "Failed" };

/** Polls the job until it finishes, showing where it is, then its images. */
async function follow(job: Job, into: HTMLElement): Promise<void> {
  const started = Date.now();
  const progress = h("progress", { max: STEPS.length, value: 1, "aria-label": "Job progress" });
  const text = h("p", { class: "job-status", "data-testid": "job-status" });
  mount(into, h("h2", null, "Your images"), h("div", { class: "panel" }, progress, text));
  let current = job;
  for (;;) {
    const step = Math.max(STEPS.indexOf(current.status), 0) + 1;
    progress.value = step;
    text.textContent = `${LABEL[current.status]}: ${current.request.count} × ${current.request.preset}, ${current.cost} credit${current.cost === 1 ? "" : "s"}.`;
    if (current.status === "succeeded" || current.status === "failed") break;
    if (Date.now() - started > POLL_LIMIT_MS) {
      mount(into, h("h2", null, "Your images"), status(["This is taking longer than usual. The images will be in your ", h("a", { href: "/history" }, "history"), " when they are done."], "info"));
      return;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
    try {
      current = await get<Job>(`/generations/${current.id}`);
    } catch (e) {
      mount(into, h("h2", null, "Your images"), status(explain(e), "error"));
      return;
    }
  }
  const notes = [];
  if (current.status === "failed") {
    const problem = new Problem(0, current.error?.code ?? "generation_failed", current.error?.message ?? "");
    notes.push(status(explain(problem), "error"));
  } else if (current.refunded > 0) {
    notes.push(status(`${current.images.length} of ${current.request.count} images were made; ${current.refunded} credit${current.refunded === 1 ? " was" : "s were"} refunded.`, "info"));
  }
  if (current.refunded > 0) {
    const me = await get<{ credits: number }>("/me").catch(() => null);
    if (me) setCredits(me.credits);
  }
  mount(
    into,
    h("h2", null, "Your images"),
    notes,
    current.images.length ? status(`${current.images.length} image${current.images.length > 1 ? "s are" : " is"} ready.`, "success") : null,
    h("div", { class: "cards" }, current.images.map(imageCard)),
  );
}
