// TLS on the ADS port (src/xds/tls.ts): server certificate, mutual TLS, the node identity rule, and
// certificate rotation without a restart. Certificates are generated for this run with openssl
// (test/envoy/certs.ts): two independent CAs, a server certificate for 127.0.0.1/localhost, and
// client certificates carrying node identities.
import { once } from 'node:events';
import { mkdtemp, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tls, { type PeerCertificate } from 'node:tls';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import pino, { type Logger } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AdsServer } from '../../src/xds/server.js';
import { SingleSnapshotProvider } from '../../src/xds/provider.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { adsCredentialsFromConfig, type AdsTls, type AdsTlsConfig } from '../../src/xds/tls.js';
import { certificateNodeIdentity, parseSubjectAltNames, spiffeNodeId, type PeerCertificateInfo } from '../../src/xds/identity.js';
import { SwitchyardError } from '../../src/errors/catalog.js';
import { DeltaClient, SotwClient, type SotwResponse } from '../helpers/ads-client.js';
import { topologySnapshot } from '../helpers/snapshots.js';
import { withTimeout } from '../helpers/wait.js';
import { opensslUnavailable, TestCa, type Pem } from '../helpers/certs.js';

const TRUST_DOMAIN = 'switchyard.test';
const WAIT = { timeoutMs: 10_000 };
/** No connection sharing between test clients (a "new client" must mean a new TLS handshake), and
 * SNI "localhost" (Node deprecates an IP address as SNI; the server certificate names both). */
const CHANNEL_OPTIONS: grpc.ChannelOptions = { 'grpc.use_local_subchannel_pool': 1, 'grpc.ssl_target_name_override': 'localhost' };

const snapshot1 = topologySnapshot({ clusters: { 'cluster-a': [50001], 'cluster-b': [50002] }, routes: { 'key-a': 'cluster-a' } });
const snapshot2 = topologySnapshot({ clusters: { 'cluster-a': [50001], 'cluster-b': [50002], 'cluster-c': [50003] }, routes: { 'key-a': 'cluster-c' } });

interface Fixture {
  dir: string;
  ca: TestCa;
  otherCa: TestCa;
  server: Pem;
  /** CA-signed, SPIFFE ID of node edge-1 (and CN edge-1). */
  edge1: Pem;
  /** The same names, signed by the other CA. */
  edge1OtherCa: Pem;
  /** CN=edge-3, no URI SAN: identifies by CN. */
  cnOnly: Pem;
  /** SPIFFE ID of edge-1 in another trust domain. */
  foreignDomain: Pem;
  files: { cert: string; key: string; clientCa: string; otherCa: string };
}

let fx: Fixture;

beforeAll(async () => {
  const missing = await opensslUnavailable();
  if (missing) throw new Error(`test/xds/tls.test.ts generates its certificates with openssl: ${missing}`);
  const [ca, otherCa] = await Promise.all([TestCa.create('Switchyard Test CA'), TestCa.create('Other Test CA')]);
  const serverNames = { cn: 'switchyard', sans: ['DNS:localhost', 'IP:127.0.0.1'] };
  const edge1Names = { cn: 'edge-1', sans: [`URI:${spiffeNodeId(TRUST_DOMAIN, 'edge-1')}`] };
  const [server, edge1, edge1OtherCa, cnOnly, foreignDomain] = await Promise.all([
    ca.issue(serverNames),
    ca.issue(edge1Names),
    otherCa.issue(edge1Names),
    ca.issue({ cn: 'edge-3' }),
    ca.issue({ cn: 'edge-1', sans: ['URI:spiffe://elsewhere.test/switchyard/node/edge-1'] }),
  ]);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-tls-'));
  const files = { cert: path.join(dir, 'server.crt'), key: path.join(dir, 'server.key'), clientCa: path.join(dir, 'clients-ca.pem'), otherCa: path.join(dir, 'other-ca.pem') };
  await Promise.all([writeFile(files.cert, server.cert), writeFile(files.key, server.key), writeFile(files.clientCa, ca.cert), writeFile(files.otherCa, otherCa.cert)]);
  fx = { dir, ca, otherCa, server, edge1, edge1OtherCa, cnOnly, foreignDomain, files };
}, 60_000);

// ---- plumbing: everything a test starts is stopped after it

