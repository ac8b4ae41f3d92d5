// "Did you mean" suggestions: a misspelled reference or field is the most common rule error, and
// naming the intended spelling is what makes the error actionable.
import { compareStrings } from './errors.js';

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * Candidates close to `name`, best first (at most `max`). Close means: equal ignoring case, or
 * within an edit distance of a third of the longer name (at least 1, at most 3).
 */
export function closest(name: string, candidates: Iterable<string>, max = 3): string[] {
  const lower = name.toLowerCase();
  const scored: { c: string; d: number }[] = [];
  for (const c of new Set(candidates)) {
    if (c === name) continue;
    const d = c.toLowerCase() === lower ? 0 : editDistance(lower, c.toLowerCase());
    const limit = Math.min(3, Math.max(1, Math.floor(Math.max(name.length, c.length) / 3)));
    if (d <= limit) scored.push({ c, d });
  }
  scored.sort((x, y) => x.d - y.d || compareStrings(x.c, y.c));
  return scored.slice(0, max).map((s) => s.c);
}

/** "a, b, c" (sorted), cut after `max` names so hints stay one line. */
export function listNames(names: Iterable<string>, max = 8): string {
  const all = [...new Set(names)].sort(compareStrings);
  return all.length > max ? `${all.slice(0, max).join(', ')}, ... (${all.length - max} more)` : all.join(', ');
}

/** Hint for a reference to a missing rule of `kind`. */
export function missingReferenceHint(kind: string, name: string, known: Iterable<string>): string {
  const names = [...known];
  const near = closest(name, names);
  const define = `define ${/^[AEIOU]/.test(kind) ? 'an' : 'a'} ${kind} named "${name}"`;
  if (near.length > 0) return `${define} or use one of: ${near.join(', ')}`;
  if (names.length > 0) return `${define} (defined: ${listNames(names)})`;
  return define;
}

/** Hint for a field name the kind does not define. */
export function unknownFieldHint(field: string, allowed: readonly string[]): string {
  const near = closest(field, allowed, 1);
  if (near.length > 0) return `did you mean "${near[0]}"?`;
  return allowed.length > 0 ? `remove it; allowed fields here: ${listNames(allowed, 20)}` : 'remove it';
}
