// Plumbing for the Envoy container suite: the pinned Envoy image started by testcontainers with the
// shipped bootstrap, its admin API, a plain grpc-js client sending through its listener, and
// convergence checks driven by Switchyard's ACK events.
//
// Networking: the container reaches processes of this test (Switchyard's ADS port, the echo
// backends) through testcontainers' port forwarder: `TestContainers.exposeHostPorts(port)` makes
// `host.testcontainers.internal:<port>` inside the container lead to `localhost:<port>` here (an
// SSH reverse tunnel through the testcontainers/sshd helper container). The bootstrap may name the
// ADS endpoint by that host name (STRICT_DNS), but EDS endpoints must be IP literals (Switchyard
// refuses host names, RULE_BAD_ADDRESS), so the suite reads the address the name maps to from the
// Envoy container's /etc/hosts (testcontainers adds it there) and writes that IP into the rules.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { parse, stringify } from 'yaml';
import type { AdsServer } from '../../src/xds/server.js';
import type { AckEvent } from '../../src/xds/stream.js';
import type { StreamStatus } from '../../src/xds/stream-status.js';
import type { SnapshotView } from '../../src/snapshot/types.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { MODEL_RESPONSE_HEADER, ROUTING_KEY_HEADER } from '../../src/compile/constants.js';
import { decodeReply, ECHO_METHOD_PATH, type EchoReply } from '../helpers/grpc-backends.js';
import { waitForEvent } from '../helpers/wait.js';

/** The Envoy the suite runs; a tag that exists on Docker Hub (override with SWITCHYARD_ENVOY_IMAGE). */
export const ENVOY_IMAGE = process.env.SWITCHYARD_ENVOY_IMAGE ?? 'envoyproxy/envoy:v1.32.3';
export const HOST_FROM_CONTAINER = 'host.testcontainers.internal';
export const ENVOY_LISTENER_PORT = 10000;
export const ENVOY_ADMIN_PORT = 9901;
export const CONVERGE_TIMEOUT_MS = 30_000;

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

type Json = Record<string, unknown>;

/** A file to put into the container (what GenericContainer.withCopyContentToContainer takes). */
export interface ContentToCopy {
  content: string | Buffer;
  target: string;
  mode?: number;
}

export interface BootstrapPatch {
  adsHost: string;
  adsPort: number;
  apiType?: 'GRPC' | 'DELTA_GRPC';
}

/**
 * A shipped bootstrap file with only what the container needs changed: the ADS address, the admin
 * address (0.0.0.0, so the mapped port reaches it from the host) and optionally the api_type.
 */
export function containerBootstrap(file: 'envoy-bootstrap.yaml' | 'envoy-bootstrap-tls.yaml', patch: BootstrapPatch): string {
  const b = parse(readFileSync(path.join(repo, file), 'utf8')) as Json;
  const admin = b.admin as { address: { socket_address: Json } };
  admin.address.socket_address.address = '0.0.0.0';
  const clusters = (b.static_resources as { clusters: Json[] }).clusters;
  const ads = clusters.find((c) => c.name === 'switchyard_ads') as { load_assignment: { endpoints: Array<{ lb_endpoints: Array<{ endpoint: { address: { socket_address: Json } } }> }> } };
  ads.load_assignment.endpoints[0]!.lb_endpoints[0]!.endpoint.address.socket_address = { address: patch.adsHost, port_value: patch.adsPort };
  if (patch.apiType) (b.dynamic_resources as { ads_config: Json }).ads_config.api_type = patch.apiType;
  return stringify(b);
}

export interface EnvoyStartOptions {
  bootstrap: string;
  nodeId: string;
  cluster: string;
  /** Extra files (e.g. TLS material at the paths the TLS bootstrap names). */
  files?: ContentToCopy[];
  /** Wait for /ready (default). false: only for the admin API (an Envoy that will not get config). */
  waitReady?: boolean;
}

export class EnvoyContainer {
  private constructor(
    private readonly container: StartedTestContainer,
    /** Envoy's log lines (the last 2000). */
    readonly logs: string[],
  ) {}