const servers: AdsServer[] = [];
const tlsSets: AdsTls[] = [];
const clients: Array<{ close(): void }> = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.stop(200)));
  await Promise.all(tlsSets.splice(0).map((t) => t.close()));
});

/** A logger whose JSON lines the test can read. */
function recordingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

interface Started {
  server: AdsServer;
  port: number;
  address: string;
  provider: SingleSnapshotProvider;
  tls: AdsTls;
  lines: Array<Record<string, unknown>>;
}

async function startTlsServer(cfg: Partial<AdsTlsConfig> = {}, extra: { plaintextLoopbackPort?: number } = {}): Promise<Started> {
  const { logger, lines } = recordingLogger();
  const t = await adsCredentialsFromConfig({ certFile: fx.files.cert, keyFile: fx.files.key, settleMs: 20, pollIntervalMs: 0, ...cfg }, logger);
  tlsSets.push(t);
  const provider = new SingleSnapshotProvider(snapshot1);
  const server = new AdsServer({ provider, port: 0, logger, credentials: t.credentials, ...(t.authorizeNode ? { authorizeNode: t.authorizeNode } : {}), ...extra });
  servers.push(server);
  const port = await server.start();
  return { server, port, address: `127.0.0.1:${port}`, provider, tls: t, lines };
}

const mtls = (extra: Partial<AdsTlsConfig> = {}): Partial<AdsTlsConfig> => ({ clientCaFile: fx.files.clientCa, ...extra });
const identity = (extra: Partial<AdsTlsConfig> = {}): Partial<AdsTlsConfig> => mtls({ requireNodeIdentity: true, trustDomain: TRUST_DOMAIN, ...extra });

/** Channel credentials trusting `ca`, presenting `client` when given. */
function ssl(ca: string, client?: Pem): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(Buffer.from(ca), client ? Buffer.from(client.key) : null, client ? Buffer.from(client.cert) : null);
}

function sotw(address: string, nodeId: string, creds?: grpc.ChannelCredentials): SotwClient {
  const c = new SotwClient(address, { id: nodeId }, creds, CHANNEL_OPTIONS);
  clients.push(c);
  return c;
}

async function expectServed(c: SotwClient, clusters = ['cluster-a', 'cluster-b']): Promise<SotwResponse> {
  c.request(TypeUrl.Cluster);
  const r = await c.next(TypeUrl.Cluster);
  expect(r.resources.map((x) => x.name)).toEqual(clusters);
  return r;
}

async function expectRefused(c: SotwClient | DeltaClient, code: grpc.status): Promise<grpc.ServiceError> {
  if (c instanceof SotwClient) c.request(TypeUrl.Cluster);
  else c.request(TypeUrl.Cluster, { subscribe: ['*'] });
  await withTimeout(c.waitEnd(), { ...WAIT, describe: () => 'the stream was not ended' });
  expect(c.received).toEqual([]);
  expect(c.error, 'the stream ended with an error status').toBeDefined();
  const err = c.error as grpc.ServiceError;
  expect(grpc.status[err.code], err.details).toBe(grpc.status[code]);
  return err;
}

/** Opens a raw TLS connection (ALPN h2, as gRPC does) and returns the certificate the server presented. */
function presentedCertificate(port: number, ca: string, client?: Pem): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca, ALPNProtocols: ['h2'], ...(client ? { cert: client.cert, key: client.key } : {}) }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.once('error', (err) => {
      socket.destroy();
      reject(err);
    });
  });
}

let tmpSeq = 0;
/** Replaces a file atomically (write a temp file, rename it over), as rotation tooling does. */
async function replaceFile(file: string, content: string): Promise<void> {
  const tmp = `${file}.tmp-${++tmpSeq}`;
  await writeFile(tmp, content);
  await rename(tmp, file);
}

async function rotationDir(): Promise<{ cert: string; key: string; clientCa: string }> {
  const dir = await mkdtemp(path.join(fx.dir, 'rotate-'));
  const files = { cert: path.join(dir, 'tls.crt'), key: path.join(dir, 'tls.key'), clientCa: path.join(dir, 'ca.crt') };
  await Promise.all([writeFile(files.cert, fx.server.cert), writeFile(files.key, fx.server.key), writeFile(files.clientCa, fx.ca.cert)]);
  return files;
}

