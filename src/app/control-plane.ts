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
}

export type OfferOutcome = 'published' | 'unchanged' | 'held';

export interface ControlPlaneOptions {
  publisher: Publisher;
  store: SnapshotStore;
  logger: Logger;
  retention?: Partial<RetentionPolicy>;
}

export class ControlPlane {
  private live: Snapshot | undefined;
  private pinned: string | undefined;
  /** The newest snapshot the rules produced (published, or held back by a pin). */
  private newestFromRules: Snapshot | undefined;
  private serial: Promise<unknown> = Promise.resolve();

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
  offer(snapshot: Snapshot, files: readonly RuleFile[]): Promise<OfferOutcome> {
    return this.exclusive(async () => {
      this.newestFromRules = snapshot;
      const { entry, created } = await this.options.store.save(snapshot, { source: 'rules', files });
      if (this.pinned) {
        this.options.logger.warn({ event: 'snapshot_held', version: snapshot.version, seq: entry.seq, pinned: this.pinned }, 'rules changed while pinned: recorded, not published until resume');
        return 'held';
      }
      if (this.live?.version === snapshot.version) return 'unchanged';
      await this.makeLive(snapshot, entry, created);
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
      await this.makeLive(snapshot, entry, false);
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

  private async makeLive(snapshot: Snapshot, entry: SnapshotEntry, created: boolean): Promise<void> {
    this.live = snapshot;
    this.options.publisher.publish(snapshot);
    await this.options.store.setLive(snapshot.version);
    if (created) {
      const pruned = await this.options.store.prune(this.options.retention);
      if (pruned.deleted.length > 0) this.options.logger.info({ event: 'snapshots_pruned', deleted: pruned.deleted.map((e) => e.version) }, 'pruned old snapshots');
    }
  }

  /** Operations run one at a time, in call order. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.serial.then(fn, fn);
    this.serial = run.catch(() => undefined);
    return run;
  }
}
