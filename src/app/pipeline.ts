// Rules directory -> validated rule set -> compiled resources -> snapshot -> published. A change
// set with any error is rejected whole: the last good snapshot keeps serving, the errors are kept
// for operators, and the next good change publishes normally.
import type { Logger } from 'pino';
import { loadRuleDir } from '../rules/load.js';
import type { LoadOptions } from '../rules/types.js';
import type { RuleFile } from '../rules/model.js';
import { compile } from '../compile/compile.js';
import type { CompileOptions, ResolverTable } from '../compile/types.js';
import { createSnapshot, type Snapshot } from '../snapshot/snapshot.js';
import { TypeUrl } from '../proto/type-urls.js';
import { resolverTableToMessage } from '../resolver/table-message.js';
import { validationIssues } from './validation.js';
import { issuesFromError, issuesFromRuleErrors, formatIssue, type PipelineIssue } from './issues.js';

/** Where compiled snapshots go (the ControlPlane): it decides whether they are published. */
export interface PublishTarget {
  offer(snapshot: Snapshot, files: readonly RuleFile[]): Promise<'published' | 'unchanged' | 'held'>;
  reject(issues: readonly PipelineIssue[], files: readonly RuleFile[]): Promise<void>;
}

export interface PipelineOptions {
  rulesDir: string;
  target: PublishTarget;
  logger: Logger;
  loadOptions?: LoadOptions;
  compileOptions?: CompileOptions;
}

export type ReloadOutcome =
  | { readonly status: 'published'; readonly snapshot: Snapshot; readonly buildMs: number }
  | { readonly status: 'unchanged'; readonly snapshot: Snapshot; readonly buildMs: number }
  | { readonly status: 'held'; readonly snapshot: Snapshot; readonly buildMs: number }
  | { readonly status: 'rejected'; readonly issues: readonly PipelineIssue[]; readonly buildMs: number };

export interface PipelineState {
  readonly lastGood: Snapshot | undefined;
  readonly resolverTable: ResolverTable | undefined;
  readonly files: readonly RuleFile[];
  /** Problems of the newest change set; empty when it published. */
  readonly issues: readonly PipelineIssue[];
  readonly lastReloadAt: Date | undefined;
  readonly reloads: { published: number; unchanged: number; held: number; rejected: number };
}

export class RulesPipeline {
  /** The newest snapshot the rules compiled to. */
  private lastGood: Snapshot | undefined;
  private resolverTable: ResolverTable | undefined;
  private files: readonly RuleFile[] = [];
  private issues: readonly PipelineIssue[] = [];
  private lastReloadAt: Date | undefined;
  private readonly counts = { published: 0, unchanged: 0, held: 0, rejected: 0 };
  private running: Promise<ReloadOutcome> | undefined;
  private queued: Promise<ReloadOutcome> | undefined;

  constructor(private readonly options: PipelineOptions) {}

  /**
   * Reloads the whole directory. Calls made while a reload runs coalesce into one more reload
   * after it, so a burst of triggers never builds stale versions in parallel.
   */
  reload(reason: string): Promise<ReloadOutcome> {
    if (!this.running) {
      this.running = this.run(reason).finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    this.queued ??= this.running.then(() => {
      this.queued = undefined;
      return this.reload(reason);
    });
    return this.queued;
  }

  private async run(reason: string): Promise<ReloadOutcome> {
    const log = this.options.logger;
    const started = performance.now();
    log.info({ event: 'rules_reload_start', reason, dir: this.options.rulesDir }, 'reading rules');
    const loaded = await loadRuleDir(this.options.rulesDir, this.options.loadOptions);
    this.files = loaded.files;
    this.lastReloadAt = new Date();
    if (!loaded.ok) return this.reject(issuesFromRuleErrors(loaded.errors), loaded.files, started);
    let snapshot: Snapshot;
    let table: ResolverTable;
    try {
      const compiled = compile(loaded.ruleSet, this.options.compileOptions);
      table = compiled.resolverTable;
      // Nothing a proxy would reject is ever published (Envoy PGV rules, proxyless limits).
      const invalid = validationIssues(compiled);
      if (invalid.length > 0) return this.reject(invalid, loaded.files, started);
      try {
        // The resolver table travels as its own resource type over the same ADS stream.
        snapshot = createSnapshot({ ...compiled.resources, [TypeUrl.ResolverTable]: [resolverTableToMessage(table)] });
      } catch (err) {
        return this.reject(issuesFromError('snapshot', err), loaded.files, started);
      }
    } catch (err) {
      return this.reject(issuesFromError('compile', err), loaded.files, started);
    }
    this.issues = [];
    this.resolverTable = table;
    this.lastGood = snapshot;
    const status = await this.options.target.offer(snapshot, loaded.files);
    const buildMs = performance.now() - started;
    this.counts[status]++;
    const fields = { version: snapshot.version, types: snapshot.typeVersions(), files: loaded.files.length, bytes: snapshot.totalBytes(), buildMs: round(buildMs) };
    if (status === 'published') log.info({ event: 'snapshot_published', ...fields }, 'published a new snapshot');
    else log.info({ event: `rules_${status}`, ...fields }, status === 'held' ? 'rules compiled; held back by a pin' : 'rules compiled to the live version');
    return { status, snapshot, buildMs };
  }

  private async reject(issues: PipelineIssue[], files: readonly RuleFile[], started: number): Promise<ReloadOutcome> {
    this.issues = issues;
    this.counts.rejected++;
    await this.options.target.reject(issues, files);
    const buildMs = performance.now() - started;
    this.options.logger.error(
      { event: 'rules_rejected', errors: issues.length, details: issues.slice(0, 20).map(formatIssue) },
      'rule change rejected; the last good snapshot keeps serving',
    );
    return { status: 'rejected', issues, buildMs };
  }

  state(): PipelineState {
    return {
      lastGood: this.lastGood,
      resolverTable: this.resolverTable,
      files: this.files,
      issues: this.issues,
      lastReloadAt: this.lastReloadAt,
      reloads: { ...this.counts },
    };
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
