//! When to reconnect a terminal socket, and how long to wait: exponential
//! backoff with jitter, capped, reset after a successful connection.

/** Tuning of the backoff schedule. */
export interface BackoffOptions {
  /** Delay before the first retry. */
  baseMs: number;
  /** Growth per attempt. */
  factor: number;
  /** Longest delay. */
  capMs: number;
  /** Fraction of the delay randomised (0 = exact, 0.2 = ±20 %). */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, factor: 2, capMs: 10_000, jitter: 0.2 };

/**
 * The delay before retry number `attempt` (0-based): base·factorⁿ, capped,
 * then jittered so many tabs do not reconnect in lockstep after a restart.
 */
export function backoffDelayMs(
  attempt: number,
  opts: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const exact = Math.min(opts.capMs, opts.baseMs * Math.pow(opts.factor, Math.max(0, attempt)));
  const spread = exact * opts.jitter;
  const jittered = exact - spread + 2 * spread * random();
  return Math.round(Math.min(opts.capMs, Math.max(0, jittered)));
}

/** What a closed socket means for the client. */
export type CloseVerdict = 'ended' | 'reconnect';

/**
 * Decides from the close code whether to reconnect. 1000 means the session
 * ended (after `exit`); everything else — 1001 server shutting down or ping
 * timeout, 1006 dropped network, 1009 too large — is worth another try.
 */
export function closeVerdict(code: number, sawExit: boolean): CloseVerdict {
  if (sawExit || code === 1000) return 'ended';
  return 'reconnect';
}
