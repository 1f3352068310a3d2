import { api, Problem, type Session, type User } from "../api";
import { h, mount, spinner, status, uid } from "../dom";
import { requireSignIn } from "../components";
import { explain } from "../errors";
import { navigate } from "../router";
import { signedIn, signedOut, user } from "../session";

/** The words typed to confirm deleting the account: a deliberate act, not a stray click. */
export const DELETE_PHRASE = "delete my account";

function input(label: string, attrs: Record<string, unknown>, hint?: string) {
  const id = uid(String(attrs.name ?? "f"));
  const error = h("p", { id: `${id}-err`, class: "field-error" });
  const el = h("input", { id, ...attrs, "aria-describedby": `${hint ? `${id}-hint ` : ""}${id}-err` });
  const wrap = h("div", { class: "field" }, h("label", { for: id }, label), el, hint ? h("p", { id: `${id}-hint`, class: "hint" }, hint) : null, error);
  const fail = (message: string) => {
    error.textContent = message;
    el.setAttribute("aria-invalid", "true");
    el.focus();
  };
  const ok = () => {
    error.textContent = "";
    el.removeAttribute("aria-invalid");
  };
  return { el, wrap, fail, ok };
}

/** `/account`: name, password, export of everything held, and deleting the account. */
export function accountPage(): Node {
  const gate = requireSignIn("manage your account");
  if (gate) return gate;
  const me = user() as User;

  // Name.
  const name = input("Name", { name: "name", type: "text", autocomplete: "name", maxlength: 80, value: me.name ?? "" });
  const nameNote = h("div", { "aria-live": "polite" });
  const nameForm = h("form", { class: "panel", "aria-labelledby": "name-title", novalidate: true },
    h("h2", { id: "name-title" }, "Your name"), h("p", { class: "hint" }, `Signed in as ${me.email}.`), name.wrap,
    h("button", { type: "submit", class: "btn" }, "Save name"), nameNote);
  nameForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    name.ok();
    mount(nameNote);
    const value = name.el.value.trim();
    if (!value) return name.fail("Enter a name (1 to 80 characters).");
    try {
      signedIn(await api<User>("PATCH", "/me", { name: value }));
      mount(nameNote, status("Name saved.", "success"));
    } catch (err) {
      if (err instanceof Problem && err.field("name")) name.fail(err.field("name") as string);
      else mount(nameNote, status(explain(err), "error"));
    }
  });

  // Password.
  const current = input("Current password", { name: "currentPassword", type: "password", autocomplete: "current-password" });
  const fresh = input("New password", { name: "newPassword", type: "password", autocomplete: "new-password" }, "8 to 128 characters. Your other sessions are signed out.");
  const pwNote = h("div", { "aria-live": "polite" });
  const pwForm = h("form", { class: "panel", "aria-labelledby": "pw-title", novalidate: true },
    h("h2", { id: "pw-title" }, "Password"), h("input", { type: "text", name: "username", autocomplete: "username", value: me.email, hidden: true, "aria-hidden": "true", tabindex: "-1" }),
    current.wrap, fresh.wrap, h("button", { type: "submit", class: "btn" }, "Change password"), pwNote);
  pwForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    current.ok();
    fresh.ok();
    mount(pwNote);
    if (!current.el.value) return current.fail("Enter your current password.");
    const n = [...fresh.el.value].length;
    if (n < 8 || n > 128) return fresh.fail("Use 8 to 128 characters.");
    try {
      const session = await api<Session>("PUT", "/me/password", { currentPassword: current.el.value, newPassword: fresh.el.value });
      signedIn(session.user);
      current.el.value = fresh.el.value = "";
      mount(pwNote, status("Password changed. Other sessions were signed out.", "success"));
    } catch (err) {
      if (err instanceof Problem && err.code === "invalid_credentials") current.fail("That is not your current password.");
      else if (err instanceof Problem && err.field("newPassword")) fresh.fail(err.field("newPassword") as string);
      else mount(pwNote, status(explain(err), "error"));
    }
  });

  // Export.
  const exportNote = h("div", { "aria-live": "polite" });
  const exportButton = h("button", { type: "button", class: "btn" }, "Download my data (JSON)");
  exportButton.addEventListener("click", async () => {
    exportButton.disabled = true;
    mount(exportNote, spinner("Gathering your data…"));
    try {
      const data = await api<unknown>("GET", "/me/export");
      const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
      const url = URL.createObjectURL(blob);
      const file = `artforge-export-${new Date().toISOString().slice(0, 10)}.json`;
      const link = h("a", { href: url, download: file, "data-testid": "export-link" }, `Save ${file}`);
      mount(exportNote, status(["Your data is ready: ", link, ". The image links in it work for a few minutes."], "success"));
      link.click();
    } catch (err) {
      mount(exportNote, status(explain(err), "error"));
    } finally {
      exportButton.disabled = false;
    }
  });
  const exportPart = h("section", { class: "panel", "aria-labelledby": "export-title" },
    h("h2", { id: "export-title" }, "Your data"),
    h("p", null, "One JSON file with everything Artforge holds about you: your account, balance and credit history, purchases, images (with links), likes and jobs."),
    exportButton, exportNote);

  // Delete.
  const password = input("Password", { name: "password", type: "password", autocomplete: "current-password" });
  const phrase = input(`Type “${DELETE_PHRASE}” to confirm`, { name: "confirm", type: "text", autocomplete: "off", spellcheck: "false" });
  const deleteButton = h("button", { type: "submit", class: "btn btn-danger", disabled: true }, "Delete my account");
  const deleteNote = h("div", { "aria-live": "polite" });
  const deleteForm = h("form", { class: "panel danger-zone", "aria-labelledby": "delete-title", novalidate: true },
    h("h2", { id: "delete-title" }, "Delete your account"),
    h("p", null, "This removes your account, every image and its files, your likes, jobs and ZIPs, at once and for good. Purchases and the credit history are kept for accounting, without your email or name. Credits left are lost."),
    password.wrap, phrase.wrap, deleteButton, deleteNote);
  const armed = () => phrase.el.value.trim().toLowerCase() === DELETE_PHRASE && password.el.value.length > 0;
  for (const f of [password.el, phrase.el]) f.addEventListener("input", () => (deleteButton.disabled = !armed()));
  deleteForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    password.ok();
    mount(deleteNote);
    if (!armed()) return phrase.fail(`Type “${DELETE_PHRASE}” exactly.`);
    deleteButton.disabled = true;
    try {
      await api("DELETE", "/me", { password: password.el.value });
      signedOut();
      navigate("/goodbye", true);
    } catch (err) {
      if (err instanceof Problem && (err.code === "invalid_credentials" || err.status === 401) && err.code !== "token_expired" && err.code !== "unauthorized") password.fail("That is not your password.");
      else mount(deleteNote, status(explain(err), "error"));
      deleteButton.disabled = !armed();
    }
  });

  return h("div", { class: "account" },
    h("h1", { tabindex: "-1" }, "Account"),
    h("div", { class: "account-grid" }, nameForm, pwForm, exportPart, deleteForm));
}

export function goodbyePage(): Node {
  return h("section", { class: "panel narrow" },
    h("h1", { tabindex: "-1" }, "Your account is deleted"),
    h("p", null, "Everything of yours is gone from Artforge. Thank you for making images with us."),
    h("p", null, h("a", { href: "/" }, "Go home")));
}
