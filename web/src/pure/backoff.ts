/**
 * The delay before the next poll. Healthy polls start quick and slow down gently as a job runs
 * on (a long job does not need a request a second); a failed poll doubles the delay up to a
 * ceiling, with jitter so many tabs do not retry in step, and never gives up by itself: the
 * caller stops only on an answer that cannot change (a finished job, 401, 404).
 */
export interface BackoffOptions {
  /** First delay, and the delay after a success early on (ms). */
  base: number;
  /** Healthy polling never waits longer than this (ms). */
  steady: number;
  /** Failed polling never waits longer than this (ms). */
  max: number;
  /** A number in [0, 1), `Math.random` by default. */
  random?: () => number;
}

export class Backoff {
  private failures = 0;
  private successes = 0;
  private readonly random: () => number;

  constructor(private readonly options: BackoffOptions = { base: 1000, steady: 4000, max: 30_000 }) {
    this.random = options.random ?? Math.random;
  }

  /** How many polls in a row have failed. */
  get failing(): number {
    return this.failures;
  }

  /** A new job: back to the quick pace. */
  reset(): void {
    this.failures = 0;
    this.successes = 0;
  }

  /** The poll answered: the next one comes at the healthy pace. */
  succeeded(): number {
    this.failures = 0;
    this.successes += 1;
    const { base, steady } = this.options;
    // 1 s for the first 10 polls, then 1.25x per poll up to `steady`.
    const grown = base * Math.pow(1.25, Math.max(0, this.successes - 10));
    return Math.round(Math.min(grown, steady));
  }

  /** The poll failed: wait twice as long as before (plus or minus 20 %), up to `max`. */
  failed(): number {
    this.failures += 1;
    const { base, max } = this.options;
    const plain = Math.min(base * Math.pow(2, this.failures), max);
    const jitter = 1 + (this.random() * 0.4 - 0.2);
    return Math.round(Math.min(plain * jitter, max));
  }
}
