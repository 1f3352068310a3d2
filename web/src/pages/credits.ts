import { api, get, money, query, type LedgerEntry, type Listing, type Pack, type PurchaseLookup, type User } from "../api";
import { h, mount, spinner, status } from "../dom";
import { pagedGrid, requireSignIn } from "../components";
import { explain } from "../errors";
import { setCredits, user } from "../session";

const REASONS: Record<string, string> = {
  signup: "Welcome credits",
  job: "Images",
  generation: "Images",
  refund: "Refund",
  purchase: "Credit pack",
  purchase_refund: "Pack refunded",
};

function ledgerRow(e: LedgerEntry): Node {
  const label = REASONS[e.reason] ?? e.reason.replace(/_/g, " ");
  return h(
    "li",
    { class: "ledger-row" },
    h("span", null, label),
    h("span", { class: e.delta >= 0 ? "plus" : "minus" }, `${e.delta >= 0 ? "+" : "−"}${Math.abs(e.delta)}`),
    h("span", { class: "hint" }, `balance ${e.balanceAfter}`),
    h("time", { class: "hint", datetime: e.createdAt }, new Date(e.createdAt).toLocaleString()),
  );
}

/** `/credits`: the balance, the packs (Stripe Checkout), the ledger. */
export async function creditsPage(_: Record<string, string>, q: URLSearchParams): Promise<Node> {
  const gate = requireSignIn("buy credits");
  if (gate) return gate;
  const [packs, credits] = await Promise.all([get<Listing<Pack>>("/billing/packs"), get<{ balance: number }>("/me/credits?limit=1")]);
  setCredits(credits.balance);
  const buyError = h("div");
  const packCards = packs.items.map((p) => {
    const button = h("button", { type: "button", class: "btn btn-primary" }, `Buy ${p.credits} credits for ${money(p.amount, p.currency)}`);
    button.addEventListener("click", async () => {
      button.disabled = true;
      mount(buyError, spinner("Opening checkout…"));
      try {
        const checkout = await api<{ url: string; sessionId: string }>("POST", "/billing/checkout", { pack: p.id });
        window.location.assign(checkout.url);
      } catch (e) {
        mount(buyError, status(explain(e), "error"));
        button.disabled = false;
      }
    });
    return h("li", { class: "pack panel" }, h("h3", null, `${p.credits} credits`), h("p", { class: "hint" }, `${p.id[0]?.toUpperCase()}${p.id.slice(1)} pack · ${money(Math.round(p.amount / p.credits), p.currency)} per credit`), button);
  });
  const ledger = pagedGrid<LedgerEntry>({
    label: "Credit history",
    listClass: "ledger",
    load: async (cursor) => {
      const page = await get<{ balance: number } & Listing<LedgerEntry>>(`/me/credits${query({ cursor, limit: 20 })}`);
      return page;
    },
    item: ledgerRow,
    empty: "No credit movements yet.",
  });
  return h(
    "div",
    { class: "credits" },
    h("h1", { tabindex: "-1" }, "Credits"),
    q.get("checkout") === "cancelled" ? status("Checkout was cancelled; nothing was charged.", "info") : null,
    h("p", { class: "balance" }, "Balance: ", h("strong", { "data-testid": "credits-balance" }, String(credits.balance)), " credits"),
    h("p", { class: "hint" }, "V2 fast costs 1 credit per image; V3 best 2 (medium) or 3 (high)."),
    h("h2", null, "Credit packs"),
    h("ul", { class: "packs" }, packCards),
    buyError,
    h("h2", null, "History"),
    ledger,
  );
}

const WAIT_MS = 30_000;

/** `/credits/return?session_id=`: where Checkout sends people back. Asking for the purchase makes
 * the API check a pending one with Stripe and grant it at once if paid (the webhook then grants
 * nothing more), so this usually answers on the first try; it keeps asking, with back-off, while
 * Stripe has not confirmed the payment, and says so plainly. */
export async function creditsReturnPage(_: Record<string, string>, q: URLSearchParams): Promise<Node> {
  const gate = requireSignIn("see your purchase");
  if (gate) return gate;
  const sessionId = q.get("session_id") ?? "";
  const before = user()?.credits ?? 0;
  const box = h("div", { class: "panel", "aria-live": "polite" }, spinner("Confirming your payment…"));
  const page = h("div", { class: "credits" }, h("h1", { tabindex: "-1" }, "Thank you"), box);

  async function wait(): Promise<void> {
    mount(box, spinner("Confirming your payment…"));
    const until = Date.now() + WAIT_MS;
    let delay = 500;
    while (Date.now() < until) {
      try {
        const mine = sessionId
          ? await get<PurchaseLookup>(`/billing/purchases/${encodeURIComponent(sessionId)}`)
          : null;
        if (mine && !mine.confirmedWithStripe) {
          mount(box, spinner("Stripe is not answering just now; still trying…"));
        }
        if (mine && mine.status !== "pending") {
          const me = await get<User>("/me");
          setCredits(me.credits);
          if (mine.status === "paid") {
            mount(
              box,
              status(["Payment received: ", h("strong", null, `+${mine.credits} credits`), ". Your balance is now ", h("strong", { "data-testid": "new-balance" }, String(me.credits)), "."], "success"),
              h("div", { class: "row wrap" }, h("a", { class: "btn btn-primary", href: "/create" }, "Create images"), h("a", { class: "btn", href: "/credits" }, "Credits")),
            );
          } else {
            mount(box, status(`The payment did not go through (${mine.status}). Nothing was charged.`, "error"), h("a", { class: "btn", href: "/credits" }, "Back to credits"));
          }
          return;
        }
        if (!sessionId) {
          const me = await get<User>("/me");
          if (me.credits > before) {
            setCredits(me.credits);
            mount(box, status(`Your balance is now ${me.credits}.`, "success"));
            return;
          }
        }
      } catch (e) {
        mount(box, status(explain(e), "error"));
        return;
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 1.5, 3000);
    }
    const again = h("button", { type: "button", class: "btn", onclick: () => void wait() }, "Check again");
    mount(box, status("Stripe has not confirmed this payment yet, so no credits have been added. If you paid, they arrive as soon as Stripe confirms it, usually within a minute; nothing is charged twice.", "info"), again);
  }
  void wait();
  return page;
}
