// Deterministic ordering helpers. Rule maps carry no meaningful order, so everything the compiler
// emits is sorted by a locale-independent code-unit comparison (never localeCompare, whose result
// depends on the ICU data of the running Node).

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The values of a name-keyed map, sorted by key. */
export function sortedValues<T>(map: ReadonlyMap<string, T>): T[] {
  return [...map.keys()].sort(compareStrings).map((k) => map.get(k) as T);
}

/** A deep copy of a JSON-like value with the keys of every plain object sorted. Arrays keep their order. */
export function canonicalize(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(canonicalize);
  if (!isPlainObject(value)) return value;
  const src = value as Record<string, unknown>;
  const keys = Object.keys(src).sort(compareStrings);
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    // A "__proto__" key must stay data, not replace the prototype.
    if (k === '__proto__') Object.defineProperty(out, k, { value: canonicalize(src[k]), enumerable: true, writable: true, configurable: true });
    else out[k] = canonicalize(src[k]);
  }
  return out;
}

/** A record with keys inserted in sorted order (stable JSON output). */
export function sortedRecord<T>(entries: Iterable<readonly [string, T]>): Record<string, T> {
  const list = [...entries];
  // Callers usually pass entries already in key order; checking is cheaper than sorting.
  for (let i = 1; i < list.length; i++) {
    if (list[i - 1]![0] > list[i]![0]) {
      list.sort((x, y) => compareStrings(x[0], y[0]));
      break;
    }
  }
  return Object.fromEntries(list);
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
