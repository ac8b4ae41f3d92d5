// Pure parts of the admin API and CLI: JSON diffs, traffic shares, sync status, auth checks,
// address parsing.
import { describe, expect, it } from 'vitest';
import { diffJson } from '../../src/admin/diff.js';
import { diffShares, sharesFromRoutes, sharesFromTable } from '../../src/admin/shares.js';
import { proxyView, syncStatus } from '../../src/admin/proxies.js';
import { bearerMatches, isLoopback } from '../../src/admin/http.js';
import { truncateLabel } from '../../src/admin/metrics.js';
import { parseAdminAddress } from '../../src/cli/client.js';
import { CliError } from '../../src/cli/io.js';
import type { ResolverTable } from '../../src/compile/types.js';
import type { StreamStatus, TypeStatus } from '../../src/xds/stream-status.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { topologySnapshot } from '../helpers/snapshots.js';

describe('diffJson', () => {
  it('reports changed, added and removed fields with their JSON paths', () => {
    const a = { name: 'c', connect_timeout: '1s', circuit_breakers: { thresholds: [{ max_requests: 10 }] }, old: true };
    const b = { name: 'c', connect_timeout: '2s', circuit_breakers: { thresholds: [{ max_requests: 10 }, { max_requests: 5 }] }, added: 1 };
    expect(diffJson(a, b)).toEqual([
      { path: 'connect_timeout', kind: 'changed', old: '1s', new: '2s' },
      { path: 'circuit_breakers.thresholds[1]', kind: 'added', new: { max_requests: 5 } },
      { path: 'old', kind: 'removed', old: true },
      { path: 'added', kind: 'added', new: 1 },
    ]);
  });

  it('matches named array elements by name, so an inserted route is one change', () => {
    const route = (name: string, cluster: string) => ({ name, route: { cluster } });
    const a = { routes: [route('r1', 'a'), route('r3', 'a')] };
    const b = { routes: [route('r1', 'a'), route('r2', 'b'), route('r3', 'c')] };
    expect(diffJson(a, b)).toEqual([
      { path: 'routes[name=r2]', kind: 'added', new: route('r2', 'b') },
      { path: 'routes[name=r3].route.cluster', kind: 'changed', old: 'a', new: 'c' },
    ]);
  });

  it('reports a changed order of named elements (route order is match order)', () => {
    const a = { routes: [{ name: 'x' }, { name: 'y' }] };
    const b = { routes: [{ name: 'y' }, { name: 'x' }] };
    expect(diffJson(a, b)).toEqual([{ path: 'routes', kind: 'reordered', old: ['x', 'y'], new: ['y', 'x'] }]);
  });

  it('quotes keys that are not identifiers and finds nothing in equal documents', () => {
    expect(diffJson({ 'a-b': 1 }, { 'a-b': 2 })).toEqual([{ path: '["a-b"]', kind: 'changed', old: 1, new: 2 }]);
    expect(diffJson({ x: [1, { y: 2 }] }, { x: [1, { y: 2 }] })).toEqual([]);
  });
});

function table(objectives: ResolverTable['objectives']): ResolverTable {
  return { objectives, models: {}, clients: {} };
}

const base = { timeoutMs: 100, retries: 0, routingKeys: {}, overrides: [] };

describe('traffic shares', () => {
  it('follows the resolver precedence: experiment cells, then the shift, then the default model', () => {
    const t = table({
      Plain: { ...base, name: 'Plain', defaultModel: 'm1', experiments: [] },
      Shifted: { ...base, name: 'Shifted', defaultModel: 'm1', experiments: [], shift: { name: 's', from: 'm1', to: 'm2', percent: 12.5, stepIndex: 0, salt: 'shift:s' } },
      Tested: {
        ...base,
        name: 'Tested',
        defaultModel: 'm1',
        experiments: [
          {
            abTestId: '1',
            salt: 'ab1',
            cells: [
              { id: 'a', model: 'm1', percent: 70, bucketStart: 0, bucketEnd: 7000 },
              { id: 'b', model: 'm3', percent: 30, bucketStart: 7000, bucketEnd: 10000 },
            ],
          },
        ],
        shift: { name: 's2', from: 'm1', to: 'm2', percent: 50, stepIndex: 0, salt: 'shift:s2' },
      },
    });
    expect(sharesFromTable(t)).toEqual({ Plain: { m1: 100 }, Shifted: { m1: 87.5, m2: 12.5 }, Tested: { m1: 70, m3: 30 } });
  });

  it('lets users an experiment does not cover fall through to the shift', () => {
    const t = table({
      O: {
        ...base,
        name: 'O',
        defaultModel: 'd',
        experiments: [{ abTestId: '1', salt: 's', cells: [{ id: 'a', model: 'x', percent: 20, bucketStart: 0, bucketEnd: 2000 }] }],
        shift: { name: 's', from: 'd', to: 'n', percent: 50, stepIndex: 0, salt: 'shift:s' },
      },
    });
    expect(sharesFromTable(t)).toEqual({ O: { d: 40, n: 40, x: 20 } });
  });

  it('reads default models from the fallback routes when no table is known', () => {
    const rc = {
      name: 'model-serving',
      virtual_hosts: [
        {
          name: 'model-serving',
          routes: [
            { name: 'rk:A/m1', response_headers_to_add: [{ header: { key: 'x-switchyard-model', value: 'm1' } }] },
            { name: 'objective:A', response_headers_to_add: [{ header: { key: 'x-switchyard-model', value: 'm2' } }] },
          ],
        },
      ],
    };
    expect(sharesFromRoutes([rc])).toEqual({ A: { m2: 100 } });
  });

  it('diffs shares per objective and model', () => {
    expect(diffShares({ A: { m1: 100 }, Gone: { g: 100 } }, { A: { m1: 75, m2: 25 }, New: { n: 100 } })).toEqual([
      { objective: 'A', status: 'changed', models: [{ model: 'm1', before: 100, after: 75, delta: -25 }, { model: 'm2', before: 0, after: 25, delta: 25 }] },
      { objective: 'Gone', status: 'removed', models: [{ model: 'g', before: 100, after: 0, delta: -100 }] },
      { objective: 'New', status: 'added', models: [{ model: 'n', before: 0, after: 100, delta: 100 }] },
    ]);
  });
});