// ---- tests

describe('TLS on the ADS port', () => {
  it('refuses a plaintext client', async () => {
    const s = await startTlsServer();
    await expectRefused(sotw(s.address, 'edge-1'), grpc.status.UNAVAILABLE);
    expect(s.server.streamCount()).toBe(0);
  });

  it('refuses a client that does not trust the server certificate', async () => {
    const s = await startTlsServer();
    await expectRefused(sotw(s.address, 'edge-1', ssl(fx.otherCa.cert)), grpc.status.UNAVAILABLE);
    await expect(presentedCertificate(s.port, fx.otherCa.cert)).rejects.toThrow();
  });

  it('serves a client that trusts the server CA (server-only TLS: no client certificate asked)', async () => {
    const s = await startTlsServer();
    await expectServed(sotw(s.address, 'edge-1', ssl(fx.ca.cert)));
    const seen = await presentedCertificate(s.port, fx.ca.cert);
    expect(seen.serialNumber).toBe(fx.server.serialNumber);
    expect(s.lines.find((l) => l.event === 'tls_enabled')).toMatchObject({ serial: fx.server.serialNumber, clientCerts: 'off', nodeIdentity: 'off' });
  });
});

describe('mutual TLS', () => {
  it('refuses a client without a certificate and a client whose certificate another CA signed', async () => {
    const s = await startTlsServer(mtls());
    await expectRefused(sotw(s.address, 'edge-1', ssl(fx.ca.cert)), grpc.status.UNAVAILABLE);
    await expectRefused(sotw(s.address, 'edge-1', ssl(fx.ca.cert, fx.edge1OtherCa)), grpc.status.UNAVAILABLE);
    expect(s.server.streamCount()).toBe(0);
  });

  it('serves a client whose certificate the client CA signed', async () => {
    const s = await startTlsServer(mtls());
    await expectServed(sotw(s.address, 'edge-1', ssl(fx.ca.cert, fx.edge1)));
    expect(s.server.streamStatuses().map((st) => st.node.id)).toEqual(['edge-1']);
  });

  it('without node identity checks, any node id is served over a valid client certificate', async () => {
    const s = await startTlsServer(mtls());
    expect(s.tls.authorizeNode).toBeUndefined();
    await expectServed(sotw(s.address, 'edge-2', ssl(fx.ca.cert, fx.edge1)));
  });

  it('with optional client certificates, a client without one is served', async () => {
    const s = await startTlsServer(mtls({ requireClientCert: false }));
    await expectServed(sotw(s.address, 'edge-9', ssl(fx.ca.cert)));
  });
});

