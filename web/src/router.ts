// History-API routing over the client's own paths, chosen not to collide with the API's.

export type Params = Record<string, string>;
export type Page = (params: Params, query: URLSearchParams) => Promise<Node> | Node;
interface Route {
  pattern: RegExp;
  keys: string[];
  page: Page;
}

const routes: Route[] = [];
let render: (page: Page, params: Params, query: URLSearchParams) => void = () => {};

export function route(path: string, page: Page): void {
  const keys: string[] = [];
  const pattern = new RegExp(
    "^" +
      path.replace(/:([a-z]+)/g, (_, k: string) => {
        keys.push(k);
        return "([^/]+)";
      }) +
      "/?$",
  );
  routes.push({ pattern, keys, page });
}

export function resolve(notFound: Page): void {
  const { pathname, search } = window.location;
  const q = new URLSearchParams(search);
  for (const r of routes) {
    const m = r.pattern.exec(pathname);
    if (m) {
      const params: Params = {};
      r.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1] ?? "")));
      render(r.page, params, q);
      return;
    }
  }
  render(notFound, {}, q);
}

let notFoundPage: Page = () => document.createTextNode("Not found");

export function start(onRender: typeof render, notFound: Page): void {
  render = onRender;
  notFoundPage = notFound;
  window.addEventListener("popstate", () => resolve(notFoundPage));
  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const a = (event.target as Element | null)?.closest?.("a");
    if (!a || a.target || a.hasAttribute("download") || a.dataset.external !== undefined) return;
    const url = new URL(a.href, window.location.href);
    if (url.origin !== window.location.origin || url.pathname.startsWith("/api/") || url.pathname.startsWith("/stripe/")) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
  resolve(notFoundPage);
}

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  resolve(notFoundPage);
}
