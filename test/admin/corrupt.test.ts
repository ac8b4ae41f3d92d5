// Damaged files in the snapshot directory (truncated, garbage, wrong integrity digest) are skipped
// with an error at start, listed by the admin API and the CLI, counted in /metrics, and never stop
// a valid snapshot from being served (readyz stays 200).
import { afterEach, describe, expect, it } from 'vitest';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import type { RunningSwitchyard } from '../../src/app/switchyard.js';
import { startSwitchyard } from '../../src/app/switchyard.js';
import type { SnapshotListView } from '../../src/admin/types.js';
import { testConfig } from '../helpers/app.js';
import { api, capturingLogger, cli, rankingRules, removeDirs, saveAndReload, tempDir } from './fixtures.js';

let app: RunningSwitchyard | undefined;
const dirs: string[] = [];

afterEach(async () => {
  await app?.stop();
  app = undefined;
  await removeDirs(dirs);
});

describe('damaged snapshot files', () => {
  it('are skipped with an error on start, listed with their problem, and a valid snapshot keeps serving', async () => {
    const rules = await tempDir('corrupt-rules');
    dirs.push(rules);
    const file = path.join(rules, 'ranking.yaml');
    await writeFile(file, rankingRules({ a: 9001, b: 9002 }, 'ranker-v1'));
    const config = await testConfig(rules, { quietMs: 30, maxDelayMs: 500, admin: { host: '127.0.0.1', port: 0 } });
    dirs.push(config.snapshotDir);

    app = await startSwitchyard(config, pino({ level: 'silent' }));
    await saveAndReload(app, file, rankingRules({ a: 9001, b: 9002 }, 'ranker-v2'));
    const live = app.provider.snapshot!.version;
    await app.stop();
    app = undefined;

    const snaps = (await readdir(config.snapshotDir)).filter((f) => f.endsWith('.snap')).sort();
    expect(snaps).toHaveLength(2);
    const good = await readFile(path.join(config.snapshotDir, snaps[1]!));
    const truncated = '00000010-aaaaaaaaaaaaaaaa.snap';
    const garbage = '00000011-bbbbbbbbbbbbbbbb.snap';
    const wrongDigest = '00000012-cccccccccccccccc.snap';
    await writeFile(path.join(config.snapshotDir, truncated), good.subarray(0, Math.floor(good.length / 2)));
    await writeFile(path.join(config.snapshotDir, garbage), Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0a]));
    // The first line is `switchyard-snapshot 2 sha256:<hex>`: zero the start of the digest.
    const wrong = Buffer.from(good);
    wrong.write('00000000', 'switchyard-snapshot 2 sha256:'.length, 'latin1');
    await writeFile(path.join(config.snapshotDir, wrongDigest), wrong);

    const { logger, lines } = capturingLogger();
    app = await startSwitchyard(config, logger);
    expect(app.provider.snapshot!.version).toBe(live);

    const skipped = lines.filter((l) => l.event === 'snapshot_file_skipped');
    expect(skipped.every((l) => l.level === 50)).toBe(true);
    expect(Object.fromEntries(skipped.map((l) => [l.file, l.code]))).toEqual({
      [truncated]: 'STORE_TRUNCATED',
      [garbage]: 'STORE_GARBAGE',
      [wrongDigest]: 'STORE_INTEGRITY_MISMATCH',
    });

    const ready = await api(app, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ live });

    const list = await api<SnapshotListView>(app, 'GET', '/v1/snapshots');
    expect(list.body.snapshots.map((s) => s.version)).toEqual([live, expect.any(String)]);
    expect(list.body.problems.map((p) => [p.file, p.code])).toEqual([
      [truncated, 'STORE_TRUNCATED'],
      [garbage, 'STORE_GARBAGE'],
      [wrongDigest, 'STORE_INTEGRITY_MISMATCH'],
    ]);

    const ls = await cli(app, ['snapshots', 'ls']);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toContain('3 damaged files in the snapshot directory (skipped, never served):');
    expect(ls.stdout).toMatch(new RegExp(`${wrongDigest}\\s+STORE_INTEGRITY_MISMATCH\\s+recorded integrity`));

    expect((await api(app, 'GET', '/metrics')).text).toMatch(/^switchyard_snapshot_store_problems 3$/m);
    // A damaged file is never served, not even by an explicit request for its version.
    const show = await api(app, 'GET', '/v1/snapshots/cccccccccccccccc');
    expect(show.status).toBe(404);
    expect(show.body).toMatchObject({ code: 'STORE_UNKNOWN_VERSION', message: expect.stringContaining(wrongDigest) });
  });
});
