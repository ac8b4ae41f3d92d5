// `switchyard serve` with TLS settings from the environment: the whole control plane serves ADS
// over mutual TLS, refuses plaintext, and checks node identities.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { serveConfig } from '../../src/cli/serve.js';
import { startSwitchyard, type RunningSwitchyard } from '../../src/app/switchyard.js';
import { silentLogger } from '../../src/log.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { SotwClient } from '../helpers/ads-client.js';
import { TestCa, type Pem } from '../helpers/certs.js';

let app: RunningSwitchyard;
let ca: TestCa;
let client1: Pem;

beforeAll(async () => {
  ca = await TestCa.create('Serve Test CA');
  const [server, edge1] = await Promise.all([
    ca.issue({ cn: 'switchyard', sans: ['DNS:localhost', 'IP:127.0.0.1'] }),
    ca.issue({ cn: 'edge-1', sans: ['URI:spiffe://switchyard.test/switchyard/node/edge-1'] }),
  ]);
  client1 = edge1;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-serve-tls-'));
  const f = (n: string): string => path.join(dir, n);
  await Promise.all([writeFile(f('s.crt'), server.cert), writeFile(f('s.key'), server.key), writeFile(f('ca.pem'), ca.cert)]);
  const env = {
    SWITCHYARD_TLS_CERT: f('s.crt'),
    SWITCHYARD_TLS_KEY: f('s.key'),
    SWITCHYARD_TLS_CLIENT_CA: f('ca.pem'),
    SWITCHYARD_REQUIRE_NODE_IDENTITY: '1',
  };
  const config = serveConfig({ rulesDir: path.resolve('rules'), adsPort: 0, watch: false, admin: false, snapshotDir: await mkdtemp(path.join(os.tmpdir(), 'switchyard-snap-')) }, env);
  app = await startSwitchyard(config, silentLogger());
}, 60_000);
afterAll(async () => app?.stop());

function tlsClient(nodeId: string): SotwClient {
  const creds = grpc.credentials.createSsl(Buffer.from(ca.cert), Buffer.from(client1.key), Buffer.from(client1.cert));
  return new SotwClient(`127.0.0.1:${app.adsPort}`, { id: nodeId }, creds);
}

describe('serve with TLS from the environment', () => {
  it('serves a client whose certificate names its node', async () => {
    const c = tlsClient('edge-1');
    c.request(TypeUrl.Cluster);
    const r = await c.next(TypeUrl.Cluster);
    expect(r.resources.length).toBeGreaterThan(0);
    c.close();
  });

  it('refuses a node id the certificate does not carry, and plaintext', async () => {
    const wrong = tlsClient('edge-2');
    wrong.request(TypeUrl.Cluster);
    await wrong.waitEnd();
    expect((wrong.error as grpc.ServiceError | undefined)?.code).toBe(grpc.status.PERMISSION_DENIED);
    wrong.close();
    const plain = new SotwClient(`127.0.0.1:${app.adsPort}`, { id: 'edge-1' });
    plain.request(TypeUrl.Cluster);
    await plain.waitEnd();
    expect(plain.error).toBeDefined();
    plain.close();
  });
});
