// The narrow interface the ADS server depends on (like go-control-plane's cache interface): it
// never sees rules or the compiler, only which snapshot a given node should hold.
import type { SnapshotView, EncodedResource } from '../snapshot/types.js';

export interface NodeInfo {
  readonly id: string;
  readonly cluster: string;
  readonly locality?: { region?: string; zone?: string; sub_zone?: string };
  readonly userAgent: string;
  readonly metadata?: Record<string, unknown>;
}

export interface ServedSnapshot extends SnapshotView {
  resource(typeUrl: string, name: string): EncodedResource | undefined;
}

export interface SnapshotProvider {
  /** The snapshot this node should hold now; undefined until one is published. */
  snapshotFor(node: NodeInfo): ServedSnapshot | undefined;
  /** Called whenever the answer of snapshotFor may have changed for some nodes. Returns unsubscribe. */
  onChange(listener: () => void): () => void;
}

/** The simplest provider: one snapshot for every node, replaced by publish(). */
export class SingleSnapshotProvider implements SnapshotProvider {
  private current: ServedSnapshot | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(initial?: ServedSnapshot) {
    this.current = initial;
  }

  snapshotFor(): ServedSnapshot | undefined {
    return this.current;
  }

  get snapshot(): ServedSnapshot | undefined {
    return this.current;
  }

  publish(snapshot: ServedSnapshot): void {
    if (this.current?.version === snapshot.version) return;
    this.current = snapshot;
    for (const l of this.listeners) l();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
