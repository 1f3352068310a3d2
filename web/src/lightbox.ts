// A lightbox over a grid: the image large, its prompt, and the keyboard's way through the grid
// (← →, Home, End; Escape closes). A modal <dialog>: the browser keeps focus inside it and
// gives it back to the page on close; `onClose` then puts it on the image last shown.

import type { Image } from "./api";
import { h, mount } from "./dom";
import { srcset } from "./pure/sizes";

export function openLightbox(images: Image[], start: number, onClose: (shown: Image) => void, pageOf: (image: Image) => string = (i) => `/history/${i.id}`): void {
  if (images.length === 0) return;
  let at = Math.min(Math.max(start, 0), images.length - 1);
  const figure = h("figure", { class: "lightbox-figure" });
  const counter = h("p", { class: "lightbox-count", "aria-live": "polite" });
  const prev = h("button", { type: "button", class: "btn", "aria-label": "Previous image" }, h("span", { "aria-hidden": "true" }, "←"));
  const next = h("button", { type: "button", class: "btn", "aria-label": "Next image" }, h("span", { "aria-hidden": "true" }, "→"));
  const close = h("button", { type: "button", class: "btn", "aria-label": "Close" }, h("span", { "aria-hidden": "true" }, "✕"));
  const open = h("a", { class: "btn", href: "#" }, "Open image page");
  const dialog = h(
    "dialog",
    { class: "lightbox", "aria-label": "Image viewer", "aria-describedby": "lightbox-help" },
    h("div", { class: "lightbox-bar row" }, counter, h("div", { class: "row" }, prev, next, open, close)),
    figure,
    h("p", { id: "lightbox-help", class: "sr-only" }, "Left and right arrow keys move between images; Escape closes."),
  );
  const paint = () => {
    const image = images[at] as Image;
    mount(
      figure,
      h("img", { src: image.urls.image, srcset: srcset(image.urls, image.width, image.height), sizes: "100vw", alt: image.prompt, width: image.width, height: image.height, decoding: "async" }),
      h("figcaption", null, image.prompt),
    );
    counter.textContent = `${at + 1} of ${images.length}`;
    prev.disabled = at === 0;
    next.disabled = at === images.length - 1;
    open.href = pageOf(image);
  };
  const go = (to: number) => {
    const target = Math.min(Math.max(to, 0), images.length - 1);
    if (target === at) return;
    at = target;
    paint();
  };
  prev.addEventListener("click", () => go(at - 1));
  next.addEventListener("click", () => go(at + 1));
  close.addEventListener("click", () => dialog.close());
  open.addEventListener("click", () => dialog.close());
  dialog.addEventListener("keydown", (event) => {
    const keys: Record<string, () => void> = {
      ArrowLeft: () => go(at - 1),
      ArrowRight: () => go(at + 1),
      Home: () => go(0),
      End: () => go(images.length - 1),
    };
    const action = keys[event.key];
    if (action && !(event.target instanceof HTMLInputElement)) {
      event.preventDefault();
      action();
    }
  });
  // A click on the backdrop (outside the content) closes, as people expect of a lightbox.
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close();
  });
  dialog.addEventListener("close", () => {
    dialog.remove();
    // After the browser's own focus restore (to the opener), so ours wins.
    setTimeout(() => onClose(images[at] as Image), 0);
  });
  paint();
  document.body.append(dialog);
  dialog.showModal();
  close.focus();
}
