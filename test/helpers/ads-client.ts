// An in-process ADS client for tests: speaks state-of-the-world or delta over a real gRPC stream
// and checks nonce, version and type URL on every response it receives.
import * as grpc from '@grpc/grpc-js';
import { messageType, decodeMessage } from '../../src/proto/messages.js';

export interface TestNode {
  id: string;
  cluster?: string;
  user_agent_name?: string;
  locality?: { region?: string; zone?: string };
}

export interface SotwResponse {
  version_info: string;
  type_url: string;
  nonce: string;
  resources: Array<{ name: string; typeUrl: string; message: Record<string, unknown> }>;
}

export interface DeltaResponse {
  system_version_info: string;
  type_url: string;
  nonce: string;
  resources: Array<{ name: string; version: string; message: Record<string, unknown> }>;
  removed_resources: string[];
}

const ADS = '/envoy.service.discovery.v3.AggregatedDiscoveryService';

function nameOf(typeUrl: string, m: Record<string, unknown>): string {
  return String(typeUrl.endsWith('ClusterLoadAssignment') ? m.cluster_name : m.name);
}

abstract class BaseClient<Resp extends { type_url: string; nonce: string }> {
  protected readonly client: grpc.Client;
  protected call!: grpc.ClientDuplexStream<Buffer, Resp>;
  private readonly queue: Resp[] = [];
  private waiters: Array<{ typeUrl?: string; resolve: (r: Resp) => void; reject: (e: Error) => void }> = [];
  readonly received: Resp[] = [];
  private readonly nonces = new Set<string>();
  ended = false;
  private endWaiters: Array<() => void> = [];
  error: Error | undefined;
  private sentNode = false;

  constructor(
    address: string,
    protected readonly node: TestNode,
    /** Default: plaintext. Pass grpc.credentials.createSsl(...) for a TLS ADS port. */
    credentials?: grpc.ChannelCredentials,
    channelOptions?: grpc.ChannelOptions,
  ) {
    this.client = new grpc.Client(address, credentials ?? grpc.credentials.createInsecure(), channelOptions);
  }

  protected open(method: string, decode: (b: Buffer) => Resp): void {
    this.call = this.client.makeBidiStreamRequest(`${ADS}/${method}`, (b: Buffer) => b, decode);
    this.call.on('data', (r: Resp) => this.onResponse(r));
    this.call.on('error', (e: Error) => {
      this.error = e;
      this.finish();
    });
    this.call.on('end', () => this.finish());
  }

  private finish(): void {
    this.ended = true;
    for (const w of this.waiters) w.reject(this.error ?? new Error('stream ended'));
    this.waiters = [];
    for (const w of this.endWaiters) w();
    this.endWaiters = [];
  }

  waitEnd(): Promise<void> {
    return this.ended ? Promise.resolve() : new Promise((r) => this.endWaiters.push(r));
  }

  protected checkCommon(r: Resp): void {
    if (!r.nonce) throw new Error(`response without nonce: ${JSON.stringify(r)}`);
    if (this.nonces.has(r.nonce)) throw new Error(`nonce ${r.nonce} reused on one stream`);
    this.nonces.add(r.nonce);
    if (!r.type_url) throw new Error('response without type_url');
  }

  protected abstract check(r: Resp): void;