  static async start(opts: EnvoyStartOptions): Promise<EnvoyContainer> {
    const logs: string[] = [];
    const container = await new GenericContainer(ENVOY_IMAGE)
      .withCopyContentToContainer([{ content: opts.bootstrap, target: '/etc/envoy/envoy.yaml', mode: 0o644 }, ...(opts.files ?? [])])
      // The image's entrypoint runs `envoy "$@"` when the first argument starts with "-".
      .withCommand(['-c', '/etc/envoy/envoy.yaml', '--service-node', opts.nodeId, '--service-cluster', opts.cluster, '--log-level', 'info', '--component-log-level', 'config:debug'])
      .withExposedPorts(ENVOY_LISTENER_PORT, ENVOY_ADMIN_PORT)
      .withWaitStrategy(opts.waitReady === false ? Wait.forHttp('/server_info', ENVOY_ADMIN_PORT) : Wait.forHttp('/ready', ENVOY_ADMIN_PORT).forStatusCode(200))
      .withStartupTimeout(120_000)
      .withLogConsumer((stream) => {
        stream.on('data', (chunk: Buffer | string) => {
          for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(line);
          if (logs.length > 2000) logs.splice(0, logs.length - 2000);
        });
      })
      .start();
    return new EnvoyContainer(container, logs);
  }

  /** host:port of Envoy's listener (:10000) as seen from this process. */
  get listenerAddress(): string {
    return `${this.container.getHost()}:${this.container.getMappedPort(ENVOY_LISTENER_PORT)}`;
  }

  get adminUrl(): string {
    return `http://${this.container.getHost()}:${this.container.getMappedPort(ENVOY_ADMIN_PORT)}`;
  }

  /** The last lines Envoy logged, for failure messages. */
  recentLogs(n = 40): string {
    return this.logs.slice(-n).join('\n');
  }

  async admin(pathAndQuery: string): Promise<string> {
    const res = await fetch(`${this.adminUrl}${pathAndQuery}`);
    const text = await res.text();
    if (!res.ok) throw new Error(`GET ${pathAndQuery} on Envoy's admin API: HTTP ${res.status}: ${text.slice(0, 500)}`);
    return text;
  }

  /** /config_dump with EDS included. */
  async configDump(): Promise<{ configs: Json[] }> {
    return JSON.parse(await this.admin('/config_dump?include_eds')) as { configs: Json[] };
  }

  /** Counters and gauges whose name matches `filter` (a regular expression, as Envoy's /stats takes it). */
  async stats(filter: string): Promise<Map<string, number>> {
    const text = await this.admin(`/stats?filter=${encodeURIComponent(filter)}`);
    const out = new Map<string, number>();
    for (const line of text.split('\n')) {
      const m = /^([^:]+): (\d+)$/.exec(line.trim());
      if (m) out.set(m[1]!, Number(m[2]));
    }
    return out;
  }

  /** The IPv4 address a host name maps to in the container's /etc/hosts. */
  async hostsEntry(name = HOST_FROM_CONTAINER): Promise<string> {
    const { output, exitCode } = await this.container.exec(['cat', '/etc/hosts']);
    if (exitCode !== 0) throw new Error(`cat /etc/hosts in the Envoy container exited ${exitCode}: ${output}`);
    for (const line of output.split('\n')) {
      const [ip, ...names] = line.trim().split(/\s+/);
      if (ip && /^\d+\.\d+\.\d+\.\d+$/.test(ip) && names.includes(name)) return ip;
    }
    throw new Error(`${name} is not in the Envoy container's /etc/hosts (was TestContainers.exposeHostPorts called before the container started?):\n${output}`);
  }

  async stop(): Promise<void> {
    await this.container.stop({ timeout: 2_000 });
  }
}

/** Finds the one config of a type in a /config_dump (e.g. "ClustersConfigDump"). */
export function dumpOf(dump: { configs: Json[] }, kind: string): Json {
  const c = dump.configs.find((x) => String(x['@type']).endsWith(`.${kind}`));
  if (!c) throw new Error(`no ${kind} in /config_dump (got ${dump.configs.map((x) => x['@type']).join(', ')})`);
  return c;
}

/** Every path in a JSON value where a key named `key` occurs. */
export function pathsOfKey(v: unknown, key: string, at = ''): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => pathsOfKey(x, key, `${at}[${i}]`));
  if (typeof v !== 'object' || v === null) return [];
  return Object.entries(v).flatMap(([k, x]) => [...(k === key ? [`${at}.${k}`] : []), ...pathsOfKey(x, key, `${at}.${k}`)]);
}

// ---- calls through Envoy

export interface EnvoyReply extends EchoReply {
  /** The x-switchyard-model response header Envoy's route added. */
  model: string | undefined;
}

