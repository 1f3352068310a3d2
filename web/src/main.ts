// The shell: navigation with the balance and the user menu, the routes, and focus on each page.

import "./style.css";
import { api } from "./api";
import { h, mount, spinner, status } from "./dom";
import { explain } from "./errors";
import { navigate, route, start, type Page } from "./router";
import { onExpired, refresh, signedOut, subscribe, user } from "./session";
import { accountPage, goodbyePage } from "./pages/account";
import { homePage } from "./pages/home";
import { createPage } from "./pages/create";
import { historyPage } from "./pages/history";
import { detailPage } from "./pages/detail";
import { creditsPage, creditsReturnPage } from "./pages/credits";
import { loginPage, registerPage } from "./pages/auth";
import { sharePage } from "./pages/share";

const app = document.getElementById("app") as HTMLElement;
const nav = h("nav", { class: "nav", "aria-label": "Main" });
const main = h("main", { id: "main", tabindex: "-1" });
const banner = h("div", { class: "session-banner", "data-testid": "session-banner" });
mount(
  app,
  h("a", { class: "skip", href: "#main" }, "Skip to content"),
  h("header", { class: "topbar" }, nav),
  banner,
  main,
  h("footer", { class: "footer" }, h("p", null, "Artforge: images sized for the platform you post to.")),
);

function menu(): HTMLElement {
  const me = user();
  if (!me) return h("div", { class: "row" }, h("a", { class: "btn btn-ghost", href: "/login" }, "Log in"), h("a", { class: "btn btn-primary", href: "/register" }, "Sign up"));
  const items = h("ul", { class: "menu-items", id: "user-menu", role: "menu", hidden: true });
  // Named by what it shows (axe: label-content-name-mismatch): "Eve Tester (account menu)".
  const toggle = h("button", { type: "button", class: "btn btn-ghost menu-toggle", "aria-haspopup": "menu", "aria-expanded": "false", "aria-controls": "user-menu" },
    h("span", { class: "avatar", "aria-hidden": "true" }, (me.name ?? me.email).slice(0, 1).toUpperCase()),
    h("span", { class: "menu-name" }, me.name ?? me.email),
    h("span", { class: "sr-only" }, " (account menu)"));
  const close = (focus = false) => {
    items.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
    if (focus) toggle.focus();
  };
  const open = () => {
    items.hidden = false;
    toggle.setAttribute("aria-expanded", "true");
    items.querySelector<HTMLElement>("[role=menuitem]")?.focus();
  };
  toggle.addEventListener("click", () => (items.hidden ? open() : close()));
  const entry = (label: string, href: string) => h("li", { role: "none" }, h("a", { role: "menuitem", href, onclick: () => close() }, label));
  const logout = h("button", { type: "button", role: "menuitem", class: "linklike" }, "Log out");
  logout.addEventListener("click", async () => {
    close();
    try {
      await api("POST", "/auth/logout");
    } finally {
      signedOut();
      navigate("/");
    }
  });
  mount(items, entry("Profile", "/history"), entry("Liked", "/liked"), entry("Buy credits", "/credits"), entry("Account", "/account"), h("li", { role: "none" }, logout));
  const box = h("div", { class: "menu" }, toggle, items);
  box.addEventListener("keydown", (event) => {
    const all = [...items.querySelectorAll<HTMLElement>("[role=menuitem]")];
    const at = all.indexOf(document.activeElement as HTMLElement);
    if (event.key === "Escape") close(true);
    else if (event.key === "ArrowDown" && !items.hidden) {
      event.preventDefault();
      all[(at + 1) % all.length]?.focus();
    } else if (event.key === "ArrowUp" && !items.hidden) {
      event.preventDefault();
      all[(at - 1 + all.length) % all.length]?.focus();
    }
  });
  box.addEventListener("focusout", (event) => {
    if (!box.contains(event.relatedTarget as Node | null)) close();
  });
  return h(
    "div",
    { class: "row" },
    h("a", { class: "credits-pill", href: "/credits", title: "Your credits: buy more" }, h("span", { "aria-hidden": "true" }, "◆ "), h("span", { "data-testid": "balance" }, String(me.credits)), h("span", { class: "sr-only-mobile" }, " credits")),
    box,
  );
}

function paintNav(): void {
  mount(
    nav,
    h("a", { class: "brand", href: "/", "aria-label": "Artforge home" }, h("img", { src: "/favicon.svg", alt: "", width: 28, height: 28 }), h("span", null, "Artforge")),
    h("div", { class: "row nav-links" }, h("a", { href: "/create" }, "Create"), user() ? h("a", { href: "/history" }, "History") : null),
    menu(),
  );
}
subscribe(paintNav);

// A session that ends mid-task (expired, or revoked elsewhere) is said plainly, once, with the
// way back; Create keeps what was typed (its draft), so logging in again loses nothing.
onExpired(() => {
  const next = encodeURIComponent(location.pathname + location.search);
  mount(banner, h("div", { class: "notice notice-error", role: "alert" },
    h("strong", null, "Your session has ended. "),
    "It expired or was signed out elsewhere, so the last action was not done. What you typed on this page is kept. ",
    h("a", { href: `/login?next=${next}` }, "Log in again"), " to go on."));
});
subscribe((u) => {
  if (u) mount(banner);
});

let renderId = 0;
async function render(page: Page, params: Record<string, string>, query: URLSearchParams): Promise<void> {
  const id = ++renderId;
  mount(main, spinner("Loading…"));
  let content: Node;
  try {
    content = await page(params, query);
  } catch (e) {
    content = h("section", { class: "panel narrow" }, h("h1", { tabindex: "-1" }, "That did not work"), status(explain(e), "error"));
  }
  if (id !== renderId) return;
  mount(main, content);
  for (const a of nav.querySelectorAll("a")) {
    const here = a.getAttribute("href") === location.pathname;
    if (here) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const heading = main.querySelector<HTMLElement>("h1");
  document.title = heading ? `${heading.textContent} · Artforge` : "Artforge";
  // A page may name what should have focus (the notice after a delete); else its heading.
  const target = main.querySelector<HTMLElement>("[data-focus]") ?? heading ?? main;
  if (history.state !== "initial") target.focus({ preventScroll: false });
  window.scrollTo(0, 0);
}

const notFound: Page = () =>
  h("section", { class: "panel narrow" }, h("h1", { tabindex: "-1" }, "Page not found"), h("p", null, "Nothing lives here. ", h("a", { href: "/" }, "Go home"), "."));

route("/", homePage);
route("/create", createPage);
route("/history", historyPage);
route("/liked", (p, q) => {
  q.set("liked", "true");
  return historyPage(p, q);
});
route("/history/:id", detailPage);
route("/credits", creditsPage);
route("/credits/return", creditsReturnPage);
route("/login", loginPage);
route("/register", registerPage);
route("/i/:id", sharePage);
route("/account", accountPage);
route("/goodbye", goodbyePage);

paintNav();
history.replaceState("initial", "");
refresh()
  .catch(() => null)
  .finally(() => start((page, params, query) => void render(page, params, query), notFound));