  private onResponse(r: Resp): void {
    this.checkCommon(r);
    this.check(r);
    this.received.push(r);
    const i = this.waiters.findIndex((w) => !w.typeUrl || w.typeUrl === r.type_url);
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w!.resolve(r);
    } else {
      this.queue.push(r);
    }
  }

  /** The next response (of a type, if given) not yet taken; waits for it. */
  next(typeUrl?: string, timeoutMs = 10_000): Promise<Resp> {
    const i = this.queue.findIndex((r) => !typeUrl || r.type_url === typeUrl);
    if (i >= 0) return Promise.resolve(this.queue.splice(i, 1)[0]!);
    if (this.ended) return Promise.reject(this.error ?? new Error('stream ended'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no ${typeUrl ?? 'response'} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        typeUrl,
        resolve: (r: Resp) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Responses received but not yet taken with next(). */
  pending(typeUrl?: string): Resp[] {
    return this.queue.filter((r) => !typeUrl || r.type_url === typeUrl);
  }

  protected withNode<T extends object>(req: T): T & { node?: object } {
    if (this.sentNode) return req;
    this.sentNode = true;
    return { ...req, node: { cluster: 'test', user_agent_name: 'switchyard-test', ...this.node } };
  }

  close(): void {
    this.call?.cancel();
    this.client.close();
  }
}

const DiscoveryRequest = () => messageType('envoy.service.discovery.v3.DiscoveryRequest');
const DiscoveryResponse = () => messageType('envoy.service.discovery.v3.DiscoveryResponse');
const DeltaRequest = () => messageType('envoy.service.discovery.v3.DeltaDiscoveryRequest');
const DeltaResponseType = () => messageType('envoy.service.discovery.v3.DeltaDiscoveryResponse');

function decodeAny(any: { type_url: string; value: Uint8Array }): Record<string, unknown> {
  return decodeMessage(any.type_url, any.value);
}

export class SotwClient extends BaseClient<SotwResponse> {
  constructor(address: string, node: TestNode, credentials?: grpc.ChannelCredentials, channelOptions?: grpc.ChannelOptions) {
    super(address, node, credentials, channelOptions);
    this.open('StreamAggregatedResources', (b) => {
      const raw = DiscoveryResponse().decode(b) as unknown as { version_info: string; type_url: string; nonce: string; resources: Array<{ type_url: string; value: Uint8Array }> };
      return {
        version_info: raw.version_info,
        type_url: raw.type_url,
        nonce: raw.nonce,
        resources: raw.resources.map((a) => {
          const message = decodeAny(a);
          return { name: nameOf(a.type_url, message), typeUrl: a.type_url, message };
        }),
      };
    });
  }

  protected check(r: SotwResponse): void {
    if (!r.version_info) throw new Error(`${r.type_url} response without version_info`);
    for (const res of r.resources) if (res.typeUrl !== r.type_url) throw new Error(`resource of ${res.typeUrl} in a ${r.type_url} response`);
  }

  request(typeUrl: string, names: string[] = [], opts: { version?: string; nonce?: string; error?: string } = {}): void {
    const req = this.withNode({
      type_url: typeUrl,
      resource_names: names,
      version_info: opts.version ?? '',
      response_nonce: opts.nonce ?? '',
      ...(opts.error ? { error_detail: { code: 3, message: opts.error } } : {}),
    });
    const t = DiscoveryRequest();
    this.call.write(Buffer.from(t.encode(t.fromObject(req)).finish()));
  }

  ack(r: SotwResponse, names: string[]): void {
    this.request(r.type_url, names, { version: r.version_info, nonce: r.nonce });
  }

  nack(r: SotwResponse, names: string[], acceptedVersion: string, error = 'rejected by test'): void {
    this.request(r.type_url, names, { version: acceptedVersion, nonce: r.nonce, error });
  }
}

export class DeltaClient extends BaseClient<DeltaResponse> {
  constructor(address: string, node: TestNode, credentials?: grpc.ChannelCredentials, channelOptions?: grpc.ChannelOptions) {
    super(address, node, credentials, channelOptions);
    this.open('DeltaAggregatedResources', (b) => {
      const raw = DeltaResponseType().decode(b) as unknown as { system_version_info: string; type_url: string; nonce: string; removed_resources: string[]; resources: Array<{ name: string; version: string; resource: { type_url: string; value: Uint8Array } }> };
      return {
        system_version_info: raw.system_version_info,
        type_url: raw.type_url,
        nonce: raw.nonce,
        removed_resources: [...raw.removed_resources],
        resources: raw.resources.map((r) => ({ name: r.name, version: r.version, message: decodeAny(r.resource), anyType: r.resource.type_url })),
      };
    });
  }

  protected check(r: DeltaResponse): void {
    for (const res of r.resources as Array<DeltaResponse['resources'][number] & { anyType: string }>) {
      if (res.anyType !== r.type_url) throw new Error(`resource of ${res.anyType} in a ${r.type_url} response`);
      if (!res.version) throw new Error(`resource ${res.name} without version`);
      if (nameOf(r.type_url, res.message) !== res.name) throw new Error(`resource name ${res.name} does not match its message`);
    }
  }

  request(typeUrl: string, opts: { subscribe?: string[]; unsubscribe?: string[]; initial?: Record<string, string>; nonce?: string; error?: string } = {}): void {
    const req = this.withNode({
      type_url: typeUrl,
      resource_names_subscribe: opts.subscribe ?? [],
      resource_names_unsubscribe: opts.unsubscribe ?? [],
      initial_resource_versions: opts.initial ?? {},
      response_nonce: opts.nonce ?? '',
      ...(opts.error ? { error_detail: { code: 3, message: opts.error } } : {}),
    });
    const t = DeltaRequest();
    this.call.write(Buffer.from(t.encode(t.fromObject(req)).finish()));
  }

  ack(r: DeltaResponse): void {
    this.request(r.type_url, { nonce: r.nonce });
  }

  nack(r: DeltaResponse, error = 'rejected by test'): void {
    this.request(r.type_url, { nonce: r.nonce, error });
  }
}
