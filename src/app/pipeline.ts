// Rules directory -> validated rule set -> compiled resources -> snapshot -> published. A change
// set with any error is rejected whole: the last good snapshot keeps serving, the errors are kept
// for operators, and the next good change publishes normally.
//
// Incremental by default: the rules directory is loaded through a RuleDirCache (files that did not
// change are neither read nor parsed again), and compile, validation and encoding reuse what the
// previous build made of the rules that did not change (CompileCache, ValidationMemo, EncodeCache).
// Every build gives the same snapshot, byte for byte, as a cold build of the same rules.
import type { Logger } from 'pino';
import { loadRuleDir } from '../rules/load.js';
import { RuleDirCache, type ChangeHint, type IncrementalLoad } from '../rules/load-cache.js';
import type { LoadOptions, LoadResult } from '../rules/types.js';
import type { RuleFile, RuleSet } from '../rules/model.js';
import type { CompileOptions, ResolverTable } from '../compile/types.js';
import { buildCandidate, newBuildCaches, type BuildCaches } from './candidate.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import { issuesFromRuleErrors, formatIssue, type PipelineIssue } from './issues.js';

/** Where compiled snapshots go (the ControlPlane): it decides whether they are published. */
export interface PublishTarget {
  offer(snapshot: Snapshot, files: readonly RuleFile[], opts?: { urgent?: boolean }): Promise<'published' | 'unchanged' | 'held'>;
  reject(issues: readonly PipelineIssue[], files: readonly RuleFile[]): Promise<void>;
}

export interface PipelineOptions {
  rulesDir: string;
  target: PublishTarget;
  logger: Logger;
  loadOptions?: LoadOptions;
  compileOptions?: CompileOptions;
  /**
   * Options of each compile that depend on the rule set and on time (the rollout layer: traffic
   * shift steps, model readiness, rollout policy), merged over `compileOptions`. `previous` is the
   * resolver table of the previous compile (undefined on the first).
   */
  compileOptionsFor?: (ruleSet: RuleSet, previous: ResolverTable | undefined) => Promise<CompileOptions>;
  /**
   * Reuse parses, compiled pieces, validation results and encodings between reloads (default
   * true). false: every reload reads, parses, compiles and encodes everything (loadRuleDir).
   */
  incremental?: boolean;
}

/** What a change set says changed (the watcher's ChangeSet fits): paths relative to the rules directory. */
export type ReloadHint = ChangeHint;

export interface ReloadOptions {
  /** Publish the result to every proxy at once, skipping the rollout's waves (a traffic shift abort). */
  urgent?: boolean;
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
  /** Paths hinted by the calls waiting in `queued`; 'full' when one of them gave no hint. */
  private queuedHint: Set<string> | 'full' | undefined;
  /** One of the calls waiting in `queued` asked for an urgent publish. */
  private queuedUrgent = false;
  private readonly caches:
    | (BuildCaches & { readonly rules: RuleDirCache })
    | undefined;

  constructor(private readonly options: PipelineOptions) {
    this.caches =
      options.incremental === false
        ? undefined
        : {
            rules: new RuleDirCache(options.rulesDir, options.loadOptions),
            ...newBuildCaches(),
          };
  }

  /**
   * Reloads the rules. Calls made while a reload runs coalesce into one more reload after it, so
   * a burst of triggers never builds stale versions in parallel.
   *
   * `hint` (the watcher's change set) names the files that changed: only those are read again.
   * A hint is trusted for speed, not for correctness: after a hinted reload has been offered, the
   * whole directory is scanned (stat of every file; files whose stamp changed are read again),
   * and if the scan finds a change the hint missed (a stale or partial change set, an edit inside
   * a symlinked directory the watcher does not follow), the rules are built and offered again at
   * once and the promise resolves with that outcome. So a missed change is never served for
   * longer than one scan, and what stays published always matches the directory as a full
   * reload would read it. Without a hint, the reload is a full scan.
   */
  reload(reason: string, hint?: ReloadHint, opts: ReloadOptions = {}): Promise<ReloadOutcome> {
    if (!this.running) {
      this.running = this.run(reason, hint, opts.urgent ?? false).finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    this.queuedHint = mergeHint(this.queuedHint, hint);
    this.queuedUrgent ||= opts.urgent ?? false;
    this.queued ??= this.running.then(() => {
      const queuedHint = this.queuedHint;
      const urgent = this.queuedUrgent;
      this.queued = undefined;
      this.queuedHint = undefined;
      this.queuedUrgent = false;
      return this.reload(reason, queuedHint === 'full' || queuedHint === undefined ? undefined : { changed: [...queuedHint] }, { urgent });
    });
    return this.queued;
  }

  private async run(reason: string, hint: ReloadHint | undefined, urgent: boolean): Promise<ReloadOutcome> {
    const log = this.options.logger;
    const started = performance.now();
    log.info({ event: 'rules_reload_start', reason, dir: this.options.rulesDir }, 'reading rules');
    const loaded = await this.load(hint);
    const outcome = await this.build(loaded.result, started, urgent);
    if (loaded.mode !== 'hinted' || !this.caches) return outcome;
    // Verify the hint (see reload()): a full scan, reading only files whose stamp changed.
    const verifyStarted = performance.now();
    const verified = await this.caches.rules.load();
    if (!verified.changed) {
      log.debug({ event: 'rules_hint_verified', ms: round(performance.now() - verifyStarted), read: verified.read }, 'change hint verified by a full scan');
      return outcome;
    }
    // A later edit that landed meanwhile (its change set is on its way), or one the watcher did not report.
    log.info({ event: 'rules_hint_missed', reason, read: verified.read, parsed: verified.parsed }, 'the directory changed beyond the change hint; building again from a full scan');
    return this.build(verified.result, verifyStarted, urgent);
  }

  private async load(hint: ReloadHint | undefined): Promise<IncrementalLoad> {
    if (!this.caches) return { result: await loadRuleDir(this.options.rulesDir, this.options.loadOptions), mode: 'scan', read: 0, parsed: 0, changed: true };
    const loaded = await this.caches.rules.load(hint);
    this.options.logger.debug(
      { event: 'rules_loaded', mode: loaded.mode, fallback: loaded.fallback, read: loaded.read, parsed: loaded.parsed, changed: loaded.changed },
      'rules loaded',
    );
    return loaded;
  }

  private async build(loaded: LoadResult, started: number, urgent: boolean): Promise<ReloadOutcome> {
    const log = this.options.logger;
    this.files = loaded.files;
    this.lastReloadAt = new Date();
    if (!loaded.ok) return this.reject(issuesFromRuleErrors(loaded.errors), loaded.files, started);
    let options = this.options.compileOptions;
    if (this.options.compileOptionsFor) options = { ...options, ...(await this.options.compileOptionsFor(loaded.ruleSet, this.resolverTable)) };
    const built = buildCandidate(loaded.ruleSet, options, this.caches);
    if (!built.ok) return this.reject(built.issues, loaded.files, started);
    const { snapshot, table } = built;
    this.issues = [];
    this.resolverTable = table;
    this.lastGood = snapshot;
    const status = await this.options.target.offer(snapshot, loaded.files, urgent ? { urgent } : undefined);
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

function mergeHint(into: Set<string> | 'full' | undefined, hint: ReloadHint | undefined): Set<string> | 'full' {
  if (into === 'full' || hint === undefined) return 'full';
  const out = into ?? new Set<string>();
  for (const p of [...(hint.added ?? []), ...(hint.changed ?? []), ...(hint.removed ?? [])]) out.add(p);
  return out;
}
