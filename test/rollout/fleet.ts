// A fleet of in-process ADS clients for rollout tests: each is a SotwClient that behaves like an
// Envoy proxy (wildcard CDS, EDS for the clusters CDS named, RDS `model-serving`) and ACKs every
// response, or NACKs the ones a test tells it to. Every response received is recorded with a
// sequence number shared by the whole fleet and the server's events, so tests can assert order.
import { SotwClient, type SotwResponse, type TestNode } from '../helpers/ads-client.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { AdsServer, type AdsServerEventMap } from '../../src/xds/server.js';
import { RolloutProvider, type RolloutEvent } from '../../src/rollout/provider.js';
import type { RolloutPolicySpec } from '../../src/rollout/policy.js';
import type { Clock } from '../../src/rollout/clock.js';
import type { Snapshot } from '../../src/snapshot/snapshot.js';
import { buildApiListener, buildEdsCluster, buildLoadAssignment, buildRouteConfiguration } from '../../src/proto/builders.js';
import { createSnapshot } from '../../src/snapshot/snapshot.js';

export const ROUTE_CONFIG = 'model-serving';

/** One global order for everything a test observes. */
export class Sequence {
  private n = 0;
  next(): number {
    return ++this.n;
  }
}

export interface Received {
  readonly seq: number;
  readonly typeUrl: string;
  readonly version: string;
  readonly names: readonly string[];
  readonly response: SotwResponse;
  readonly nacked: boolean;
}

export interface FleetNode {
  id: string;
  cluster?: string;
  metadata?: Record<string, string | boolean>;
}

/** google.protobuf.Struct in protobufjs' object form (its bundled struct.proto uses camelCase field names). */
export function struct(meta: Record<string, string | boolean>): object {
  return { fields: Object.fromEntries(Object.entries(meta).map(([k, v]) => [k, typeof v === 'boolean' ? { boolValue: v } : { stringValue: v }])) };
}

export type NackPolicy = (r: SotwResponse, client: FleetClient) => string | undefined;

export class FleetClient {
  readonly sotw: SotwClient;
  readonly received: Received[] = [];
  private edsNames: string[] = [];
  private readonly acked = new Map<string, string>();
  private readonly lastNonce = new Map<string, string>();
  private closed = false;
  private readonly done: Promise<void>;
  private waiters: Array<() => void> = [];

  /** Responses held back (not ACKed yet) while `hold` says so; release() ACKs them. */
  private held: SotwResponse[] = [];
  hold: ((r: SotwResponse) => boolean) | undefined;

  constructor(
    address: string,
    readonly node: FleetNode,
    private readonly seq: Sequence,
    private readonly nack?: NackPolicy,
  ) {
    // TestNode has no metadata field; SotwClient spreads the node into the request as given.
    const testNode = { id: node.id, cluster: node.cluster ?? 'fleet', ...(node.metadata ? { metadata: struct(node.metadata) } : {}) } as TestNode;
    this.sotw = new SotwClient(address, testNode);
    this.sotw.request(TypeUrl.Cluster, []);
    this.sotw.request(TypeUrl.RouteConfiguration, [ROUTE_CONFIG]);
    this.done = this.loop();
  }

