// Rules -> a publishable snapshot: compile, check every resource the way proxies would, and add
// the resolver table as its own resource type. Shared by the server's pipeline and
// `switchyard plan`, so what plan shows is exactly what the server would publish.
import type { RuleSet } from '../rules/model.js';
import { compile } from '../compile/compile.js';
import { CompileCache } from '../compile/cache.js';
import { compareStrings } from '../compile/order.js';
import type { CompileOptions, ResolverModel, ResolverObjective, ResolverTable } from '../compile/types.js';
import { createSnapshot, type Snapshot } from '../snapshot/snapshot.js';
import { EncodeCache } from '../snapshot/encode-cache.js';
import { TypeUrl } from '../proto/type-urls.js';
import { resolverTableToMessage } from '../resolver/table-message.js';
import { ValidationMemo, withValidationMemo } from '../validate/memo.js';
import { validationIssues } from './validation.js';
import { issuesFromError, type PipelineIssue } from './issues.js';

/** Caches that let a rebuild reuse the work of the previous one (incremental reloads). */
export interface BuildCaches {
  readonly compile: CompileCache;
  readonly validation: ValidationMemo;
  readonly encode: EncodeCache;
  readonly table: ResolverTableMessages;
}

export function newBuildCaches(): BuildCaches {
  return { compile: new CompileCache(), validation: new ValidationMemo(), encode: new EncodeCache(), table: new ResolverTableMessages() };
}

export type Candidate =
  | { readonly ok: true; readonly snapshot: Snapshot; readonly table: ResolverTable }
  | { readonly ok: false; readonly issues: PipelineIssue[] };

export function buildCandidate(ruleSet: RuleSet, options?: CompileOptions, caches?: BuildCaches): Candidate {
  let compiled;
  try {
    compiled = compile(ruleSet, options, caches?.compile);
  } catch (err) {
    return { ok: false, issues: issuesFromError('compile', err) };
  }
  // Nothing a proxy would reject is ever published (Envoy PGV rules, proxyless limits).
  const invalid = caches ? withValidationMemo(caches.validation, () => validationIssues(compiled)) : validationIssues(compiled);
  if (invalid.length > 0) return { ok: false, issues: invalid };
  try {
    // The resolver table travels as its own resource type over the same ADS stream.
    const tableMessage = caches ? caches.table.message(compiled.resolverTable) : resolverTableToMessage(compiled.resolverTable);
    const snapshot = createSnapshot({ ...compiled.resources, [TypeUrl.ResolverTable]: [tableMessage] }, caches ? { cache: caches.encode } : {});
    return { ok: true, snapshot, table: compiled.resolverTable };
  } catch (err) {
    return { ok: false, issues: issuesFromError('snapshot', err) };
  }
}

/**
 * resolverTableToMessage(table), with the message of each objective and model reused while the
 * compiler returns the same ResolverObjective / ResolverModel object (CompileCache does for rules
 * that did not change), so the snapshot's encode cache reuses their bytes too. The pieces come from
 * resolverTableToMessage itself, applied to one-entry tables; the result equals its output
 * (test/app/reload-incremental.test.ts), and if its top-level shape ever changes this falls back
 * to calling it on the whole table.
 */
export class ResolverTableMessages {
  private readonly objectives = new WeakMap<ResolverObjective, object>();
  private readonly models = new WeakMap<ResolverModel, object>();
  /** The lists built from the last records (CompileCache hands back the same record while nothing in it changed). */
  private readonly lists = new WeakMap<object, object[]>();
  private readonly shapeKnown = sameKeys(resolverTableToMessage({ objectives: {}, models: {}, clients: {} }), ['name', 'objectives', 'models', 'clients']);

  message(table: ResolverTable): object {
    if (!this.shapeKnown) return resolverTableToMessage(table);
    // name and clients (a few, rebuilt every time) from the real thing; objectives and models per entry.
    const out = resolverTableToMessage({ objectives: {}, models: {}, clients: table.clients }) as Record<string, unknown>;
    out.objectives = this.list(table.objectives, this.objectives, (k, o) => (resolverTableToMessage({ objectives: { [k]: o }, models: {}, clients: {} }) as { objectives: object[] }).objectives[0]!);
    out.models = this.list(table.models, this.models, (k, m) => (resolverTableToMessage({ objectives: {}, models: { [k]: m }, clients: {} }) as { models: object[] }).models[0]!);
    return out;
  }

  private list<T extends object>(record: Readonly<Record<string, T>>, memo: WeakMap<T, object>, build: (key: string, value: T) => object): object[] {
    let list = this.lists.get(record);
    if (!list) {
      list = sortedKeys(record).map((k) => {
        const v = record[k]!;
        let m = memo.get(v);
        if (!m) {
          m = build(k, v);
          memo.set(v, m);
        }
        return m;
      });
      this.lists.set(record, list);
    }
    return list;
  }
}

function sortedKeys(o: object): string[] {
  return Object.keys(o).sort(compareStrings);
}

function sameKeys(o: object, keys: readonly string[]): boolean {
  const own = Object.keys(o);
  return own.length === keys.length && keys.every((k, i) => own[i] === k);
}
