import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile/compile.js';
import { canonicalize } from '../../src/compile/order.js';
import type { ResolverTable } from '../../src/compile/types.js';
import { decodeMessage, encodeMessage } from '../../src/proto/messages.js';
import { TypeUrl, typeNameOf } from '../../src/proto/type-urls.js';
import { createSnapshot } from '../../src/snapshot/snapshot.js';
import { compileResolver } from '../../src/resolver/resolve.js';
import { RESOLVER_TABLE_MESSAGE, RESOLVER_TABLE_RESOURCE_NAME, resolverTableFromMessage, resolverTableToMessage } from '../../src/resolver/table-message.js';
import { fullRules, ruleSet } from '../compile/fixtures.js';
import { MODELS, cells, experiment, fullTable, model, objective, resolveErrorOf, shift, table, userIds } from './fixtures.js';

function roundTrip(t: ResolverTable): { back: ResolverTable; bytes: Uint8Array } {
  const bytes = encodeMessage(RESOLVER_TABLE_MESSAGE, resolverTableToMessage(t));
  return { back: resolverTableFromMessage(decodeMessage(RESOLVER_TABLE_MESSAGE, bytes)), bytes };
}

const canonical = (v: unknown): string => JSON.stringify(canonicalize(v));

/** Edge cases proto3 drops on the wire: empty strings, zeros, false, empty lists and maps. */
function edgeTable(): ResolverTable {
  const awkward = model('awkward', { a: '', b: 0, c: false, d: [], e: {}, f: [1, 'x', null, { g: [true, -0.5] }], ü: -1.5e-300, big: 2 ** 53 - 1, 'with space': 'é😀' }, '');
  return table(
    [
      objective('Edge', 'awkward', {
        experiments: [experiment('0', cells(['zero', 'awkward', 0], ['all', 'rank-v1', 100]), '')],
        shift: { ...shift('edge-shift', 'awkward', 'rank-v2', 0), stepIndex: 0, salt: '' },
        overrides: [{ name: 'h', model: 'rank-v1', header: { name: 'x-h', value: '' } }, { name: 'c', model: 'rank-v2', client: '' }],
        timeoutMs: 0,
        retries: 0,
        modelType: '',
      }),
    ],
    [...MODELS, awkward],
    { '': false, t: true },
  );
}

describe('resolver table message', () => {
  it('round-trips the full fixture exactly', () => {
    const t = fullTable();
    const { back } = roundTrip(t);
    expect(back).toStrictEqual(canonicalize(t));
    expect(canonical(back)).toBe(canonical(t));
  });

  it('round-trips proto3 defaults (empty strings, zeros, false, empty lists and objects) exactly', () => {
    const t = edgeTable();
    const { back } = roundTrip(t);
    expect(back).toStrictEqual(canonicalize(t));
    expect(back.models.awkward!.params).toStrictEqual(canonicalize(t.models.awkward!.params));
    expect(back.objectives.Edge!.shift).toStrictEqual(t.objectives.Edge!.shift);
  });

  it('round-trips the table the compiler builds, and the result resolves the same', () => {
    const t = compile(ruleSet(fullRules())).resolverTable;
    const { back } = roundTrip(t);
    expect(back).toStrictEqual(canonicalize(t));
    const a = compileResolver(t, 'v');
    const b = compileResolver(back, 'v');
    for (const name of a.objectives) {
      for (const userId of userIds(200, 4)) {
        const ctx = { objective: name, userId };
        expect(b.resolve(ctx)).toEqual(a.resolve(ctx));
      }
    }
  });

  it('is an xDS resource named "resolver-table" of type switchyard.v1.ResolverTable', () => {
    expect(RESOLVER_TABLE_MESSAGE).toBe(typeNameOf(TypeUrl.ResolverTable));
    const msg = resolverTableToMessage(fullTable());
    expect(msg.name).toBe(RESOLVER_TABLE_RESOURCE_NAME);
    expect(decodeMessage(RESOLVER_TABLE_MESSAGE, encodeMessage(RESOLVER_TABLE_MESSAGE, msg)).name).toBe('resolver-table');
  });

  it('goes into a snapshot as the resource "resolver-table", and decodes back from its bytes', () => {
    const t = fullTable();
    const snapshot = createSnapshot({ [TypeUrl.ResolverTable]: [resolverTableToMessage(t)] });
    const resource = snapshot.resource(TypeUrl.ResolverTable, RESOLVER_TABLE_RESOURCE_NAME);
    expect(resource).toBeDefined();
    expect(resolverTableFromMessage(decodeMessage(RESOLVER_TABLE_MESSAGE, resource!.bytes))).toStrictEqual(canonicalize(t));
  });

  it('is deterministic: the same table in any key order encodes to the same bytes, sorted by name', () => {
    const t = fullTable();
    const reversed: ResolverTable = {
      clients: Object.fromEntries(Object.entries(t.clients).reverse()),
      models: Object.fromEntries(Object.entries(t.models).reverse().map(([k, m]) => [k, { ...m, params: Object.fromEntries(Object.entries(m.params).reverse()) }])),
      objectives: Object.fromEntries(
        Object.entries(t.objectives)
          .reverse()
          .map(([k, o]) => [k, { ...o, routingKeys: Object.fromEntries(Object.entries(o.routingKeys).reverse()) }]),
      ),
    };
    expect(Buffer.from(roundTrip(reversed).bytes).equals(Buffer.from(roundTrip(t).bytes))).toBe(true);
    const msg = resolverTableToMessage(reversed) as { objectives: { name: string }[]; models: { name: string }[] };
    expect(msg.objectives.map((o) => o.name)).toEqual(['Combo', 'ContinueWatchingRanking', 'Plain', 'SearchRanking']);
    expect(msg.models.map((m) => m.name)).toEqual([...msg.models.map((m) => m.name)].sort());
  });

  it('keeps experiments, cells and overrides in table order (precedence order)', () => {
    const { back } = roundTrip(fullTable());
    expect(back.objectives.ContinueWatchingRanking!.experiments[0]!.cells.map((c) => c.id)).toEqual(['control', 'cell2', 'cell3']);
    expect(back.objectives.ContinueWatchingRanking!.overrides.map((o) => o.name)).toEqual(['cwr-qa-bot', 'cwr-header']);
  });

  it('refuses params that are not JSON data, and malformed messages, with RESOLVE_BAD_TABLE', () => {
    for (const params of [{ x: Number.NaN }, { x: Infinity }, { x: () => 1 }, { x: [undefined] }, { x: 1n }, { x: new Date(0) }]) {
      const t = table([objective('O', 'm')], [model('m', params as Record<string, unknown>)]);
      expect(resolveErrorOf(() => resolverTableToMessage(t)).code).toBe('RESOLVE_BAD_TABLE');
    }
    for (const decoded of [null, 'x', { objectives: 'nope' }, { objectives: [{ name: 1 }] }, { models: [{ name: 'm', params: { fields: { a: {} } } }] }, { clients: [{ name: 'a' }, { name: 'a' }] }]) {
      expect(resolveErrorOf(() => resolverTableFromMessage(decoded)).code).toBe('RESOLVE_BAD_TABLE');
    }
  });
});