describe('node identity', () => {
  it('serves a node whose id its certificate names (SPIFFE URI SAN)', async () => {
    const s = await startTlsServer(identity());
    await expectServed(sotw(s.address, 'edge-1', ssl(fx.ca.cert, fx.edge1)));
    expect(s.lines.some((l) => l.event === 'stream_denied')).toBe(false);
  });

  it('refuses with PERMISSION_DENIED a stream whose node id the certificate does not name (SotW and delta), and logs it', async () => {
    const s = await startTlsServer(identity());
    const closed: string[] = [];
    s.server.on('close', (st) => closed.push(st.node?.id ?? ''));
    const err = await expectRefused(sotw(s.address, 'edge-2', ssl(fx.ca.cert, fx.edge1)), grpc.status.PERMISSION_DENIED);
    expect(err.details).toContain('TLS_NODE_DENIED');
    expect(err.details).toContain('"edge-2"');
    expect(err.details).toContain(spiffeNodeId(TRUST_DOMAIN, 'edge-1'));

    const delta = new DeltaClient(s.address, { id: 'edge-2' }, ssl(fx.ca.cert, fx.edge1), CHANNEL_OPTIONS);
    clients.push(delta);
    await expectRefused(delta, grpc.status.PERMISSION_DENIED);

    expect(s.server.streamCount()).toBe(0);
    expect(closed).toEqual(['edge-2', 'edge-2']);
    const denied = s.lines.filter((l) => l.event === 'stream_denied');
    expect(denied).toHaveLength(2);
    expect(denied[0]).toMatchObject({ code: 'TLS_NODE_DENIED', node: 'edge-2', protocol: 'sotw' });
    expect(denied[1]).toMatchObject({ code: 'TLS_NODE_DENIED', node: 'edge-2', protocol: 'delta' });
    // The same certificate with its own node id is still welcome.
    await expectServed(sotw(s.address, 'edge-1', ssl(fx.ca.cert, fx.edge1)));
  });

  it('falls back to the subject CN when the certificate has no node SPIFFE ID, unless that is turned off', async () => {
    const s = await startTlsServer(identity());
    await expectServed(sotw(s.address, 'edge-3', ssl(fx.ca.cert, fx.cnOnly)));
    const err = await expectRefused(sotw(s.address, 'edge-4', ssl(fx.ca.cert, fx.cnOnly)), grpc.status.PERMISSION_DENIED);
    expect(err.details).toContain('CN=edge-3');

    const strict = await startTlsServer(identity({ allowCommonName: false }));
    const refused = await expectRefused(sotw(strict.address, 'edge-3', ssl(fx.ca.cert, fx.cnOnly)), grpc.status.PERMISSION_DENIED);
    expect(refused.details).toContain('names no node');
  });

  it('refuses a node SPIFFE ID of another trust domain (and does not fall back to its CN)', async () => {
    const s = await startTlsServer(identity());
    const err = await expectRefused(sotw(s.address, 'edge-1', ssl(fx.ca.cert, fx.foreignDomain)), grpc.status.PERMISSION_DENIED);
    expect(err.details).toContain('spiffe://elsewhere.test/switchyard/node/edge-1');
  });

  it('refuses a stream without a client certificate when client certificates are optional', async () => {
    const s = await startTlsServer(identity({ requireClientCert: false }));
    const err = await expectRefused(sotw(s.address, 'edge-1', ssl(fx.ca.cert)), grpc.status.PERMISSION_DENIED);
    expect(err.details).toContain('no verified client certificate');
  });
});

describe('plaintext loopback listener (local proxyless gRPC clients)', () => {
  it('serves plaintext on 127.0.0.1 next to an mTLS port with node identity checks, in the same fleet', async () => {
    const s = await startTlsServer(identity(), { plaintextLoopbackPort: 0 });
    const plain = `127.0.0.1:${s.server.plaintextPort!}`;
    // No certificate, any node id: a local process (grpc-js-xds cannot speak TLS to its xDS server).
    await expectServed(sotw(plain, 'local-grpc'));
    expect(s.server.streamStatuses().map((st) => st.node.id)).toContain('local-grpc');
    // The TLS port is unchanged: plaintext and foreign identities are still refused there.
    await expectRefused(sotw(s.address, 'local-grpc'), grpc.status.UNAVAILABLE);
    await expectRefused(sotw(s.address, 'edge-2', ssl(fx.ca.cert, fx.edge1)), grpc.status.PERMISSION_DENIED);
    await expectServed(sotw(s.address, 'edge-1', ssl(fx.ca.cert, fx.edge1)));
  });
});

