// Per-stream status as operators see it (exposed by the admin API in a later layer).
import type { NodeInfo } from './provider.js';
import { shortName } from '../proto/type-urls.js';
import type { TypeState } from './type-state.js';

export interface TypeStatus {
  typeUrl: string;
  type: string;
  wildcard: boolean;
  subscribed: string[];
  lastSentVersion: string;
  lastSentNonce: string;
  lastSentAt: string | null;
  ackedVersion: string;
  ackedAt: string | null;
  /** Snapshot version whose content this stream ACKed for this type. */
  ackedSnapshot: string;
  pendingAck: boolean;
  waitingFor: string[];
  lastNack: { version: string; message: string; at: string } | null;
}

export interface StreamStatus {
  streamId: string;
  protocol: 'sotw' | 'delta';
  peer: string;
  node: NodeInfo;
  connectedSince: string;
  types: TypeStatus[];
}

export function typeStatus(ts: TypeState): TypeStatus {
  return {
    typeUrl: ts.typeUrl,
    type: shortName(ts.typeUrl),
    wildcard: ts.wildcard,
    subscribed: [...ts.names].sort(),
    lastSentVersion: ts.lastSentVersion,
    lastSentNonce: ts.lastSentNonce,
    lastSentAt: iso(ts.lastSentAt),
    ackedVersion: ts.ackedVersion,
    ackedAt: iso(ts.ackedAt),
    ackedSnapshot: ts.ackedSnapshot,
    pendingAck: ts.inflight.length > 0,
    waitingFor: [...ts.waitingFor],
    lastNack: ts.lastNack ? { version: ts.lastNack.version, message: ts.lastNack.message, at: new Date(ts.lastNack.at).toISOString() } : null,
  };
}

function iso(ms: number): string | null {
  return ms ? new Date(ms).toISOString() : null;
}
