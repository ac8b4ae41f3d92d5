// Turns zod issues into RuleErrors that point at the YAML node and say what to do.
import type { z } from 'zod';
import { ruleError, type RuleError } from './errors.js';
import { allowedFields } from './schema.js';
import { closest, listNames, unknownFieldHint } from './suggest.js';
import { locate, pathKey, showPath, type Path, type SourceDocument } from './source.js';

type Issue = z.core.$ZodIssue;

export interface IssueContext {
  readonly doc: SourceDocument;
  /** The value that was parsed (may differ from doc.value when kind was inferred). */
  readonly value: unknown;
  readonly schema: z.ZodType;
  /** How messages name the rule: `Model "cw-ranker-v1"`. */
  readonly subject: string;
}

export function schemaErrors(ctx: IssueContext, issues: readonly Issue[]): RuleError[] {
  return issues.flatMap((i) => mapIssue(ctx, i, []));
}

function mapIssue(ctx: IssueContext, issue: Issue, base: Path): RuleError[] {
  const path: Path = [...base, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))];
  const { doc, subject } = ctx;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedFields(ctx.schema, path);
      return issue.keys.map((k) =>
        ruleError(
          'RULE_UNKNOWN_FIELD',
          locate(doc, [...path, k], 'key'),
          `${subject} has unknown field "${showPath([...path, k])}"`,
          unknownFieldHint(k, allowed),
        ),
      );
    }
    case 'invalid_type':
      return [typeError(ctx, path, [issue.expected])];
    case 'invalid_union': {
      // Pick the branch the author evidently meant (the one whose type matched), else say which types fit.
      const fits = issue.errors.filter((branch) => !branch.some((i) => i.code === 'invalid_type' && i.path.length === 0));
      if (fits.length === 1) return fits[0]!.flatMap((i) => mapIssue(ctx, i, path));
      const expected = issue.errors.flatMap((b) => b.flatMap((i) => (i.code === 'invalid_type' && i.path.length === 0 ? [i.expected] : [])));
      return [typeError(ctx, path, expected)];
    }
    case 'invalid_value': {
      const allowed = issue.values.map(String);
      const got = valueAt(ctx.value, path);
      const near = typeof got === 'string' ? closest(got, allowed, 1) : [];
      return [
        ruleError(
          'RULE_BAD_VALUE',
          locate(doc, path),
          `${subject} field "${showPath(path)}" is ${describe(got)}, not one of ${listNames(allowed, 20)}`,
          near.length > 0 ? `did you mean "${near[0]}"?` : `use one of: ${listNames(allowed, 20)}`,
        ),
      ];
    }
    case 'too_small':
      if (issue.origin === 'array') {
        const n = Number(issue.minimum);
        return [
          ruleError(
            'RULE_BAD_VALUE',
            locate(doc, path),
            `${subject} field "${showPath(path)}" must list at least ${n} item${n === 1 ? '' : 's'}`,
            `add ${n === 1 ? 'an item' : 'items'} to "${showPath(path)}"`,
          ),
        ];
      }
      return [ruleError('RULE_BAD_VALUE', locate(doc, path), `${subject} field "${showPath(path)}": ${issue.message}`)];
    default:
      return [ruleError('RULE_BAD_VALUE', locate(doc, path), `${subject} field "${showPath(path)}": ${issue.message}`)];
  }
}

function typeError(ctx: IssueContext, path: Path, expected: readonly string[]): RuleError {
  const got = valueAt(ctx.value, path);
  const field = showPath(path);
  const want = [...new Set(expected.map(typeWord))].join(' or ');
  if (got === undefined) {
    const parent = path.slice(0, -1);
    return ruleError(
      'RULE_MISSING_FIELD',
      locate(ctx.doc, parent),
      `${ctx.subject} is missing required field "${field}"`,
      `add the field "${String(path[path.length - 1])}" (${want})`,
    );
  }
  return ruleError(
    'RULE_WRONG_TYPE',
    locate(ctx.doc, path),
    `${ctx.subject} field "${field}" must be ${want}, not ${describe(got)}`,
    typeHint(expected, got, ctx.doc.locs?.get(pathKey(path))?.raw),
  );
}

function typeWord(expected: string): string {
  switch (expected) {
    case 'string':
      return 'a string';
    case 'int':
      return 'a whole number';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object':
    case 'record':
      return 'a mapping';
    default:
      return expected;
  }
}

/** `raw` is the YAML text of the value when it was a plain scalar ("1.10" for 1.1). */
function typeHint(expected: readonly string[], got: unknown, raw: string | undefined): string | undefined {
  if (expected.includes('string') && (typeof got === 'number' || typeof got === 'boolean')) {
    return `quote the value so it stays a string: "${raw ?? String(got)}"`;
  }
  if ((expected.includes('int') || expected.includes('number')) && typeof got === 'string' && got.trim() !== '' && Number.isFinite(Number(got))) {
    return `write the number without quotes: ${got.trim()}`;
  }
  if (expected.includes('int') && typeof got === 'number') return 'use a whole number';
  if (expected.includes('boolean') && typeof got === 'string') return 'write true or false without quotes';
  return undefined;
}

/** How a value is shown in messages. */
export function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `"${v.length > 60 ? `${v.slice(0, 57)}...` : v}"`;
  return String(v);
}

export function valueAt(root: unknown, path: Path): unknown {
  let cur = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}
