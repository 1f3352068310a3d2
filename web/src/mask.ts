// Painting a mask over the image to edit: brush size, eraser, clear, undo. The strokes are kept
// in the source's own pixels and drawn on a canvas of that size (shown scaled), so the exported
// PNG has the source's pixel size, as the API requires (422 `mask_mismatch` otherwise): opaque
// where the image stays, transparent where it is painted (where the model may change it).
// The keyboard paints too: on the focused canvas the arrows move a ring, Space puts the brush
// down (a dot) and up again, and moving while it is down draws.

import { h } from "./dom";

interface Stroke {
  size: number;
  erase: boolean;
  points: [number, number][];
}

export class MaskPainter {
  readonly el: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly picture: HTMLImageElement;
  private readonly brush: HTMLInputElement;
  private readonly eraser: HTMLButtonElement;
  private readonly undoButton: HTMLButtonElement;
  private readonly clearButton: HTMLButtonElement;
  private readonly note: HTMLElement;
  private strokes: Stroke[] = [];
  private current: Stroke | null = null;
  private key = "";
  private readonly ring: HTMLElement;
  private cursor: [number, number] = [0, 0];
  /** Changes with every change of the mask, so an upload of it can be reused until then. */
  version = 0;

  constructor() {
    this.canvas = h("canvas", {
      class: "mask-canvas",
      "data-testid": "mask-canvas",
      tabindex: "0",
      role: "application",
      "aria-label": "Mask: paint over the parts to change",
      "aria-describedby": "mask-keys",
    });
    this.ring = h("span", { class: "mask-ring", "aria-hidden": "true" });
    this.picture = h("img", { alt: "", class: "mask-picture" });
    this.brush = h("input", { type: "range", min: 4, max: 200, value: 40, id: "mask-brush", "aria-describedby": "mask-brush-value" });
    const brushValue = h("output", { id: "mask-brush-value", for: "mask-brush" }, "40 px");
    this.brush.addEventListener("input", () => (brushValue.textContent = `${this.brush.value} px`));
    this.eraser = h("button", { type: "button", class: "btn btn-small", "aria-pressed": "false" }, "Eraser");
    this.eraser.addEventListener("click", () => this.eraser.setAttribute("aria-pressed", String(this.eraser.getAttribute("aria-pressed") !== "true")));
    this.undoButton = h("button", { type: "button", class: "btn btn-small" }, "Undo");
    this.undoButton.addEventListener("click", () => this.undo());
    this.clearButton = h("button", { type: "button", class: "btn btn-small" }, "Clear");
    this.clearButton.addEventListener("click", () => {
      this.strokes = [];
      this.redraw();
      this.say("Mask cleared.");
    });
    this.note = h("p", { class: "hint", role: "status", "data-testid": "mask-status" });
    this.el = h(
      "fieldset",
      { class: "mask" },
      h("legend", null, "Mask (optional)"),
      h("p", { class: "hint" }, "Paint over what should change; without a mask the whole image may change."),
      h("div", { class: "mask-stage" }, this.picture, this.canvas, this.ring),
      h("p", { class: "hint", id: "mask-keys" }, "Keyboard: arrows move the brush, Space puts it down and lifts it."),
      h("div", { class: "row wrap" },
        h("label", { for: "mask-brush" }, "Brush"), this.brush, brushValue,
        this.eraser, this.undoButton, this.clearButton),
      this.note,
    );
    this.canvas.addEventListener("pointerdown", (e) => this.down(e));
    this.canvas.addEventListener("pointermove", (e) => this.move(e));
    for (const end of ["pointerup", "pointercancel", "pointerleave"]) this.canvas.addEventListener(end, () => this.up());
    this.canvas.addEventListener("contextmenu", (e) => e.preventDefault());
    this.canvas.addEventListener("keydown", (e) => this.onKey(e));
    this.canvas.addEventListener("focus", () => this.placeRing());
    this.canvas.addEventListener("blur", () => {
      this.ring.hidden = true;
      this.up();
    });
    this.ring.hidden = true;
    this.redraw();
  }

  /** Shows the image to edit; a different image starts a new mask. */
  show(url: string, width: number, height: number, key: string): void {
    if (key === this.key) return;
    this.key = key;
    this.picture.src = url;
    this.picture.width = width;
    this.picture.height = height;
    this.canvas.width = width;
    this.canvas.height = height;
    this.cursor = [width / 2, height / 2];
    this.strokes = [];
    this.redraw();
  }

  reset(): void {
    this.key = "";
    this.strokes = [];
  }

  painted(): boolean {
    return this.strokes.some((s) => !s.erase);
  }