  private namesFor(typeUrl: string): string[] {
    if (typeUrl === TypeUrl.ClusterLoadAssignment) return this.edsNames;
    if (typeUrl === TypeUrl.RouteConfiguration) return [ROUTE_CONFIG];
    return [];
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      let r: SotwResponse;
      try {
        r = await this.sotw.next(undefined, 3_600_000);
      } catch {
        return;
      }
      if (this.hold?.(r)) {
        this.received.push({ seq: this.seq.next(), typeUrl: r.type_url, version: r.version_info, names: r.resources.map((x) => x.name), response: r, nacked: false });
        this.lastNonce.set(r.type_url, r.nonce);
        this.held.push(r);
        for (const w of this.waiters.splice(0)) w();
        continue;
      }
      this.answer(r, false);
    }
  }

  /** ACKs the held responses (in order) and stops holding. */
  release(): void {
    this.hold = undefined;
    for (const r of this.held.splice(0)) this.answer(r, true);
  }

  private answer(r: SotwResponse, recorded: boolean): void {
    const error = this.nack?.(r, this);
    const names = r.resources.map((x) => x.name);
    if (!recorded) this.received.push({ seq: this.seq.next(), typeUrl: r.type_url, version: r.version_info, names, response: r, nacked: error !== undefined });
    this.lastNonce.set(r.type_url, r.nonce);
    if (error !== undefined) {
      this.sotw.nack(r, this.namesFor(r.type_url), this.acked.get(r.type_url) ?? '', error);
    } else {
      this.acked.set(r.type_url, r.version_info);
      this.sotw.ack(r, this.namesFor(r.type_url));
      if (r.type_url === TypeUrl.Cluster) {
        const clusters = [...names].sort();
        if (clusters.join(',') !== this.edsNames.join(',')) {
          this.edsNames = clusters;
          this.sotw.request(TypeUrl.ClusterLoadAssignment, clusters, {
            version: this.acked.get(TypeUrl.ClusterLoadAssignment) ?? '',
            nonce: this.lastNonce.get(TypeUrl.ClusterLoadAssignment) ?? '',
          });
        }
      }
    }
    for (const w of this.waiters.splice(0)) w();
  }

  /** Cluster names of the newest CDS response the client accepted. */
  clusters(): string[] {
    const last = [...this.received].reverse().find((r) => r.typeUrl === TypeUrl.Cluster && !r.nacked);
    return last ? [...last.names] : [];
  }

  /** Route clusters of the newest RDS response the client accepted. */
  routeClusters(): string[] {
    const last = [...this.received].reverse().find((r) => r.typeUrl === TypeUrl.RouteConfiguration && !r.nacked);
    return last ? routeClustersOf(last.response) : [];
  }

  /** Resolves when `pred` holds (checked after each response). */
  until(pred: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.node.id}: ${what} not reached within ${timeoutMs} ms`)), timeoutMs);
      const check = (): void => {
        if (pred()) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.sotw.close();
    await this.done;
  }
}

/** Clusters the routes of an RDS response send to. */
export function routeClustersOf(r: SotwResponse): string[] {
  const out = new Set<string>();
  for (const res of r.resources) {
    const vhosts = (res.message.virtual_hosts ?? []) as Array<{ routes?: Array<{ route?: { cluster?: string } }> }>;
    for (const vh of vhosts) for (const route of vh.routes ?? []) if (route.route?.cluster) out.add(route.route.cluster);
  }
  return [...out].sort();
}

/** A snapshot with shard clusters and one route per cluster (routing key "<objective>/<cluster>"). */
export function fleetSnapshot(clusters: string[], port = 20_000): Snapshot {
  return createSnapshot({
    [TypeUrl.Cluster]: clusters.map((c) => buildEdsCluster({ name: c })),
    [TypeUrl.ClusterLoadAssignment]: clusters.map((c, i) => buildLoadAssignment({ clusterName: c, localities: [{ zone: 'local', weight: 1, endpoints: [{ address: '127.0.0.1', port: port + i }] }] })),
    [TypeUrl.Listener]: [buildApiListener({ name: ROUTE_CONFIG, routeConfigName: ROUTE_CONFIG })],
    [TypeUrl.RouteConfiguration]: [
      buildRouteConfiguration({
        name: ROUTE_CONFIG,
        virtualHosts: [{ name: 'all', domains: ['*'], routes: clusters.map((c) => ({ name: `rk:Ranking/${c}`, headers: [{ name: 'x-routing-key', exact: `Ranking/${c}` }], cluster: c })) }],
      }),
    ],
  });
}

export type ServerEvent = { seq: number } & (
  | { kind: 'send'; e: AdsServerEventMap['send'][0] }
  | { kind: 'ack'; e: AdsServerEventMap['ack'][0] }
  | { kind: 'nack'; e: AdsServerEventMap['nack'][0] }
);

export interface FleetHarness {
  server: AdsServer;
  provider: RolloutProvider;
  address: string;
  seq: Sequence;
  serverEvents: ServerEvent[];
  rolloutEvents: Array<RolloutEvent & { seq: number }>;
  clients: FleetClient[];
  add(node: FleetNode, nack?: NackPolicy): FleetClient;
  /** Resolves with the first rollout event of a type matching `pred` (already recorded ones count). */
  rolloutEvent<T extends RolloutEvent['type']>(type: T, pred?: (e: RolloutEvent & { type: T; seq: number }) => boolean, timeoutMs?: number): Promise<RolloutEvent & { type: T; seq: number }>;
  stop(): Promise<void>;
}

export async function startFleet(initial: Snapshot, policy: RolloutPolicySpec, opts: { recheckMs?: number; clock?: Clock } = {}): Promise<FleetHarness> {
  const seq = new Sequence();
  const provider = new RolloutProvider({ initial, policy, ...(opts.recheckMs !== undefined ? { recheckMs: opts.recheckMs } : {}), ...(opts.clock ? { clock: opts.clock } : {}) });
  const server = new AdsServer({ provider, port: 0 });
  const serverEvents: ServerEvent[] = [];
  const rolloutEvents: Array<RolloutEvent & { seq: number }> = [];
  const eventWaiters: Array<() => void> = [];
  // Recorders first: the sequence of an ACK precedes whatever the provider does about it.
  server.on('send', (e) => serverEvents.push({ seq: seq.next(), kind: 'send', e }));
  server.on('ack', (e) => serverEvents.push({ seq: seq.next(), kind: 'ack', e }));
  server.on('nack', (e) => serverEvents.push({ seq: seq.next(), kind: 'nack', e }));
  provider.attach(server);
  provider.onEvent((e) => {
    rolloutEvents.push({ ...e, seq: seq.next() });
    for (const w of eventWaiters.splice(0)) w();
  });
  const port = await server.start();
  const address = `127.0.0.1:${port}`;
  const clients: FleetClient[] = [];
  return {
    server,
    provider,
    address,
    seq,
    serverEvents,
    rolloutEvents,
    clients,
    add(node, nack) {
      const c = new FleetClient(address, node, seq, nack);
      clients.push(c);
      return c;
    },
    rolloutEvent(type, pred = () => true, timeoutMs = 15_000) {
      type E = RolloutEvent & { type: typeof type; seq: number };
      const find = (): E | undefined => rolloutEvents.find((e) => e.type === type && pred(e as E)) as E | undefined;
      const found = find();
      if (found) return Promise.resolve(found);
      return new Promise<E>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no rollout event ${type} within ${timeoutMs} ms; state: ${JSON.stringify(provider.state())}`)), timeoutMs);
        const check = (): void => {
          const e = find();
          if (e) {
            clearTimeout(timer);
            resolve(e);
          } else eventWaiters.push(check);
        };
        eventWaiters.push(check);
      });
    },
    async stop() {
      await Promise.all(clients.map((c) => c.close()));
      await server.stop(200);
    },
  };
}

/** Resolves when `pred` holds, re-checked after every server event (the fleet's own traffic drives it). */
export async function serverCondition(server: AdsServer, pred: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  if (pred()) return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`${what}: not reached within ${timeoutMs} ms`));
    }, timeoutMs);
    const check = (): void => {
      if (!pred()) return;
      clearTimeout(timer);
      off();
      resolve();
    };
    const off = (): void => {
      server.off('ack', check);
      server.off('send', check);
      server.off('nack', check);
    };
    server.on('ack', check);
    server.on('send', check);
    server.on('nack', check);
  });
}

/** Every stream of these nodes ACKed `snapshot` for every subscribed type it serves, nothing in flight. */
export function nodesHold(server: AdsServer, nodeIds: readonly string[], snapshot: Pick<Snapshot, 'version' | 'type'>): boolean {
  const wanted = new Set(nodeIds);
  const statuses = server.streamStatuses().filter((s) => wanted.has(s.node.id));
  return (
    statuses.length === wanted.size &&
    statuses.every((s) => s.types.length > 0 && s.types.every((t) => (!t.wildcard && t.subscribed.length === 0) || !snapshot.type(t.typeUrl) || (t.ackedSnapshot === snapshot.version && !t.pendingAck)))
  );
}
