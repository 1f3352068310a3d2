// Who is signed in. The session itself is the HttpOnly cookie; the page only remembers that
// there is one (a flag in localStorage), so a signed-out visit does not ask GET /me for a 401.

import { get, onUnauthorized, type User } from "./api";

const FLAG = "artforge.session";
type Listener = (user: User | null) => void;

let current: User | null = null;
const listeners = new Set<Listener>();

function emit(): void {
  for (const l of listeners) l(current);
}

export function user(): User | null {
  return current;
}

export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function signedIn(next: User): void {
  current = next;
  localStorage.setItem(FLAG, "1");
  emit();
}

export function signedOut(): void {
  current = null;
  localStorage.removeItem(FLAG);
  emit();
}

/** The balance changed (a job was paid for, a purchase granted). */
export function setCredits(credits: number): void {
  if (current) {
    current = { ...current, credits };
    emit();
  }
}

/** Reads the signed-in user again (GET /me), when there is a session. */
export async function refresh(): Promise<User | null> {
  if (!localStorage.getItem(FLAG)) {
    signedOut();
    return null;
  }
  try {
    signedIn(await get<User>("/me"));
  } catch (e) {
    if ((e as { status?: number }).status === 401) signedOut();
    else throw e;
  }
  return current;
}

const expiredListeners = new Set<() => void>();
/** Called when the API answers 401 while the page thought someone was signed in: the session
 * expired or was revoked (a password change or "log out everywhere") in the middle of a task. */
export function onExpired(listener: () => void): void {
  expiredListeners.add(listener);
}

onUnauthorized(() => {
  const was = current !== null;
  signedOut();
  if (was) for (const l of expiredListeners) l();
});
