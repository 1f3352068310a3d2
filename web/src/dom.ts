// A tiny hyperscript helper: the whole "framework" of this client (see docs/decisions/0028).

export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, unknown>;

function append(parent: Node, child: Child): void {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child) append(parent, c);
  } else if (child instanceof Node) {
    parent.appendChild(child);
  } else {
    parent.appendChild(document.createTextNode(String(child)));
  }
}

/** `h("button", { type: "button", onclick }, "Label")`: an element with attributes,
 * listeners (`on*`), properties (`value`, `checked`) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value as EventListener);
    } else if (key === "class") {
      el.className = String(value);
    } else if (key === "value" || key === "checked" || key === "selected") {
      (el as unknown as Record<string, unknown>)[key] = value;
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  for (const child of children) append(el, child);
  return el;
}

/** Replaces the children of `el`. */
export function mount(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  for (const child of children) append(el, child);
}

/** A polite live region message, for screen readers and sighted people alike. */
export function status(text: Child, kind: "info" | "error" | "success" = "info"): HTMLElement {
  return h(
    "div",
    { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" },
    text,
  );
}

export function spinner(label: string): HTMLElement {
  return h("p", { class: "loading", role: "status", "aria-live": "polite" }, h("span", { class: "spin", "aria-hidden": "true" }), label);
}

let seq = 0;
/** A unique id for label/field pairs. */
export function uid(prefix: string): string {
  seq += 1;
  return `${prefix}-${seq}`;
}
