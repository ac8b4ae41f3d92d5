// Regular expressions for PGV `pattern` rules and for the RE2 check of proxyless regex matchers.
// Envoy compiles both with RE2. @grpc/grpc-js-xds compiles route regexes with re2-wasm (a
// dependency of the pinned package, resolved from there), anchored as `^(...)$` with the 'u' flag,
// so re2-wasm is the reference engine here: a pattern it accepts is accepted by both peers. When
// re2-wasm cannot be loaded, JS RegExp is the fallback (RE2 syntax is mostly compatible); patterns
// it cannot compile are skipped and counted (see regexStats()).
import { createRequire } from 'node:module';

/** The part of a compiled regex the validator uses. */
export interface Matcher {
  test(input: string): boolean;
}

interface Re2Ctor {
  new (pattern: string, flags?: string): Matcher;
}

export type RegexEngine = 're2-wasm' | 'js';

let re2: Re2Ctor | null | undefined;

function loadRe2(): Re2Ctor | null {
  if (re2 !== undefined) return re2;
  try {
    const require = createRequire(import.meta.url);
    const fromXds = createRequire(require.resolve('@grpc/grpc-js-xds/package.json'));
    re2 = (fromXds('re2-wasm') as { RE2: Re2Ctor }).RE2;
  } catch {
    re2 = null;
  }
  return re2;
}

/** Which engine compiles patterns in this process. */
export function regexEngine(): RegexEngine {
  return loadRe2() ? 're2-wasm' : 'js';
}

const skipped = new Set<string>();

/** Patterns that could not be compiled and were skipped (only with the JS fallback engine). */
export function regexStats(): { engine: RegexEngine; skippedPatterns: string[] } {
  return { engine: regexEngine(), skippedPatterns: [...skipped].sort() };
}

const patternCache = new Map<string, Matcher | null>();

/**
 * A matcher for a PGV `pattern` rule (unanchored search, as PGV does), or null when the pattern
 * cannot be compiled (skipped and counted). Compiled once per pattern.
 */
export function pgvPattern(pattern: string): Matcher | null {
  const cached = patternCache.get(pattern);
  if (cached !== undefined) return cached;
  let m: Matcher | null = null;
  const RE2 = loadRe2();
  try {
    m = RE2 ? new RE2(pattern, 'u') : jsRegExp(pattern);
  } catch {
    m = null;
  }
  if (!m) skipped.add(pattern);
  patternCache.set(pattern, m);
  return m;
}

function jsRegExp(pattern: string): RegExp {
  try {
    return new RegExp(pattern, 'u');
  } catch {
    return new RegExp(pattern);
  }
}

// RE2 has no backreferences, lookaround, atomic groups or possessive quantifiers. Used only when
// re2-wasm is unavailable, to approximate "RE2 accepts this".
const NON_RE2 = /\\[1-9]|\\k<|\(\?[=!]|\(\?<[=!]|\(\?>|[*+?}]\+/;

const re2Cache = new Map<string, string | null>();
const RE2_CACHE_LIMIT = 10_000;

/**
 * Why `regex` is not usable by RE2 as a full-match route matcher (null when it is). This is the
 * check grpc-js-xds applies (`new RE2(`^${regex}$`, 'u')`) and Envoy applies (RE2 compile).
 */
export function re2Problem(regex: string): string | null {
  const cached = re2Cache.get(regex);
  if (cached !== undefined) return cached;
  let problem: string | null = null;
  const RE2 = loadRe2();
  if (RE2) {
    try {
      new RE2(`^${regex}$`, 'u');
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err);
    }
  } else if (NON_RE2.test(regex)) {
    problem = 'uses a construct RE2 does not support (backreference, lookaround, atomic group or possessive quantifier)';
  } else {
    try {
      new RegExp(`^(?:${regex})$`, 'u');
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err);
    }
  }
  if (re2Cache.size >= RE2_CACHE_LIMIT) re2Cache.clear();
  re2Cache.set(regex, problem);
  return problem;
}
