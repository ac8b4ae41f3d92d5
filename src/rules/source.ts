// The parsed-but-unvalidated form every source (YAML, JSON, JS/TS module) produces. Validation
// only ever sees SourceDocuments, so it is the same for every file format and for in-memory input.
import type { RuleError } from './errors.js';
import type { SourceLocation } from './model.js';

/** Where one node of a document is: its value, and its key when it is a mapping entry. */
export interface NodeLoc {
  readonly value: SourceLocation;
  readonly key?: SourceLocation;
  /** The value is a mapping or sequence (then the key is the better place to point at). */
  readonly collection: boolean;
  /** A plain (unquoted) scalar exactly as written, e.g. "1.10" for a value parsed as 1.1. */
  readonly raw?: string;
}

export interface SourceDocument {
  /** Path relative to the rules directory, forward slashes. */
  readonly file: string;
  /** Where the document (or module export) starts. */
  readonly loc: SourceLocation;
  /** Plain data: objects, arrays, strings, numbers, booleans, null. */
  readonly value: unknown;
  /** Node locations by dotted path relative to the document ("" is the root). Absent for module rules. */
  readonly locs?: ReadonlyMap<string, NodeLoc>;
  /** Returned by a JS/TS rule module: the published experiment shape may omit `kind`. */
  readonly fromModule?: boolean;
  /**
   * The document had a syntax error (already reported). It only lends its kind and name to
   * reference checks, so one typo does not also flag every reference to the rules it defines.
   */
  readonly broken?: boolean;
}

export interface SourceResult {
  readonly docs: SourceDocument[];
  readonly errors: RuleError[];
}

export type Path = readonly (string | number)[];

export function pathKey(path: Path): string {
  return path.join('.');
}

/** Dotted path for messages: "endpoints.0.port"; the root is "(document)". */
export function showPath(path: Path): string {
  return path.length === 0 ? '(document)' : pathKey(path);
}

/**
 * The best location for `path`: the node itself, else its nearest located ancestor, else the
 * document start. `want: 'key'` points at a mapping key (unknown fields), `'field'` at the value
 * for scalars and at the key for collections (what fieldLocs holds).
 */
export function locate(doc: SourceDocument, path: Path, want: 'key' | 'field' = 'field'): SourceLocation {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.locs?.get(pathKey(path.slice(0, n)));
    if (!node) continue;
    if (n < path.length) return node.value;
    if (want === 'key') return node.key ?? node.value;
    return fieldLocation(node);
  }
  return doc.loc;
}

export function fieldLocation(node: NodeLoc): SourceLocation {
  return node.collection && node.key ? node.key : node.value;
}

/** fieldLocs for a rule: every located path except the root. */
export function fieldLocsOf(doc: SourceDocument): Record<string, SourceLocation> {
  const out: Record<string, SourceLocation> = {};
  for (const [path, node] of doc.locs ?? []) if (path !== '') out[path] = fieldLocation(node);
  return out;
}

/** 1-based line/column of a character offset. */
export function offsetToLocation(file: string, text: string, offset: number): SourceLocation {
  let line = 1;
  let start = 0;
  const end = Math.max(0, Math.min(offset, text.length));
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { file, line, column: end - start + 1 };
}

/** Text of a file without a UTF-8 byte order mark (editors on some platforms add one). */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