describe('certificate rotation without restart', () => {
  it('serves a replaced certificate to new connections while open streams keep working', async () => {
    const files = await rotationDir();
    const s = await startTlsServer({ certFile: files.cert, keyFile: files.key });
    const before = sotw(s.address, 'edge-before', ssl(fx.ca.cert));
    before.ack(await expectServed(before), []);
    expect((await presentedCertificate(s.port, fx.ca.cert)).serialNumber).toBe(fx.server.serialNumber);

    // The new certificate: another serial, and another CA (so only clients trusting it connect).
    const rotated = await fx.otherCa.issue({ cn: 'switchyard', sans: ['DNS:localhost', 'IP:127.0.0.1'] });
    const reloaded = s.tls.files.nextReload((e) => e.certificate.serialNumber === rotated.serialNumber);
    await replaceFile(files.key, rotated.key);
    await replaceFile(files.cert, rotated.cert);
    const e = await withTimeout(reloaded, { ...WAIT, describe: () => `no reload to serial ${rotated.serialNumber}; serving ${s.tls.files.current.certificate.serialNumber}` });
    expect(e).toMatchObject({ identityChanged: true, caChanged: false, reason: 'file change', previous: { serialNumber: fx.server.serialNumber } });

    // A new connection sees the new certificate...
    const seen = await presentedCertificate(s.port, fx.otherCa.cert);
    expect(seen.serialNumber).toBe(rotated.serialNumber);
    expect(seen.fingerprint256).toBe(rotated.fingerprint256);
    await expectServed(sotw(s.address, 'edge-after', ssl(fx.otherCa.cert)));
    // ...and a new client trusting only the old CA no longer connects.
    await expectRefused(sotw(s.address, 'edge-late', ssl(fx.ca.cert)), grpc.status.UNAVAILABLE);

    // Same server, same port: the stream opened before the rotation still gets updates.
    expect(s.server.port).toBe(s.port);
    s.provider.publish(snapshot2);
    const update = await before.next(TypeUrl.Cluster);
    expect(update.resources.map((r) => r.name)).toEqual(['cluster-a', 'cluster-b', 'cluster-c']);
    expect(before.ended).toBe(false);
    expect(s.lines.find((l) => l.event === 'tls_reloaded')).toMatchObject({ serial: rotated.serialNumber, previousSerial: fx.server.serialNumber });
  });

  it('keeps serving the current certificate while the new files do not match, and takes them once they do', async () => {
    const files = await rotationDir();
    const s = await startTlsServer({ certFile: files.cert, keyFile: files.key });
    const rotated = await fx.ca.issue({ cn: 'switchyard', sans: ['DNS:localhost', 'IP:127.0.0.1'] });

    // Step 1 of a careless rotation: the certificate is replaced, the key is not yet.
    const rejected = once(s.tls.files, 'rejected') as Promise<[SwitchyardError]>;
    await replaceFile(files.cert, rotated.cert);
    const [err] = await withTimeout(rejected, WAIT);
    expect(err.code).toBe('TLS_RELOAD_REJECTED');
    expect(err.message).toContain('TLS_KEY_MISMATCH');
    expect((await presentedCertificate(s.port, fx.ca.cert)).serialNumber).toBe(fx.server.serialNumber);
    await expectServed(sotw(s.address, 'edge-1', ssl(fx.ca.cert)));
    expect(s.lines.filter((l) => l.event === 'tls_reload_rejected')).toHaveLength(1);

    // Step 2: the key arrives; the pair is valid and served.
    const reloaded = s.tls.files.nextReload((e) => e.certificate.serialNumber === rotated.serialNumber);
    await replaceFile(files.key, rotated.key);
    await withTimeout(reloaded, WAIT);
    expect((await presentedCertificate(s.port, fx.ca.cert)).serialNumber).toBe(rotated.serialNumber);
  });

  it('reloads the client CA: new client certificates of the new CA are accepted, of the old one refused', async () => {
    const files = await rotationDir();
    const s = await startTlsServer({ certFile: files.cert, keyFile: files.key, clientCaFile: files.clientCa });
    const before = sotw(s.address, 'edge-1', ssl(fx.ca.cert, fx.edge1));
    before.ack(await expectServed(before), []);
    await expectRefused(sotw(s.address, 'edge-1', ssl(fx.ca.cert, fx.edge1OtherCa)), grpc.status.UNAVAILABLE);

    const reloaded = s.tls.files.nextReload((e) => e.caChanged);
    await replaceFile(files.clientCa, fx.otherCa.cert);
    expect(await withTimeout(reloaded, WAIT)).toMatchObject({ caChanged: true, identityChanged: false });

    await expectServed(sotw(s.address, 'edge-1', ssl(fx.ca.cert, fx.edge1OtherCa)));
    await expectRefused(sotw(s.address, 'edge-1', ssl(fx.ca.cert, fx.edge1)), grpc.status.UNAVAILABLE);
    // The stream authenticated under the old CA stays up.
    s.provider.publish(snapshot2);
    expect((await before.next(TypeUrl.Cluster)).resources.map((r) => r.name)).toEqual(['cluster-a', 'cluster-b', 'cluster-c']);
  });

  it('reload() re-reads on demand and reports unchanged files as unchanged', async () => {
    const files = await rotationDir();
    const s = await startTlsServer({ certFile: files.cert, keyFile: files.key });
    expect(await s.tls.files.reload()).toBe('unchanged');
  });
});