function typeStatus(typeUrl: string, over: Partial<TypeStatus> = {}): TypeStatus {
  return {
    typeUrl,
    type: '',
    wildcard: false,
    subscribed: ['x'],
    lastSentVersion: 'v',
    lastSentNonce: '1',
    lastSentAt: '2024-01-01T00:00:00.000Z',
    ackedVersion: 'v',
    ackedAt: '2024-01-01T00:00:01.000Z',
    ackedSnapshot: 'LIVE',
    pendingAck: false,
    waitingFor: [],
    lastNack: null,
    ...over,
  };
}

describe('sync status', () => {
  it('classifies SYNCED, STALE, NACKED and NOT SENT', () => {
    expect(syncStatus(typeStatus(TypeUrl.Cluster), 'LIVE')).toBe('SYNCED');
    expect(syncStatus(typeStatus(TypeUrl.Cluster, { ackedSnapshot: 'OLD' }), 'LIVE')).toBe('STALE');
    expect(syncStatus(typeStatus(TypeUrl.Cluster, { ackedSnapshot: '' }), 'LIVE')).toBe('STALE');
    expect(syncStatus(typeStatus(TypeUrl.Cluster, { lastSentVersion: '', ackedSnapshot: '', ackedAt: null }), 'LIVE')).toBe('NOT SENT');
    const nack = { version: 'v2', message: 'bad', at: '2024-01-01T00:00:02.000Z' };
    expect(syncStatus(typeStatus(TypeUrl.Cluster, { lastNack: nack }), 'LIVE')).toBe('NACKED');
    // An ACK after the NACK clears it.
    expect(syncStatus(typeStatus(TypeUrl.Cluster, { lastNack: nack, ackedAt: '2024-01-01T00:00:03.000Z' }), 'LIVE')).toBe('SYNCED');
  });

  it('calls a proxyless client converged only with all four types synced and its routed clusters subscribed', () => {
    const snap = topologySnapshot({ clusters: { a: [1], b: [2] }, routes: { 'O/m1': 'a', 'O/m2': 'b' } });
    const st = (clusters: string[]): StreamStatus => ({
      streamId: 's1',
      protocol: 'sotw',
      peer: 'ipv4:127.0.0.1:1',
      node: { id: 'n', cluster: 'c', userAgent: 'gRPC Node Pure JS/1.14.1' },
      connectedSince: '2024-01-01T00:00:00.000Z',
      types: [
        typeStatus(TypeUrl.Cluster, { subscribed: clusters, ackedSnapshot: snap.version }),
        typeStatus(TypeUrl.ClusterLoadAssignment, { subscribed: clusters, ackedSnapshot: snap.version }),
        typeStatus(TypeUrl.Listener, { subscribed: ['model-serving'], ackedSnapshot: snap.version }),
        typeStatus(TypeUrl.RouteConfiguration, { subscribed: ['model-serving'], ackedSnapshot: snap.version }),
      ],
    });
    const full = proxyView(st(['a', 'b']), snap);
    expect(full.client).toBe('grpc');
    expect(full.converged).toBe(true);
    expect(full.version).toBe(snap.version);
    expect(proxyView(st(['a']), snap).converged).toBe(false);
    const noRoutes = { ...st(['a', 'b']), types: st(['a', 'b']).types.slice(0, 3) };
    const view = proxyView(noRoutes, snap);
    expect(view.converged).toBe(false);
    expect(view.types.find((t) => t.typeUrl === TypeUrl.RouteConfiguration)?.status).toBe('NOT SUBSCRIBED');
  });
});

describe('auth and addresses', () => {
  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '192.168.1.1']) expect(isLoopback(h), h).toBe(false);
  });

  it('checks bearer tokens', () => {
    expect(bearerMatches('Bearer s3cret', 's3cret')).toBe(true);
    expect(bearerMatches('bearer  s3cret ', 's3cret')).toBe(true);
    expect(bearerMatches('Bearer wrong', 's3cret')).toBe(false);
    expect(bearerMatches('Basic s3cret', 's3cret')).toBe(false);
    expect(bearerMatches(undefined, 's3cret')).toBe(false);
  });

  it('parses admin addresses', () => {
    expect(parseAdminAddress('127.0.0.1:19000')).toEqual({ host: '127.0.0.1', port: 19000 });
    expect(parseAdminAddress('http://admin.internal:8080/')).toEqual({ host: 'admin.internal', port: 8080 });
    expect(parseAdminAddress('[::1]:19000')).toEqual({ host: '::1', port: 19000 });
    expect(() => parseAdminAddress('localhost')).toThrow(CliError);
    expect(() => parseAdminAddress('host:99999')).toThrow(/not host:port/);
  });

  it('cuts NACK messages for the metric label', () => {
    expect(truncateLabel('a\n  b')).toBe('a b');
    const long = truncateLabel('x'.repeat(500));
    expect(long).toHaveLength(200);
    expect(long.endsWith('…')).toBe(true);
  });
});
