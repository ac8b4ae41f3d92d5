// The admin API's JSON shapes: what the server sends and the CLI reads. Versions are the
// content-derived snapshot versions; times are ISO 8601; type keys are short names (CDS, EDS, LDS,
// RDS, RESOLVER) next to full type URLs.
import type { ChangedFiles, RejectionRecord, StoreProblemCode } from '../snapshot/store.js';

/** Every error body: a stable catalog code, what happened, how to fix it. */
export interface ApiError {
  readonly code: string;
  readonly message: string;
  readonly hint: string;
}

export interface SnapshotEntryView {
  readonly seq: number;
  readonly version: string;
  readonly createdAt: string;
  readonly source: string;
  /** Short type name -> type version. */
  readonly typeVersions: Readonly<Record<string, string>>;
  readonly resourceCount: number;
  readonly sizeBytes: number;
  readonly file: string;
  readonly filesDigest: string | null;
  readonly changedFiles: ChangedFiles | null;
  readonly live: boolean;
  readonly pinned: boolean;
}

export interface StoreProblemView {
  readonly code: StoreProblemCode;
  readonly file: string;
  readonly message: string;
}

export interface SnapshotListView {
  readonly live: string | null;
  readonly pinned: string | null;
  /** The newest version the rules compiled to (differs from live while pinned). */
  readonly newestFromRules: string | null;
  /** Newest first. */
  readonly snapshots: SnapshotEntryView[];
  /** Damaged files in the store: skipped, never served. */
  readonly problems: StoreProblemView[];
}

export interface ResourceView {
  readonly name: string;
  /** Content digest of the encoded resource. */
  readonly version: string;
  readonly sizeBytes: number;
  /** Decoded to JSON (proto field names, Any expanded with "@type"); absent with ?raw=1. */
  readonly resource?: unknown;
  /** Base64 of the encoded message; only with ?raw=1. */
  readonly bytes?: string;
  readonly decodeError?: string;
}

export interface TypeView {
  readonly typeUrl: string;
  readonly type: string;
  readonly version: string;
  readonly resources: ResourceView[];
}

export interface SnapshotDetailView extends SnapshotEntryView {
  readonly raw: boolean;
  readonly types: TypeView[];
}

export type FieldChangeKind = 'changed' | 'added' | 'removed' | 'reordered';

export interface FieldChange {
  /** JSON path; array elements with a unique name are addressed as [name=...]. */
  readonly path: string;
  readonly kind: FieldChangeKind;
  readonly old?: unknown;
  readonly new?: unknown;
}

export interface ResourceChange {
  readonly name: string;
  readonly fromVersion: string;
  readonly toVersion: string;
  readonly changes: FieldChange[];
  /** More field changes existed than were listed. */
  readonly truncated: boolean;
}

export interface TypeDiff {
  readonly typeUrl: string;
  readonly type: string;
  readonly fromVersion: string | null;
  readonly toVersion: string | null;
  readonly added: string[];
  readonly removed: string[];
  readonly changed: ResourceChange[];
  readonly unchanged: number;
}

export interface SnapshotRef {
  readonly version: string;
  readonly seq: number | null;
  readonly createdAt: string | null;
}

export interface DiffView {
  readonly from: SnapshotRef;
  readonly to: SnapshotRef;
  readonly identical: boolean;
  readonly types: TypeDiff[];
}

export type SyncStatus = 'SYNCED' | 'STALE' | 'NACKED' | 'NOT SENT' | 'NOT SUBSCRIBED';

export interface NackView {
  /** The version the client rejected. */
  readonly version: string;
  readonly message: string;
  readonly at: string;
}

export interface TypeSyncView {
  readonly typeUrl: string;
  readonly type: string;
  readonly status: SyncStatus;
  /** version_info the client last accepted for this type. */
  readonly ackedVersion: string;
  /** The snapshot whose content the client ACKed for this type. */
  readonly ackedSnapshot: string;
  readonly lastSentVersion: string;
  readonly lastSentAt: string | null;
  readonly ackedAt: string | null;
  readonly pendingAck: boolean;
  readonly wildcard: boolean;
  readonly subscribed: number;
  readonly waitingFor: string[];
  readonly lastNack: NackView | null;
}

export type ClientKind = 'envoy' | 'grpc' | 'other';

export interface ProxyView {
  readonly streamId: string;
  readonly nodeId: string;
  readonly cluster: string;
  readonly userAgent: string;
  readonly client: ClientKind;
  readonly protocol: 'sotw' | 'delta';
  readonly peer: string;
  readonly locality: { region?: string; zone?: string; sub_zone?: string } | null;
  readonly connectedSince: string;
  /** The snapshot every subscribed type ACKed; null when the types disagree or none ACKed. */
  readonly version: string | null;
  /**
   * The snapshot the server delivers to this proxy now: the live one, or during a staged rollout
   * the last good one until the proxy's wave opens. Type statuses compare with it.
   */
  readonly target: string | null;
  /** Every expected type SYNCED on the target, nothing in flight, every routed cluster subscribed. */
  readonly converged: boolean;
  readonly types: TypeSyncView[];
}

export interface ProxiesView {
  readonly live: string | null;
  readonly pinned: string | null;
  readonly at: string;
  readonly proxies: ProxyView[];
  /**
   * converged: on the live version; waitingForWave: converged on an older target because their
   * rollout wave has not opened yet.
   */
  readonly summary: { readonly total: number; readonly converged: number; readonly waitingForWave: number; readonly nacked: number };
  /** Present when the request asked to wait (?wait=synced). */
  readonly wait?: { readonly condition: string; readonly met: boolean; readonly waitedMs: number };
}

export interface RuleIssueView {
  readonly stage: string;
  readonly code: string;
  readonly message: string;
  readonly hint: string;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  /** `file:line:column CODE message Hint: hint` */
  readonly formatted: string;
}

export interface RuleErrorsView {
  /** True when the newest change set published (or compiled to the live version). */
  readonly ok: boolean;
  readonly rulesDir: string | null;
  readonly lastReloadAt: string | null;
  readonly reloads: { readonly published: number; readonly unchanged: number; readonly held: number; readonly rejected: number };
  readonly errors: RuleIssueView[];
  /** Newest first. */
  readonly rejections: RejectionRecord[];
}

export interface RollbackView {
  readonly from: string | null;
  readonly live: string;
  readonly pinned: string;
  readonly seq: number;
}

export interface ResumeView {
  readonly unpinned: string | null;
  readonly live: string | null;
  /** The version the rules compiled to last (published by the resume when it differs from live). */
  readonly newestFromRules: string | null;
}

export type ResolverTableSource = 'snapshot' | 'rules' | 'history';

export interface ResolverTableView {
  /** The snapshot version the table belongs to (the live one). */
  readonly version: string;
  /** Where it came from: the snapshot's own ResolverTable resource, the newest rules compile, or an earlier compile of this process. */
  readonly source: ResolverTableSource;
  readonly table: unknown;
}
