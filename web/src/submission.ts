/**
 * One `Idempotency-Key` per submission. Every retry of the same request (after a network error,
 * a timeout, a 5xx, or a click on "Generate" again) sends the same key, so the API charges it at
 * most once and answers the first job; a changed request, or one that was accepted, starts a new
 * submission with a new key.
 */
export class Submission {
  private key: string | null = null;
  private request: string | null = null;

  constructor(private readonly newKey: () => string = randomKey) {}

  /** The key to send with `request`: the current one while the request is unchanged. */
  keyFor(request: unknown): string {
    const text = JSON.stringify(request);
    if (this.key === null || text !== this.request) {
      this.key = this.newKey();
      this.request = text;
    }
    return this.key;
  }

  /** The request was accepted: whatever comes next is a new submission. */
  accepted(): void {
    this.key = null;
    this.request = null;
  }
}

export function randomKey(): string {
  return typeof crypto.randomUUID === "function" ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}