/** A plain grpc-js client (no xDS) sending the echo call through Envoy's listener. */
export class EnvoyClient {
  private readonly client: grpc.Client;
  /** Successful calls sent with each x-routing-key ('' for none). */
  readonly sent = new Map<string, number>();

  constructor(address: string) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure());
  }

  call(headers: Record<string, string>, deadlineMs = 10_000): Promise<EnvoyReply> {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(headers)) md.set(k, v);
    let model: string | undefined;
    return new Promise<EnvoyReply>((resolve, reject) => {
      const call = this.client.makeUnaryRequest(ECHO_METHOD_PATH, (b: Buffer) => b, decodeReply, Buffer.alloc(0), md, { deadline: Date.now() + deadlineMs }, (err, reply) => {
        if (err || !reply) return reject(err ?? new Error('empty reply'));
        const key = headers[ROUTING_KEY_HEADER] ?? '';
        this.sent.set(key, (this.sent.get(key) ?? 0) + 1);
        resolve({ ...reply, model });
      });
      call.on('metadata', (m: grpc.Metadata) => {
        const v = m.get(MODEL_RESPONSE_HEADER)[0];
        model = v === undefined ? undefined : String(v);
      });
    });
  }

  /** `n` sequential calls with one routing key; the backend names, in order. */
  async backendsFor(routingKey: string, n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push((await this.call({ [ROUTING_KEY_HEADER]: routingKey })).backend);
    return out;
  }

  close(): void {
    this.client.close();
  }
}

// ---- convergence, measured at Switchyard (design rule 10: at the ACK)

/** What an Envoy with this bootstrap subscribes to over ADS: no LDS (its listener is static). */
export const ENVOY_TYPES = [TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.RouteConfiguration] as const;

export function streamOfNode(server: AdsServer, nodeId: string): StreamStatus | undefined {
  return server.streamStatuses().find((s) => s.node.id === nodeId);
}

/** CDS, EDS and RDS ACKed for this snapshot with nothing in flight, EDS subscribed to every cluster. */
export function envoyHolds(st: StreamStatus | undefined, snapshot: SnapshotView): boolean {
  if (!st) return false;
  for (const typeUrl of ENVOY_TYPES) {
    const t = st.types.find((x) => x.typeUrl === typeUrl);
    if (!t || t.pendingAck || t.ackedSnapshot !== snapshot.version) return false;
  }
  const eds = st.types.find((x) => x.typeUrl === TypeUrl.ClusterLoadAssignment)!;
  const clusters = snapshot.type(TypeUrl.Cluster)?.names ?? [];
  return eds.wildcard || clusters.every((c) => eds.subscribed.includes(c));
}

export function describeEnvoyStream(server: AdsServer, nodeId: string): string {
  const st = streamOfNode(server, nodeId);
  if (!st) return `no stream from node ${nodeId} (streams: ${server.streamStatuses().map((s) => s.node.id).join(', ') || 'none'})`;
  return st.types
    .map((t) => `${t.type} sent=${t.lastSentVersion} acked=${t.ackedVersion} ackedSnapshot=${t.ackedSnapshot} pending=${t.pendingAck} waitingFor=[${t.waitingFor.join(',')}]${t.lastNack ? ` NACK=${t.lastNack.message}` : ''}`)
    .join('; ');
}

/** Resolves when Envoy `nodeId` has ACKed everything `snapshot` holds for it (driven by ACK events). */
export function envoyConverged(server: AdsServer, nodeId: string, snapshot: SnapshotView, envoy?: EnvoyContainer): Promise<unknown> {
  const subscribe = (listener: (e: AckEvent) => void): (() => void) => {
    server.on('ack', listener);
    return () => server.off('ack', listener);
  };
  return waitForEvent(subscribe, (e) => e.stream.node?.id === nodeId && envoyHolds(e.stream.status(), snapshot), {
    timeoutMs: CONVERGE_TIMEOUT_MS,
    initially: () => envoyHolds(streamOfNode(server, nodeId), snapshot),
    describe: () => `Envoy ${nodeId} did not converge on ${snapshot.version}: ${describeEnvoyStream(server, nodeId)}${envoy ? `\nEnvoy log:\n${envoy.recentLogs()}` : ''}`,
  });
}

/**
 * Retries `fn` until it stops throwing or the deadline passes. Only for what has no event to
 * await: Envoy applies an ACKed route table on its worker threads a moment after the ACK, and
 * mirrored requests reach the shadow backend after the response of the original call.
 */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 10_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
