// A real, independent xDS client for end-to-end tests: @grpc/grpc-js-xds dialing `xds:///NAME`.
//
// Bootstrap: grpc-js-xds reads GRPC_XDS_BOOTSTRAP / GRPC_XDS_BOOTSTRAP_CONFIG once per process
// (loadBootstrapInfo caches the first value) and shares one singleton XdsClient between every
// channel that uses it. That would tie a whole test file to one ADS port and one node. Instead we
// pass the bootstrap per channel with the channel option
// `grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config` (read in resolver-xds.js, 1.14.1):
// the resolver then creates a private XdsClient for that channel. So every ProxylessClient has its
// own XdsClient, its own ADS stream, its own node id and its own control-plane port, and nothing
// is shared between tests. Closing the channel destroys the resolver, which cancels every watch and
// ends the ADS stream.
//
// Once a client has a port in its bootstrap it keeps dialing that port: a test that "restarts the
// control plane" must bind the new server to the same port.
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import { register } from '@grpc/grpc-js-xds';
import { decodeReply, ECHO_METHOD_PATH, ROUTING_KEY_HEADER, type EchoReply } from './grpc-backends.js';

export const XDS_BOOTSTRAP_CHANNEL_OPTION = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';

/** What grpc-js-xds sends as Node.user_agent_name / user_agent_version. */
export const GRPC_XDS_USER_AGENT_NAME = 'gRPC Node Pure JS';
export const GRPC_XDS_VERSION: string = (createRequire(import.meta.url)('@grpc/grpc-js-xds/package.json') as { version: string }).version;

let registered = false;

/** Registers the xds: resolver scheme and the xDS LB policies with @grpc/grpc-js (once per process). */
export function registerXds(): void {
  if (registered) return;
  register();
  registered = true;
}

export interface XdsBootstrapInput {
  adsPort: number;
  nodeId: string;
  cluster?: string;
  zone?: string;
}

export function xdsBootstrap(i: XdsBootstrapInput): object {
  return {
    xds_servers: [{ server_uri: `127.0.0.1:${i.adsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    // grpc-js-xds rejects a bootstrap without node.locality.
    node: { id: i.nodeId, cluster: i.cluster ?? 'switchyard-e2e', locality: { zone: i.zone ?? 'local' } },
  };
}

export interface ProxylessClientOptions extends XdsBootstrapInput {
  /** Listener name; the channel dials xds:///NAME. Default `model-serving`. */
  listener?: string;
}

export class ProxylessClient {
  readonly nodeId: string;
  readonly target: string;
  private readonly client: grpc.Client;
  private closed = false;

  constructor(opts: ProxylessClientOptions) {
    registerXds();
    this.nodeId = opts.nodeId;
    this.target = `xds:///${opts.listener ?? 'model-serving'}`;
    this.client = new grpc.Client(this.target, grpc.credentials.createInsecure(), {
      [XDS_BOOTSTRAP_CHANNEL_OPTION]: JSON.stringify(xdsBootstrap(opts)),
    });
  }

  /** One unary call carrying `x-routing-key` (when given); resolves with the backend's reply. */
  call(routingKey: string | undefined, { deadlineMs = 10_000 }: { deadlineMs?: number } = {}): Promise<EchoReply> {
    return this.callWithHeaders(routingKey !== undefined ? { [ROUTING_KEY_HEADER]: routingKey } : {}, { deadlineMs });
  }

  /** One unary call carrying the given request headers (e.g. `x-objective` for fallback routes). */
  callWithHeaders(headers: Record<string, string>, { deadlineMs = 10_000 }: { deadlineMs?: number } = {}): Promise<EchoReply> {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(headers)) md.set(k, v);
    return new Promise<EchoReply>((resolve, reject) => {
      this.client.makeUnaryRequest(
        ECHO_METHOD_PATH,
        (b: Buffer) => b,
        decodeReply,
        Buffer.alloc(0),
        md,
        { deadline: Date.now() + deadlineMs },
        (err, reply) => (err || !reply ? reject(err ?? new Error('empty reply')) : resolve(reply)),
      );
    });
  }

  /** `n` sequential calls with one routing key; resolves with the backend names, in order. */
  async backendsFor(routingKey: string, n: number): Promise<string[]> {
    const names: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = await this.call(routingKey);
      if (r.routingKey !== routingKey) throw new Error(`backend ${r.backend} saw x-routing-key "${r.routingKey}", sent "${routingKey}"`);
      names.push(r.backend);
    }
    return names;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
  }
}
