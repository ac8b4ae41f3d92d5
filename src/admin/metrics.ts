// Prometheus metrics on the admin API's own Registry (never prom-client's global one, so several
// Switchyards in one process, as in tests, do not collide). Counters and histograms follow the ADS
// server's events; gauges that describe current state are computed at scrape time from the
// streams, the control plane and the store, so they cannot drift and their label sets stay bounded
// by what is open now.
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AdsServer } from '../xds/server.js';
import type { AckEvent, NackEvent, SendEvent } from '../xds/stream.js';
import type { ControlPlane } from '../app/control-plane.js';
import type { RulesPipeline, ReloadOutcome } from '../app/pipeline.js';
import { shortName } from '../proto/type-urls.js';
import { clientKind } from './proxies.js';

/** NACK messages in the last_nack_info label are cut to this many characters. */
export const NACK_LABEL_MAX = 200;

export interface MetricsSources {
  readonly ads: AdsServer;
  readonly controlPlane: ControlPlane;
  readonly pipeline: RulesPipeline;
  readonly logger: Logger;
  /** Node.js process metrics (process_*, nodejs_*) in the same registry. Default true. */
  readonly processMetrics?: boolean;
}

export function truncateLabel(s: string, max = NACK_LABEL_MAX): string {
  const oneLine = s.replace(/\s+/g, ' ').trim();
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}

export class AdminMetrics {
  readonly registry = new Registry();
  private readonly responses: Counter<'type'>;
  private readonly responseBytes: Counter<'type'>;
  private readonly acks: Counter<'type'>;
  private readonly nacks: Counter<'type'>;
  private readonly convergence: Histogram<'type'>;
  private readonly buildTime: Histogram<'status'>;
  private readonly reloads: Counter<'status'>;
  private readonly operations: Counter<'operation' | 'result'>;
  private readonly detachers: Array<() => void> = [];

  constructor(private readonly sources: MetricsSources) {
    const registers = [this.registry];
    const { ads, controlPlane, pipeline } = sources;
    if (sources.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });

