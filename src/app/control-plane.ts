// What is live and why: rules offer snapshots, operators pin (roll back) and resume. Every offered
// snapshot is saved to the store (history), published unless a pin holds the fleet on a known good
// version, and the store remembers live and pinned across restarts.
import type { Logger } from 'pino';
import type { Snapshot } from '../snapshot/snapshot.js';
import type { SnapshotEntry, SnapshotStore, RetentionPolicy } from '../snapshot/store.js';
import type { RuleFile } from '../rules/model.js';
import type { PipelineIssue } from './issues.js';

export interface Publisher {
  publish(snapshot: Snapshot): void;
  /** Everyone at once, no waves (rollbacks, shift aborts). Publishers without waves omit it. */
  publishUrgent?(snapshot: Snapshot): void;
}

export type OfferOutcome = 'published' | 'unchanged' | 'held';

export interface ControlPlaneOptions {
  publisher: Publisher;
  store: SnapshotStore;
  logger: Logger;
  retention?: Partial<RetentionPolicy>;
  /**
   * The publisher rolls changes out in waves (RolloutProvider): the stored live version moves when
   * the fleet took the version (confirmLive), not at publish, and goes back when it did not
   * (revertLive), so a restart mid-rollout restores the last good version.
   */
  deferLive?: boolean;
}

export class ControlPlane {
  private live: Snapshot | undefined;
  private pinned: string | undefined;
  /** The newest snapshot the rules produced (published, or held back by a pin). */
  private newestFromRules: Snapshot | undefined;
  private serial: Promise<unknown> = Promise.resolve();
  /** A version the fleet refused (rollout halted or aborted): re-offering it is held, not made live. */
  private refused: string | undefined;

  constructor(private readonly options: ControlPlaneOptions) {}

  get liveSnapshot(): Snapshot | undefined {
    return this.live;
  }

  get pinnedVersion(): string | undefined {
    return this.pinned;
  }

  get store(): SnapshotStore {
    return this.options.store;
  }

  /** At start: serve the pinned, live or newest stored snapshot before any rule is read. */
  restore(): Promise<Snapshot | undefined> {
    return this.exclusive(async () => {
      const startup = await this.options.store.loadStartup();
      const { problems } = await this.options.store.list();
      for (const p of problems) this.options.logger.error({ event: 'snapshot_file_skipped', ...p }, 'corrupt snapshot file skipped; it is never served');
      this.pinned = await this.options.store.pinnedVersion();
      if (!startup) return undefined;
      this.live = startup.snapshot;
      this.options.publisher.publish(startup.snapshot);
      this.options.logger.info({ event: 'snapshot_restored', version: startup.snapshot.version, seq: startup.entry.seq, reason: startup.reason, pinned: this.pinned ?? null }, 'serving the stored snapshot');
      return startup.snapshot;
    });
  }

  /** A valid snapshot compiled from the rules. */
  offer(snapshot: Snapshot, files: readonly RuleFile[], opts: { urgent?: boolean } = {}): Promise<OfferOutcome> {
    return this.exclusive(async () => {
      this.newestFromRules = snapshot;
      const { entry, created } = await this.options.store.save(snapshot, { source: 'rules', files });
      if (this.pinned) {
        this.options.logger.warn({ event: 'snapshot_held', version: snapshot.version, seq: entry.seq, pinned: this.pinned }, 'rules changed while pinned: recorded, not published until resume');
        return 'held';
      }
      if (this.live?.version === snapshot.version) return 'unchanged';
      if (this.refused === snapshot.version && !opts.urgent) {
        this.options.logger.warn({ event: 'snapshot_held', version: snapshot.version, reason: 'the fleet refused this version' }, 'rules compiled to the version whose rollout halted or was aborted: not published again');
        return 'held';
      }
      await this.makeLive(snapshot, entry, created, opts.urgent ?? false);
      return 'published';
    });
  }

  /** A rejected change set: recorded with its errors; the live snapshot keeps serving. */
  reject(issues: readonly PipelineIssue[], files: readonly RuleFile[]): Promise<void> {
    return this.exclusive(async () => {
      await this.options.store.recordRejection({ errors: issues, files, liveVersion: this.live?.version });
    });
  }

  /** Puts the fleet on a stored version at once and pins it: rule changes are held until resume. */
  rollback(version: string): Promise<SnapshotEntry> {
    return this.exclusive(async () => {
      const { snapshot, entry } = await this.options.store.loadEntry(version);
      const pinnedEntry = await this.options.store.pin(entry.version);
      this.pinned = pinnedEntry.version;
      const from = this.live?.version ?? null;
      await this.makeLive(snapshot, entry, false, true);
      this.options.logger.warn({ event: 'rollback', from, to: snapshot.version, seq: entry.seq }, 'rolled back and pinned');
      return pinnedEntry;
    });
  }

  /** Unpins and publishes the newest snapshot the rules produced (if any differs from live). */
  resume(): Promise<Snapshot | undefined> {
    return this.exclusive(async () => {
      const was = this.pinned;
      await this.options.store.unpin();
      this.pinned = undefined;
      const next = this.newestFromRules;
      this.options.logger.info({ event: 'resume', unpinned: was ?? null, next: next?.version ?? null }, 'resumed publishing from rules');
      if (next && next.version !== this.live?.version) {
        const { entry, created } = await this.options.store.save(next, { source: 'rules' });
        await this.makeLive(next, entry, created);
      }
      return this.live;
    });
  }

  /** The fleet took `version` (rollout completed or forced): it is the stored live version now. */
  confirmLive(version: string): Promise<void> {
    return this.exclusive(async () => {
      if (this.live?.version !== version) this.live = this.newestFromRules?.version === version ? this.newestFromRules : (await this.options.store.loadEntry(version)).snapshot;
      if (this.refused === version) this.refused = undefined;
      await this.options.store.setLive(version);
    });
  }

  /** The fleet went back to `version` (rollout halted or aborted); `refused` is not published again by offer(). */
  revertLive(version: string, reason: string, refused: string): Promise<void> {
    return this.exclusive(async () => {
      if (this.live?.version !== version) this.live = (await this.options.store.loadEntry(version)).snapshot;
      this.refused = refused;
      await this.options.store.setLive(version);
      this.options.logger.warn({ event: 'live_reverted', live: version, refused, reason }, 'the fleet is back on the last good version');
    });
  }

  private async makeLive(snapshot: Snapshot, entry: SnapshotEntry, created: boolean, urgent = false): Promise<void> {
    this.live = snapshot;
    this.refused = undefined;
    const publisher = this.options.publisher;
    if (urgent && publisher.publishUrgent) publisher.publishUrgent(snapshot);
    else publisher.publish(snapshot);
    // With waves, the stored live version moves when the fleet took it (confirmLive).
    if (urgent || !this.options.deferLive) await this.options.store.setLive(snapshot.version);
    if (created) {
      const pruned = await this.options.store.prune(this.options.retention);
      if (pruned.deleted.length > 0) this.options.logger.info({ event: 'snapshots_pruned', deleted: pruned.deleted.map((e) => e.version) }, 'pruned old snapshots');
    }
  }

  /** Resolves when every operation called so far has finished (tests, shutdown). */
  idle(): Promise<void> {
    return this.serial.then(() => undefined);
  }

  /** Operations run one at a time, in call order. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.serial.then(fn, fn);
    this.serial = run.catch(() => undefined);
    return run;
  }
}
