// The live resolver answers from the table inside the served snapshot (so rollbacks roll it back).
import { describe, expect, it } from 'vitest';
import { loadRuleDir } from '../../src/rules/load.js';
import { compile } from '../../src/compile/compile.js';
import { createSnapshot, type Snapshot } from '../../src/snapshot/snapshot.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { resolverTableToMessage } from '../../src/resolver/table-message.js';
import { LiveResolver } from '../../src/resolver/live.js';
import { resolve } from '../../src/resolver/resolve.js';

describe('LiveResolver', () => {
  it('resolves with the table of the served snapshot, at that table version', async () => {
    const loaded = await loadRuleDir('rules');
    if (!loaded.ok) throw new Error('rules/ must load');
    const { resources, resolverTable } = compile(loaded.ruleSet);
    const snapshot = createSnapshot({ ...resources, [TypeUrl.ResolverTable]: [resolverTableToMessage(resolverTable)] });
    const source: { snapshot: Snapshot | undefined } = { snapshot: undefined };
    const live = new LiveResolver(source);
    expect(live.current()).toBeUndefined();
    source.snapshot = snapshot;
    const ctx = { objective: 'ContinueWatchingRanking', userId: 'user-42' };
    const viaSnapshot = live.current()!.resolve(ctx);
    expect(viaSnapshot.objectiveConfig.tableVersion).toBe(snapshot.type(TypeUrl.ResolverTable)!.version);
    const direct = resolve(resolverTable, ctx, 'direct');
    expect(viaSnapshot.routingKey).toBe(direct.routingKey);
    expect(viaSnapshot.objectiveConfig.model).toBe(direct.objectiveConfig.model);
    expect(live.current()).toBe(live.current());
  });
});
