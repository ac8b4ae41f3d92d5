// Waiting in tests without fixed sleeps: wait for an event that satisfies a predicate, with a
// bounded deadline and a description of the state at timeout (so a failure says what was missing).

export interface WaitOptions {
  timeoutMs: number;
  /** Called at timeout to explain what was (not) reached. */
  describe?: () => string;
}

/** Subscribes a listener and returns the function that unsubscribes it. */
export type Subscribe<T extends unknown[]> = (listener: (...args: T) => void) => () => void;

/**
 * Resolves with the arguments of the first event for which `predicate` holds. `initially` is
 * checked once before waiting, for a condition that may already hold when the wait starts.
 */
export function waitForEvent<T extends unknown[]>(subscribe: Subscribe<T>, predicate: (...args: T) => boolean, opts: WaitOptions & { initially?: () => boolean }): Promise<T | undefined> {
  if (opts.initially?.()) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    let unsubscribe: () => void = () => undefined;
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out after ${opts.timeoutMs} ms${opts.describe ? `: ${opts.describe()}` : ''}`));
    }, opts.timeoutMs);
    unsubscribe = subscribe((...args: T) => {
      let done: boolean;
      try {
        done = predicate(...args);
      } catch (err) {
        clearTimeout(timer);
        unsubscribe();
        reject(err as Error);
        return;
      }
      if (!done) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(args);
    });
  });
}

/** A promise with its resolve function, for one-shot signals raised from callbacks. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Races a promise against a deadline. */
export async function withTimeout<T>(promise: Promise<T>, opts: WaitOptions): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${opts.timeoutMs} ms${opts.describe ? `: ${opts.describe()}` : ''}`)), opts.timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
