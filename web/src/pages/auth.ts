import { api, Problem, type Session } from "../api";
import { h, mount, status, uid } from "../dom";
import { explain } from "../errors";
import { navigate } from "../router";
import { signedIn } from "../session";

interface Field {
  input: HTMLInputElement;
  error: HTMLElement;
  wrap: HTMLElement;
}

function field(name: string, label: string, type: string, autocomplete: string, hint?: string): Field {
  const id = uid(name);
  const error = h("p", { id: `${id}-err`, class: "field-error" });
  const input = h("input", { id, name, type, autocomplete, required: name !== "name", "aria-describedby": `${hint ? `${id}-hint ` : ""}${id}-err` });
  const wrap = h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("p", { id: `${id}-hint`, class: "hint" }, hint) : null, error);
  return { input, error, wrap };
}

function setError(f: Field, message: string | undefined): void {
  f.error.textContent = message ?? "";
  if (message) f.input.setAttribute("aria-invalid", "true");
  else f.input.removeAttribute("aria-invalid");
}

function safeNext(q: URLSearchParams): string {
  const next = q.get("next") ?? "/";
  return next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

function authForm(kind: "login" | "register", q: URLSearchParams): Node {
  const register = kind === "register";
  const name = register ? field("name", "Name (optional)", "text", "name") : null;
  const email = field("email", "Email", "email", "email");
  const password = field("password", "Password", "password", register ? "new-password" : "current-password", register ? "8 to 128 characters." : undefined);
  const formError = h("div");
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-large" }, register ? "Create account" : "Log in");
  const form = h("form", { class: "panel narrow auth", novalidate: true, "aria-labelledby": "auth-title" },
    h("h1", { id: "auth-title", tabindex: "-1" }, register ? "Create your account" : "Log in"),
    register ? h("p", { class: "hint" }, "You get 3 free credits to start.") : null,
    name?.wrap, email.wrap, password.wrap, formError, submit,
    h("p", null, register ? ["Already have an account? ", h("a", { href: `/login${location.search}` }, "Log in")] : ["New here? ", h("a", { href: `/register${location.search}` }, "Create an account")]),
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    mount(formError);
    const fields = [email, password, ...(name ? [name] : [])];
    for (const f of fields) setError(f, undefined);
    // What the browser can tell before asking the API.
    let first: Field | null = null;
    if (!email.input.value.trim() || !email.input.validity.valid) {
      setError(email, "Enter an email address like name@example.com.");
      first ??= email;
    }
    const pw = password.input.value;
    if (!pw) {
      setError(password, "Enter your password.");
      first ??= password;
    } else if (register && ([...pw].length < 8 || [...pw].length > 128)) {
      setError(password, "Use 8 to 128 characters.");
      first ??= password;
    }
    if (first) {
      first.input.focus();
      return;
    }
    submit.disabled = true;
    try {
      const body: Record<string, string> = { email: email.input.value.trim(), password: pw };
      if (name?.input.value.trim()) body.name = name.input.value.trim();
      const session = await api<Session>("POST", register ? "/auth/register" : "/auth/login", body);
      signedIn(session.user);
      navigate(safeNext(q), true);
    } catch (e) {
      if (e instanceof Problem) {
        const byField: Record<string, Field | null> = { email, password, name };
        let placed = false;
        for (const fe of e.errors) {
          const f = byField[fe.field];
          if (f) {
            setError(f, fe.message[0] ? fe.message[0].toUpperCase() + fe.message.slice(1) + "." : fe.message);
            placed = true;
          }
        }
        if (e.code === "email_taken") {
          setError(email, "An account with this email already exists.");
          mount(formError, status(["Is it yours? ", h("a", { href: `/login${location.search}` }, "Log in"), " instead."], "info"));
          email.input.focus();
        } else if (e.code === "invalid_credentials") {
          mount(formError, status("The email or password is not right.", "error"));
        } else if (!placed) {
          mount(formError, status(explain(e), "error"));
        } else {
          form.querySelector<HTMLInputElement>("[aria-invalid=true]")?.focus();
        }
      } else {
        mount(formError, status(explain(e), "error"));
      }
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export const loginPage = (_: Record<string, string>, q: URLSearchParams) => authForm("login", q);
export const registerPage = (_: Record<string, string>, q: URLSearchParams) => authForm("register", q);
