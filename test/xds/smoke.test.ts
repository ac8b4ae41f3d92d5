import { afterEach, describe, expect, it } from 'vitest';
import { AdsServer } from '../../src/xds/server.js';
import { SingleSnapshotProvider } from '../../src/xds/provider.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { SotwClient } from '../helpers/ads-client.js';
import { topologySnapshot } from '../helpers/snapshots.js';

let server: AdsServer | undefined;
afterEach(async () => server?.stop(100));

describe('smoke', () => {
  it('serves CDS to a wildcard client', async () => {
    const provider = new SingleSnapshotProvider(topologySnapshot({ clusters: { a: [1], b: [2] }, routes: { k: 'a' } }));
    server = new AdsServer({ provider, port: 0 });
    const port = await server.start();
    const c = new SotwClient(`127.0.0.1:${port}`, { id: 'n1' });
    c.request(TypeUrl.Cluster);
    const r = await c.next(TypeUrl.Cluster);
    expect(r.resources.map((x) => x.name)).toEqual(['a', 'b']);
    c.close();
  });
});