describe('TLS settings refused at start', () => {
  const codeOf = async (p: Promise<unknown>): Promise<string> => {
    try {
      await p;
    } catch (err) {
      if (err instanceof SwitchyardError) return err.code;
      throw err;
    }
    return 'accepted';
  };

  it('names the problem with a TLS_ code before anything listens', async () => {
    const { cert, key, clientCa } = fx.files;
    const garbage = path.join(fx.dir, 'garbage.pem');
    await writeFile(garbage, 'not a certificate\n');
    const otherKey = path.join(fx.dir, 'other.key');
    await writeFile(otherKey, fx.edge1.key);
    expect(await codeOf(adsCredentialsFromConfig({ certFile: cert, keyFile: '' }))).toBe('TLS_INCOMPLETE');
    expect(await codeOf(adsCredentialsFromConfig({ certFile: cert, keyFile: key, requireClientCert: true }))).toBe('TLS_INCOMPLETE');
    expect(await codeOf(adsCredentialsFromConfig({ certFile: cert, keyFile: key, requireNodeIdentity: true }))).toBe('TLS_IDENTITY_WITHOUT_CA');
    expect(await codeOf(adsCredentialsFromConfig({ certFile: path.join(fx.dir, 'missing.crt'), keyFile: key }))).toBe('TLS_FILE_UNREADABLE');
    expect(await codeOf(adsCredentialsFromConfig({ certFile: garbage, keyFile: key }))).toBe('TLS_BAD_CERT');
    expect(await codeOf(adsCredentialsFromConfig({ certFile: cert, keyFile: garbage }))).toBe('TLS_BAD_KEY');
    expect(await codeOf(adsCredentialsFromConfig({ certFile: cert, keyFile: otherKey }))).toBe('TLS_KEY_MISMATCH');
    expect(await codeOf(adsCredentialsFromConfig({ certFile: cert, keyFile: key, clientCaFile: garbage }))).toBe('TLS_BAD_CA');
    const ok = await adsCredentialsFromConfig({ certFile: cert, keyFile: key, clientCaFile: clientCa, pollIntervalMs: 0 });
    tlsSets.push(ok);
    expect(ok.files.current.caFingerprints).toEqual([fx.ca.pem.fingerprint256]);
  });
});

describe('node identity rule (units)', () => {
  const cert = (over: Partial<PeerCertificateInfo>): PeerCertificateInfo => ({ commonName: undefined, uris: [], dnsNames: [], serialNumber: '01', fingerprint256: 'AA', validTo: '', ...over });

  it('parses Node subjectaltname strings, quoted values included', () => {
    expect(parseSubjectAltNames('DNS:localhost, IP Address:127.0.0.1, URI:spiffe://td/switchyard/node/a')).toEqual([
      { type: 'DNS', value: 'localhost' },
      { type: 'IP Address', value: '127.0.0.1' },
      { type: 'URI', value: 'spiffe://td/switchyard/node/a' },
    ]);
    expect(parseSubjectAltNames('URI:"spiffe://td/x, y", DNS:b')).toEqual([
      { type: 'URI', value: 'spiffe://td/x, y' },
      { type: 'DNS', value: 'b' },
    ]);
    expect(parseSubjectAltNames(undefined)).toEqual([]);
  });

  it('prefers node SPIFFE IDs over the CN, filters by trust domain, ignores other SPIFFE paths', () => {
    expect(certificateNodeIdentity(cert({ commonName: 'cn-node', uris: [spiffeNodeId('td', 'edge-1')] })).nodeIds).toEqual(['edge-1']);
    expect(certificateNodeIdentity(cert({ commonName: 'cn-node', uris: ['spiffe://td/ns/default/sa/envoy'] })).nodeIds).toEqual(['cn-node']);
    expect(certificateNodeIdentity(cert({ uris: [spiffeNodeId('other', 'edge-1')] }), { trustDomain: 'td' }).nodeIds).toEqual([]);
    expect(certificateNodeIdentity(cert({ uris: [spiffeNodeId('TD', 'edge-1')] }), { trustDomain: 'td' }).nodeIds).toEqual(['edge-1']);
    expect(certificateNodeIdentity(cert({ uris: ['spiffe://td/switchyard/node/a/b'] })).nodeIds).toEqual([]);
    expect(certificateNodeIdentity(cert({ commonName: 'x' }), { allowCommonName: false }).nodeIds).toEqual([]);
  });
});