    new Gauge({
      name: 'switchyard_xds_streams',
      help: 'Open ADS streams by type of client (envoy, grpc = proxyless gRPC, other, unknown = no request yet) and protocol (sotw, delta)',
      labelNames: ['client', 'protocol'] as const,
      registers,
      collect() {
        this.reset();
        for (const s of ads.streamStatuses()) {
          const client = s.node.id === '' && s.node.userAgent === '' ? 'unknown' : clientKind(s.node);
          this.inc({ client, protocol: s.protocol });
        }
      },
    });
    this.responses = new Counter({ name: 'switchyard_xds_responses_sent_total', help: 'xDS responses sent, by resource type', labelNames: ['type'] as const, registers });
    this.responseBytes = new Counter({ name: 'switchyard_xds_response_bytes_total', help: 'Bytes of xDS responses sent, by resource type', labelNames: ['type'] as const, registers });
    this.acks = new Counter({ name: 'switchyard_xds_acks_total', help: 'xDS responses ACKed by clients, by resource type', labelNames: ['type'] as const, registers });
    this.nacks = new Counter({ name: 'switchyard_xds_nacks_total', help: 'xDS responses NACKed (rejected) by clients, by resource type; the messages are in /v1/proxies, the log and switchyard_last_nack_info', labelNames: ['type'] as const, registers });
    new Gauge({
      name: 'switchyard_last_nack_info',
      help: `The last NACK of each open stream's node and type (value 1); message cut to ${NACK_LABEL_MAX} characters`,
      labelNames: ['node', 'type', 'message'] as const,
      registers,
      collect() {
        this.reset();
        for (const s of ads.streamStatuses()) {
          for (const t of s.types) if (t.lastNack) this.set({ node: s.node.id, type: t.type, message: truncateLabel(t.lastNack.message) }, 1);
        }
      },
    });
    this.convergence = new Histogram({
      name: 'switchyard_xds_convergence_seconds',
      help: 'From sending an xDS response to its ACK (convergence is measured at the ACK), by resource type',
      labelNames: ['type'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.buildTime = new Histogram({
      name: 'switchyard_snapshot_build_seconds',
      help: 'Rule reload time: read, validate, compile, build the snapshot and offer it, by outcome',
      labelNames: ['status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.reloads = new Counter({ name: 'switchyard_rules_reloads_total', help: 'Rule reloads by result: published, unchanged, held (pinned), rejected', labelNames: ['status'] as const, registers });
    for (const status of ['published', 'unchanged', 'held', 'rejected']) this.reloads.inc({ status }, 0);
    new Gauge({
      name: 'switchyard_rules_errors',
      help: 'Errors of the newest rule change set (0 when it compiled)',
      registers,
      collect() {
        this.set(pipeline.state().issues.length);
      },
    });
    new Gauge({
      name: 'switchyard_snapshot_bytes',
      help: 'Encoded size of the live snapshot (sum of its resources)',
      registers,
      collect() {
        this.set(controlPlane.liveSnapshot?.totalBytes() ?? 0);
      },
    });
    new Gauge({
      name: 'switchyard_snapshot_resources',
      help: 'Resources in the live snapshot, by type',
      labelNames: ['type'] as const,
      registers,
      collect() {
        this.reset();
        const live = controlPlane.liveSnapshot;
        if (!live) return;
        for (const t of live.typeUrls()) this.set({ type: shortName(t) }, live.type(t)!.resources.size);
      },
    });
    new Gauge({
      name: 'switchyard_snapshot_info',
      help: 'The live snapshot version and the pinned one ("" when not pinned); value 1',
      labelNames: ['live', 'pinned'] as const,
      registers,
      collect() {
        this.reset();
        const live = controlPlane.liveSnapshot?.version;
        if (live) this.set({ live, pinned: controlPlane.pinnedVersion ?? '' }, 1);
      },
    });
    new Gauge({
      name: 'switchyard_snapshot_pinned',
      help: '1 while an operator pin (rollback) holds the fleet on a version, else 0',
      registers,
      collect() {
        this.set(controlPlane.pinnedVersion ? 1 : 0);
      },
    });
    new Gauge({
      name: 'switchyard_snapshot_store_problems',
      help: 'Damaged files in the snapshot directory (skipped, never served); GET /v1/snapshots lists them',
      registers,
      async collect() {
        try {
          this.set((await controlPlane.store.list()).problems.length);
        } catch {
          this.set(-1);
        }
      },
    });
    this.operations = new Counter({ name: 'switchyard_admin_operations_total', help: 'Rollback and resume calls by result (ok, error)', labelNames: ['operation', 'result'] as const, registers });

    const onSend = (e: SendEvent): void => {
      const type = shortName(e.typeUrl);
      this.responses.inc({ type });
      this.responseBytes.inc({ type }, e.bytes);
    };
    const onAck = (e: AckEvent): void => {
      const type = shortName(e.typeUrl);
      this.acks.inc({ type });
      this.convergence.observe({ type }, Math.max(0, e.latencyMs) / 1000);
    };
    const onNack = (e: NackEvent): void => {
      this.nacks.inc({ type: shortName(e.typeUrl) });
    };
    ads.on('send', onSend);
    ads.on('ack', onAck);
    ads.on('nack', onNack);
    this.detachers.push(() => ads.off('send', onSend), () => ads.off('ack', onAck), () => ads.off('nack', onNack));
  }

  recordReload(outcome: ReloadOutcome): void {
    this.reloads.inc({ status: outcome.status });
    this.buildTime.observe({ status: outcome.status }, Math.max(0, outcome.buildMs) / 1000);
  }

  recordOperation(operation: 'rollback' | 'resume', result: 'ok' | 'error'): void {
    this.operations.inc({ operation, result });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  detach(): void {
    for (const d of this.detachers.splice(0)) d();
  }
}
