// Subscriptions are shared between streams: an Envoy fleet subscribes every proxy to the same
// names, and 10,000 private copies of a 100-name set would dominate per-stream memory.
export interface InternedNames {
  /** Sorted names joined by NUL: identifies the subscription (and its shared response body). */
  readonly key: string;
  readonly set: ReadonlySet<string>;
  readonly sorted: readonly string[];
}

const byKey = new Map<string, WeakRef<InternedNames>>();
const registry = new FinalizationRegistry<string>((key) => {
  const ref = byKey.get(key);
  if (ref && ref.deref() === undefined) byKey.delete(key);
});

export const NO_NAMES: InternedNames = Object.freeze({ key: '', set: new Set<string>(), sorted: [] });

export function internNames(names: Iterable<string>): InternedNames {
  const sorted = [...new Set(names)].sort();
  if (sorted.length === 0) return NO_NAMES;
  const key = sorted.join('\u0000');
  const existing = byKey.get(key)?.deref();
  if (existing) return existing;
  const interned: InternedNames = Object.freeze({ key, set: new Set(sorted), sorted });
  byKey.set(key, new WeakRef(interned));
  registry.register(interned, key);
  return interned;
}