  undo(): void {
    this.strokes.pop();
    this.redraw();
    this.say(this.strokes.length ? "Undone." : "Nothing painted.");
  }

  /** The mask as the API takes it: the source's pixels, transparent where painted. */
  toBlob(): Promise<Blob> {
    const out = document.createElement("canvas");
    out.width = this.canvas.width;
    out.height = this.canvas.height;
    const ctx = out.getContext("2d");
    if (!ctx) return Promise.reject(new Error("no 2d canvas"));
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.globalCompositeOperation = "destination-out";
    ctx.drawImage(this.canvas, 0, 0);
    return new Promise((ok, fail) => out.toBlob((b) => (b ? ok(b) : fail(new Error("no PNG"))), "image/png"));
  }

  /** Arrows move the brush (a tenth of the brush at a time with Shift, else half of it);
   * Space puts it down (painting a dot) or lifts it. */
  private onKey(e: KeyboardEvent): void {
    const step = this.size() / (e.shiftKey ? 10 : 2);
    const moves: Record<string, [number, number]> = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    const move = moves[e.key];
    if (move) {
      e.preventDefault();
      const [x, y] = this.cursor;
      this.cursor = [Math.min(Math.max(x + move[0], 0), this.canvas.width), Math.min(Math.max(y + move[1], 0), this.canvas.height)];
      this.placeRing();
      if (this.current) {
        this.current.points.push(this.cursor);
        this.redraw();
      }
    } else if (e.key === " " || e.key === "Enter") {
      e.preventDefault();
      if (this.current) this.up();
      else {
        this.current = { size: this.size(), erase: this.eraser.getAttribute("aria-pressed") === "true", points: [this.cursor] };
        this.strokes.push(this.current);
        this.redraw();
        this.say("Brush down: the arrows paint; Space lifts it.");
      }
    }
  }

  /** The keyboard's brush, drawn as a ring over the canvas (never into it). */
  private placeRing(): void {
    const [x, y] = this.cursor;
    const w = Math.max(1, this.canvas.width);
    const hh = Math.max(1, this.canvas.height);
    const size = this.size();
    this.ring.hidden = false;
    this.ring.style.left = `${(100 * x) / w}%`;
    this.ring.style.top = `${(100 * y) / hh}%`;
    this.ring.style.width = `${(100 * size) / w}%`;
    this.ring.style.height = `${(100 * size) / hh}%`;
  }

  private say(text: string): void {
    this.note.textContent = text;
    this.undoButton.disabled = this.strokes.length === 0;
    this.clearButton.disabled = this.strokes.length === 0;
  }

  private at(e: PointerEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * this.canvas.width) / Math.max(1, r.width), ((e.clientY - r.top) * this.canvas.height) / Math.max(1, r.height)];
  }

  /** The brush in the source's pixels: its size is what it looks like on screen. */
  private size(): number {
    const r = this.canvas.getBoundingClientRect();
    return (Number(this.brush.value) * this.canvas.width) / Math.max(1, r.width);
  }

  private down(e: PointerEvent): void {
    if (e.button !== 0) return;
    e.preventDefault();
    this.canvas.setPointerCapture?.(e.pointerId);
    this.current = { size: this.size(), erase: this.eraser.getAttribute("aria-pressed") === "true", points: [this.at(e)] };
    this.strokes.push(this.current);
    this.redraw();
  }

  private move(e: PointerEvent): void {
    if (!this.current) return;
    this.current.points.push(this.at(e));
    this.redraw();
  }

  private up(): void {
    if (!this.current) return;
    this.current = null;
    const painted = this.strokes.filter((s) => !s.erase).length;
    this.say(`${painted} stroke${painted === 1 ? "" : "s"} painted.`);
  }

  private redraw(): void {
    this.version += 1;
    const ctx = this.canvas.getContext("2d");
    if (!ctx) return;
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    for (const s of this.strokes) {
      ctx.globalCompositeOperation = s.erase ? "destination-out" : "source-over";
      ctx.strokeStyle = ctx.fillStyle = "#5b3df5";
      ctx.lineWidth = s.size;
      const [first, ...rest] = s.points;
      if (!first) continue;
      ctx.beginPath();
      ctx.arc(first[0], first[1], s.size / 2, 0, Math.PI * 2);
      ctx.fill();
      if (rest.length) {
        ctx.beginPath();
        ctx.moveTo(first[0], first[1]);
        for (const [x, y] of rest) ctx.lineTo(x, y);
        ctx.stroke();
      }
    }
    ctx.globalCompositeOperation = "source-over";
    this.undoButton.disabled = this.strokes.length === 0;
    this.clearButton.disabled = this.strokes.length === 0;
  }
}

