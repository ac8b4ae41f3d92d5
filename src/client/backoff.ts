// Reconnection delays: exponential, bounded, jittered. Attempt n (from 0) waits
// min(maxMs, initialMs * multiplier^n), scaled by a random factor in [1 - jitter, 1 + jitter] and
// capped at maxMs again, so a fleet that lost its control plane at the same moment does not
// reconnect in lockstep, and no client ever waits longer than maxMs.

export interface BackoffOptions {
  /** First delay. Default 250 ms. */
  initialMs?: number;
  /** Upper bound of any delay. Default 30 s. */
  maxMs?: number;
  /** Growth per failed attempt. Default 2. */
  multiplier?: number;
  /** Relative spread, 0..1. Default 0.2 (±20 %). */
  jitter?: number;
  /** Random source in [0, 1) (tests pass a fixed one). Default Math.random. */
  random?: () => number;
}

export const DEFAULT_BACKOFF: Required<Omit<BackoffOptions, 'random'>> = { initialMs: 250, maxMs: 30_000, multiplier: 2, jitter: 0.2 };

export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly multiplier: number;
  private readonly jitter: number;
  private readonly random: () => number;
  private attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? DEFAULT_BACKOFF.initialMs;
    this.maxMs = options.maxMs ?? DEFAULT_BACKOFF.maxMs;
    this.multiplier = options.multiplier ?? DEFAULT_BACKOFF.multiplier;
    this.jitter = options.jitter ?? DEFAULT_BACKOFF.jitter;
    this.random = options.random ?? Math.random;
    if (!(this.initialMs > 0) || !(this.maxMs >= this.initialMs)) throw new RangeError(`backoff needs 0 < initialMs <= maxMs (got ${this.initialMs}, ${this.maxMs})`);
    if (!(this.multiplier >= 1)) throw new RangeError(`backoff multiplier must be >= 1 (got ${this.multiplier})`);
    if (!(this.jitter >= 0 && this.jitter <= 1)) throw new RangeError(`backoff jitter must be within 0..1 (got ${this.jitter})`);
  }

  /** Failed attempts since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The delay before the next attempt; each call counts one more failed attempt. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * Math.pow(this.multiplier, this.attempt));
    this.attempt++;
    const factor = 1 + this.jitter * (2 * this.random() - 1);
    return Math.max(1, Math.min(this.maxMs, Math.round(base * factor)));
  }

  /** A healthy connection: the next failure starts from initialMs again. */
  reset(): void {
    this.attempt = 0;
  }
}
