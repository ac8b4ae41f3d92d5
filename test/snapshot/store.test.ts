import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { buildEdsCluster } from '../../src/proto/builders.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { createSnapshot, type Snapshot } from '../../src/snapshot/snapshot.js';
import { snapshotFromEncoded } from '../../src/snapshot/restore.js';
import { SnapshotStore, filesDigest, type SnapshotStoreOptions, type StoreProblem } from '../../src/snapshot/store.js';
import { parseSnapshotFile } from '../../src/snapshot/store-format.js';
import { AggregateSwitchyardError, SwitchyardError } from '../../src/errors/catalog.js';
import { topologySnapshot, wideSnapshot } from '../helpers/snapshots.js';
import { resourcesOf, sealSnapshotFile, splitSnapshotFile } from '../helpers/snapshot-files.js';

const DAY = 24 * 60 * 60 * 1000;

/** Distinct, consistent snapshots: the port of cluster "a" varies. */
function snap(i: number): Snapshot {
  return topologySnapshot({ clusters: { a: [1000 + i], b: [2000] }, routes: { 'o/a': 'a', 'o/b': 'b' } });
}

function captureLogger(): { logger: pino.Logger; events: Array<Record<string, unknown>> } {
  const events: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void events.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, events };
}

/** Every resource of `b` carries the same bytes, wire fragments and references as in `a`. */
function expectSameResources(a: Snapshot, b: Snapshot): void {
  expect(b.typeUrls()).toEqual(a.typeUrls());
  for (const t of a.typeUrls()) {
    expect(b.type(t)!.names).toEqual(a.type(t)!.names);
    for (const r of a.type(t)!.resources.values()) {
      const o = b.resource(t, r.name)!;
      expect(Buffer.compare(Buffer.from(o.bytes), Buffer.from(r.bytes))).toBe(0);
      expect(o.sotwField.equals(r.sotwField)).toBe(true);
      expect(o.deltaField.equals(r.deltaField)).toBe(true);
      expect(o.version).toBe(r.version);
      expect(o.refs).toEqual(r.refs);
    }
  }
}

let dir: string;
const opened: string[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'switchyard-store-'));
  opened.push(dir);
});

afterEach(async () => {
  while (opened.length > 0) await rm(opened.pop()!, { recursive: true, force: true });
});

function open(options: SnapshotStoreOptions = {}): Promise<SnapshotStore> {
  return SnapshotStore.open({ dir, ...options });
}

async function snapFiles(d = dir): Promise<string[]> {
  return (await readdir(d)).filter((n) => n.endsWith('.snap')).sort();
}

async function expectStoreError(p: Promise<unknown>, code: string): Promise<SwitchyardError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SwitchyardError);
  expect((err as SwitchyardError).code).toBe(code);
  return err as SwitchyardError;
}

describe('snapshotFromEncoded', () => {
  it('rebuilds identical resources, versions and references from stored bytes, without re-encoding', () => {
    for (const original of [snap(1), wideSnapshot(40)]) {
      const input: Record<string, Array<{ name: string; bytes: Uint8Array }>> = {};
      for (const t of original.typeUrls()) input[t] = [...original.type(t)!.resources.values()].map((r) => ({ name: r.name, bytes: r.bytes }));
      const restored = snapshotFromEncoded(input);
      expect(restored.version).toBe(original.version);
      expect(restored.typeVersions()).toEqual(original.typeVersions());
      expectSameResources(original, restored);
      // Listener -> RouteConfiguration edges come from the packed HttpConnectionManager.
      expect(restored.resource(TypeUrl.Listener, 'model-serving')!.refs.routeConfigs).toEqual(['model-serving']);
    }
  });

  it('refuses bytes that decode to another name, and dangling references', () => {
    const s = snap(1);
    const a = s.resource(TypeUrl.Cluster, 'a')!;
    expect(() => snapshotFromEncoded({ [TypeUrl.Cluster]: [{ name: 'z', bytes: a.bytes }] })).toThrow(AggregateSwitchyardError);
    const routes = s.resource(TypeUrl.RouteConfiguration, 'model-serving')!;
    try {
      snapshotFromEncoded({ [TypeUrl.RouteConfiguration]: [{ name: routes.name, bytes: routes.bytes }] });
      expect.unreachable();
    } catch (err) {
      expect((err as AggregateSwitchyardError).errors.map((e) => e.code)).toContain('SNAP_DANGLING_CLUSTER');
    }
  });
});

describe('SnapshotStore', () => {
  it('round trips: a new store on the same directory loads the same version, type versions and bytes', async () => {
    const original = wideSnapshot(20);
    const store = await open();
    const { entry, created } = await store.save(original, { files: [{ path: 'a.yaml', digest: 'd1' }] });
    expect(created).toBe(true);
    expect(entry.seq).toBe(1);
    expect(await snapFiles()).toEqual([`00000001-${original.version}.snap`]);

    const again = await open();
    const loaded = await again.loadNewestValid();
    expect(loaded).toBeDefined();
    expect(loaded!.snapshot.version).toBe(original.version);
    expect(loaded!.snapshot.typeVersions()).toEqual(original.typeVersions());
    expectSameResources(original, loaded!.snapshot);
    expect(loaded!.entry).toEqual(entry);
    expect((await again.load(original.version)).version).toBe(original.version);
    expect((await again.load(original.version.slice(0, 6))).version).toBe(original.version);
  });

  it('keeps a type with no resources (its version is part of the snapshot version)', async () => {
    const original = createSnapshot({ [TypeUrl.Cluster]: [buildEdsCluster({ name: 'a' })], [TypeUrl.Listener]: [] });
    await (await open()).save(original);
    const loaded = await (await open()).load(original.version);
    expect(loaded.typeUrls()).toEqual([TypeUrl.Cluster, TypeUrl.Listener]);
    expect(loaded.typeVersions()).toEqual(original.typeVersions());
  });

  it('records metadata: sequence, time, source, files digest and changed files', async () => {
    const store = await open({ clock: () => new Date('2030-01-01T00:00:00Z') });
    const first = [
      { path: 'b.yaml', digest: 'b1' },
      { path: 'a.yaml', digest: 'a1' },
      { path: 'c.yaml', digest: 'c1' },
    ];
    const one = (await store.save(snap(1), { files: first })).entry;
    expect(one).toMatchObject({ seq: 1, createdAt: '2030-01-01T00:00:00.000Z', source: 'rules', filesDigest: filesDigest(first) });
    expect(one.changedFiles).toEqual({ added: ['a.yaml', 'b.yaml', 'c.yaml'], changed: [], removed: [] });
    expect(one.filesDigest).toMatch(/^[0-9a-f]{64}$/);
    // The digest does not depend on the order the files are given in.
    expect(filesDigest([...first].reverse())).toBe(one.filesDigest);

    const second = [
      { path: 'a.yaml', digest: 'a2' },
      { path: 'b.yaml', digest: 'b1' },
      { path: 'd.yaml', digest: 'd1' },
    ];
    const two = (await store.save(snap(2), { files: second, source: 'rollback', createdAt: new Date('2030-01-02T00:00:00Z') })).entry;
    expect(two).toMatchObject({ seq: 2, createdAt: '2030-01-02T00:00:00.000Z', source: 'rollback' });
    expect(two.changedFiles).toEqual({ added: ['d.yaml'], changed: ['a.yaml'], removed: ['c.yaml'] });
    expect(two.typeVersions).toEqual(snap(2).typeVersions());
    expect(two.sizeBytes).toBe((await readFile(path.join(dir, two.file))).length);

    const listed = await (await open()).list();
    expect(listed.problems).toEqual([]);
    expect(listed.entries.map((e) => e.seq)).toEqual([2, 1]);
    expect(listed.entries).toEqual([two, one]);
  });

  it('continues sequence numbers across store instances, even after every file is gone', async () => {
    const a = await open();
    await a.save(snap(1));
    await a.save(snap(2));
    const b = await open();
    expect((await b.save(snap(3))).entry.seq).toBe(3);
    await b.prune({ maxCount: 1 });
    expect(await snapFiles()).toEqual([`00000003-${snap(3).version}.snap`]);
    expect((await (await open()).save(snap(4))).entry.seq).toBe(4);
    for (const f of await snapFiles()) await rm(path.join(dir, f));
    expect((await (await open()).save(snap(5))).entry.seq).toBe(5);
  });

  it('saving a stored version again writes nothing and returns the stored entry', async () => {
    const { logger, events } = captureLogger();
    const store = await open({ logger });
    const first = await store.save(snap(1));
    const second = await store.save(snap(1));
    expect(second).toEqual({ entry: first.entry, created: false });
    const third = await (await open()).save(snap(1), { source: 'rollback' });
    expect(third.created).toBe(false);
    expect(third.entry).toEqual(first.entry);
    expect(await snapFiles()).toHaveLength(1);
    expect(events.filter((e) => e.event === 'snapshot_save').map((e) => e.created)).toEqual([true, false]);
  });

  it('serializes concurrent saves: distinct sequence numbers, one file per version', async () => {
    const store = await open();
    const results = await Promise.all([store.save(snap(1)), store.save(snap(2)), store.save(snap(1)), store.save(snap(3))]);
    expect(results.map((r) => r.created)).toEqual([true, true, false, true]);
    expect(results.map((r) => r.entry.seq)).toEqual([1, 2, 1, 3]);
    expect(await snapFiles()).toHaveLength(3);
  });

  it('refuses to store a snapshot with dangling references', async () => {
    const store = await open();
    const dangling = topologySnapshot({ clusters: { a: [1] }, routes: { 'o/a': 'a' } });
    // Same resources, minus the clusters: routes now name a missing cluster.
    const input: Record<string, Array<{ name: string; bytes: Uint8Array }>> = {};
    for (const t of dangling.typeUrls()) if (t !== TypeUrl.Cluster) input[t] = [...dangling.type(t)!.resources.values()];
    const inconsistent = snapshotFromEncoded(input, { checkConsistency: false });
    await expect(store.save(inconsistent)).rejects.toBeInstanceOf(AggregateSwitchyardError);
    expect(await snapFiles()).toEqual([]);
  });

  describe('damaged files', () => {
    /** Saves `snapshots` in a scratch store and returns each file's name and bytes. */
    async function storedFiles(snapshots: Snapshot[]): Promise<Array<{ name: string; bytes: Buffer }>> {
      const scratch = await mkdtemp(path.join(tmpdir(), 'switchyard-scratch-'));
      opened.push(scratch);
      const s = await SnapshotStore.open({ dir: scratch });
      const out: Array<{ name: string; bytes: Buffer }> = [];
      for (const x of snapshots) {
        const { entry } = await s.save(x);
        out.push({ name: entry.file, bytes: await readFile(path.join(scratch, entry.file)) });
      }
      return out;
    }

    it('skips each damaged file with one problem, and never serves it', async () => {
      const snaps = [1, 2, 3, 4, 5, 6, 7].map(snap);
      const files = await storedFiles(snaps);
      const [good, truncated, garbage, wrongDigest, tampered, future, renamed] = files as [typeof files[number], ...Array<typeof files[number]>];
      await writeFile(path.join(dir, good.name), good.bytes);
      // 2: cut in the middle of the file.
      await writeFile(path.join(dir, truncated!.name), truncated!.bytes.subarray(0, Math.floor(truncated!.bytes.length / 2)));
      // 3: random bytes.
      await writeFile(path.join(dir, garbage!.name), Buffer.from([0x00, 0xff, 0x13, 0x37, 0xde, 0xad, 0xbe, 0xef, 0x0a]));
      // 4: the recorded digest does not match the content.
      const wrong = splitSnapshotFile(wrongDigest!.bytes);
      const resealed = sealSnapshotFile(wrong.header, wrong.payload);
      resealed.write('0'.repeat(64), 'switchyard-snapshot 2 sha256:'.length, 'latin1');
      await writeFile(path.join(dir, wrongDigest!.name), resealed);
      // 5: endpoints of cluster "a" replaced by another snapshot's (still decodable), digest
      // recomputed: only the recomputed snapshot version betrays it.
      const parts = splitSnapshotFile(tampered!.bytes);
      const donor = resourcesOf(splitSnapshotFile(good.bytes)).find(([t, n]) => t === TypeUrl.ClusterLoadAssignment && n === 'a')![2];
      const swapped = resourcesOf(parts).map(([t, n, b]) => (t === TypeUrl.ClusterLoadAssignment && n === 'a' ? donor : b));
      for (const t of parts.header.types) if (t.typeUrl === TypeUrl.ClusterLoadAssignment) t.resources = t.resources.map(([n, len]) => [n, n === 'a' ? donor.length : len]);
      await writeFile(path.join(dir, tampered!.name), sealSnapshotFile(parts.header, Buffer.concat(swapped)));
      // 6: a format version this release does not read.
      const fut = splitSnapshotFile(future!.bytes);
      await writeFile(path.join(dir, future!.name), sealSnapshotFile(fut.header, fut.payload, 3));
      // 7: a valid file under another version's name.
      await writeFile(path.join(dir, renamed!.name.replace(snaps[6]!.version, snaps[5]!.version).replace(/^00000007/, '00000008')), renamed!.bytes);

      const { logger, events } = captureLogger();
      const store = await open({ logger });
      const listing = await store.list();
      expect(listing.entries.map((e) => e.version)).toEqual([snaps[0]!.version]);
      const byFile = (ps: StoreProblem[]): Record<string, string> => Object.fromEntries(ps.map((p) => [p.file.slice(0, 8), p.code]));
      expect(byFile(listing.problems)).toEqual({
        '00000002': 'STORE_TRUNCATED',
        '00000003': 'STORE_GARBAGE',
        '00000004': 'STORE_INTEGRITY_MISMATCH',
        '00000005': 'STORE_VERSION_MISMATCH',
        '00000006': 'STORE_UNKNOWN_FORMAT',
        '00000008': 'STORE_VERSION_MISMATCH',
      });
      for (const p of listing.problems) expect(p.message.length).toBeGreaterThan(0);

      // Reported on every listing, logged once per file.
      expect(byFile((await store.list()).problems)).toEqual(byFile(listing.problems));
      const corrupt = events.filter((e) => e.event === 'snapshot_file_corrupt');
      expect(corrupt).toHaveLength(6);
      expect(new Set(corrupt.map((e) => e.file)).size).toBe(6);

      const newest = await store.loadNewestValid();
      expect(newest!.snapshot.version).toBe(snaps[0]!.version);
      for (const s of snaps.slice(1, 6)) {
        const err = await expectStoreError(store.load(s.version), 'STORE_UNKNOWN_VERSION');
        expect(err.message).toContain('damaged');
      }
      // The next save does not reuse a sequence number of a damaged file.
      expect((await store.save(snap(9))).entry.seq).toBe(9);
    });

    it('returns undefined when no file verifies, and re-verifies a file changed after listing', async () => {
      const [f] = await storedFiles([snap(1)]);
      await writeFile(path.join(dir, f!.name), f!.bytes);
      const store = await open();
      expect((await store.list()).entries).toHaveLength(1);
      await writeFile(path.join(dir, f!.name), f!.bytes.subarray(0, 100));
      await expectStoreError(store.load(snap(1).version), 'STORE_UNKNOWN_VERSION');
      expect(await store.loadNewestValid()).toBeUndefined();
      expect((await store.list()).problems.map((p) => p.code)).toEqual(['STORE_TRUNCATED']);
    });

    it('lists format 1 (.snap.json) files of earlier releases as problems, keeps them, and never serves them', async () => {
      const a = await open();
      const v1 = (await a.save(snap(1))).entry.version;
      const old = `00000002-${snap(2).version}.snap.json`;
      await writeFile(path.join(dir, old), '{\n "format": 1,\n "integrity": "sha256:00",\n "body": {}\n}\n');
      // A JSON document under a format 2 name says the same.
      const renamedOld = `00000003-${snap(3).version}.snap`;
      await writeFile(path.join(dir, renamedOld), '{"format":1}\n');

      const { logger, events } = captureLogger();
      const store = await open({ logger });
      const listing = await store.list();
      expect(listing.entries.map((e) => e.version)).toEqual([v1]);
      expect(listing.problems.map((p) => [p.file, p.code])).toEqual([
        [old, 'STORE_UNKNOWN_FORMAT'],
        [renamedOld, 'STORE_UNKNOWN_FORMAT'],
      ]);
      for (const p of listing.problems) {
        expect(p.message).toContain('JSON format 1');
        expect(p.message).toContain('reads format 2');
        expect(p.message).toContain('same version again');
      }
      expect(events.filter((e) => e.event === 'snapshot_file_corrupt').map((e) => e.file)).toEqual([old, renamedOld]);
      const err = await expectStoreError(store.load(snap(2).version), 'STORE_UNKNOWN_VERSION');
      expect(err.message).toContain(`${old} (STORE_UNKNOWN_FORMAT)`);
      expect((await store.loadStartup())!.entry.version).toBe(v1);
      // Neither prune nor a save removes it, and new files never reuse its sequence number.
      expect((await store.save(snap(4))).entry.seq).toBe(4);
      await store.prune({ maxCount: 1 });
      expect((await readdir(dir)).filter((n) => n.includes('.snap')).sort()).toEqual([old, renamedOld, `00000004-${snap(4).version}.snap`]);
    });
  });

  describe('file format', () => {
    it('has a text preamble and a one-line JSON header, then the raw resource bytes in header order', async () => {
      const original = wideSnapshot(5);
      const { entry } = await (await open()).save(original, { files: [{ path: 'a\nb.yaml', digest: 'd' }] });
      const bytes = await readFile(path.join(dir, entry.file));
      const parts = splitSnapshotFile(bytes);
      expect(parts.preamble).toMatch(/^switchyard-snapshot 2 sha256:[0-9a-f]{64}$/);
      expect(parts.header).toMatchObject({ version: original.version, typeVersions: original.typeVersions(), meta: { seq: 1, files: [{ path: 'a\nb.yaml' }] } });
      expect(parts.header.types.map((t) => t.typeUrl)).toEqual(original.typeUrls());
      const stored = resourcesOf(parts);
      const expected = original.typeUrls().flatMap((t) => original.type(t)!.names.map((n) => [t, n, Buffer.from(original.resource(t, n)!.bytes)]));
      expect(stored).toEqual(expected);
      // Re-sealing the same parts gives the same bytes: the digest covers exactly header + payload.
      expect(sealSnapshotFile(parts.header, parts.payload).equals(bytes)).toBe(true);
      const parsed = parseSnapshotFile(bytes, { seq: 1, version: original.version });
      expect(parsed.ok && parsed.resourceCount).toBe(stored.length);
    });

    it('says truncated for every prefix, garbage for trailing bytes, and mismatch for any flipped payload byte', async () => {
      const { entry } = await (await open()).save(snap(1));
      const bytes = await readFile(path.join(dir, entry.file));
      const codes = new Set<string>();
      for (let n = 0; n < bytes.length; n++) {
        const r = parseSnapshotFile(bytes.subarray(0, n));
        codes.add(r.ok ? 'ok' : r.code);
      }
      expect([...codes]).toEqual(['STORE_TRUNCATED']);
      const longer = parseSnapshotFile(Buffer.concat([bytes, Buffer.from([0])]));
      expect(longer).toMatchObject({ ok: false, code: 'STORE_GARBAGE', message: expect.stringContaining('1 trailing bytes') });
      const payloadStart = bytes.length - splitSnapshotFile(bytes).payload.length;
      for (const at of [payloadStart, payloadStart + 7, bytes.length - 1]) {
        const flipped = Buffer.from(bytes);
        flipped[at]! ^= 0x01;
        expect(parseSnapshotFile(flipped)).toMatchObject({ ok: false, code: 'STORE_INTEGRITY_MISMATCH' });
      }
    });

    it('tells a damaged header (digest mismatch) from a malformed one that was sealed (garbage)', async () => {
      const { entry } = await (await open()).save(snap(1));
      const bytes = await readFile(path.join(dir, entry.file));
      const parts = splitSnapshotFile(bytes);
      // A flipped byte inside the header line: it no longer parses, and the digest says why.
      const broken = Buffer.from(bytes);
      broken[parts.preamble.length + 1] = 0x5b; // '{' -> '['
      expect(parseSnapshotFile(broken)).toMatchObject({ ok: false, code: 'STORE_INTEGRITY_MISMATCH', message: expect.stringContaining('not UTF-8 JSON') });

      const malformed = { ...parts.header, meta: { ...parts.header.meta, seq: 'one' } };
      expect(parseSnapshotFile(sealSnapshotFile(malformed, parts.payload))).toMatchObject({ ok: false, code: 'STORE_GARBAGE', message: expect.stringContaining('meta.seq') });
      const twice = { ...parts.header, types: [...parts.header.types, { typeUrl: parts.header.types[0]!.typeUrl, resources: [] }] };
      expect(parseSnapshotFile(sealSnapshotFile(twice, parts.payload))).toMatchObject({ ok: false, code: 'STORE_GARBAGE', message: expect.stringContaining('twice') });
      expect(parseSnapshotFile(sealSnapshotFile(parts.header, parts.payload, 1))).toMatchObject({ ok: false, code: 'STORE_UNKNOWN_FORMAT', message: expect.stringContaining('format 1') });
      expect(parseSnapshotFile(Buffer.from('switchyard-snapshot 2 md5:00\n'))).toMatchObject({ ok: false, code: 'STORE_GARBAGE' });
      expect(parseSnapshotFile(Buffer.from('hello\n'))).toMatchObject({ ok: false, code: 'STORE_GARBAGE' });
      expect(parseSnapshotFile(new Uint8Array(0))).toMatchObject({ ok: false, code: 'STORE_TRUNCATED', message: 'the file is empty' });
      // Sealed, but a resource is not the message it claims to be.
      const res = resourcesOf(parts);
      const junk = Buffer.from([0xff, 0xff, 0xff]);
      const header = { ...parts.header, types: parts.header.types.map((t, i) => (i === 0 ? { ...t, resources: t.resources.map(([n], j) => [n, j === 0 ? junk.length : t.resources[j]![1]] as [string, number]) } : t)) };
      const payload = Buffer.concat(res.map(([, , b], i) => (i === 0 ? junk : b)));
      expect(parseSnapshotFile(sealSnapshotFile(header, payload))).toMatchObject({ ok: false, code: 'STORE_BAD_RESOURCE' });
    });
  });

  it('explains unknown and too short version references', async () => {
    const store = await open();
    await store.save(snap(1));
    await expectStoreError(store.load('0123456789abcdef'), 'STORE_UNKNOWN_VERSION');
    await expectStoreError(store.load(snap(1).version.slice(0, 5)), 'STORE_UNKNOWN_VERSION');
    await expectStoreError(store.pin('fffffff'), 'STORE_UNKNOWN_VERSION');
  });

  describe('retention', () => {
    async function fill(n: number): Promise<{ store: SnapshotStore; versions: string[] }> {
      const start = Date.parse('2030-01-01T00:00:00Z');
      let i = 0;
      const store = await open({ clock: () => new Date(start + i++ * DAY) });
      const versions: string[] = [];
      for (let k = 1; k <= n; k++) versions.push((await store.save(snap(k))).entry.version);
      return { store, versions };
    }

    it('deletes the oldest beyond the count, but never the live or the pinned version', async () => {
      const { store, versions } = await fill(6);
      await store.setLive(versions[0]!);
      await store.pin(versions[1]!.slice(0, 8));
      const { logger, events } = captureLogger();
      const reopened = await open({ logger, retention: { maxCount: 2 } });
      const result = await reopened.prune();
      expect(result.deleted.map((e) => e.seq)).toEqual([4, 3]);
      expect(result.kept.map((e) => e.seq)).toEqual([6, 5, 2, 1]);
      expect((await reopened.list()).entries.map((e) => e.version)).toEqual([versions[5], versions[4], versions[1], versions[0]]);
      await expectStoreError(reopened.load(versions[2]!), 'STORE_UNKNOWN_VERSION');
      expect(events.filter((e) => e.event === 'snapshot_prune')).toHaveLength(1);
    });

    it('deletes by age, keeping the newest, the live and the pinned version', async () => {
      const { store, versions } = await fill(5);
      await store.setLive(versions[3]!);
      await store.pin(versions[0]!);
      const now = new Date(Date.parse('2030-01-01T00:00:00Z') + 100 * DAY);
      const result = await store.prune({ maxAgeMs: 30 * DAY }, now);
      expect(result.deleted.map((e) => e.seq)).toEqual([3, 2]);
      expect((await store.list()).entries.map((e) => e.seq)).toEqual([5, 4, 1]);
    });

    it('keeps everything under the default policy (50 versions, 30 days)', async () => {
      const { store } = await fill(4);
      const result = await store.prune({}, new Date('2030-01-10T00:00:00Z'));
      expect(result.deleted).toEqual([]);
      expect(await snapFiles()).toHaveLength(4);
      const old = await store.prune({}, new Date('2030-03-01T00:00:00Z'));
      expect(old.deleted.map((e) => e.seq)).toEqual([3, 2, 1]);
    });

    it('refuses a nonsensical policy', async () => {
      const store = await open();
      await expect(store.prune({ maxCount: 0 })).rejects.toThrow(RangeError);
      expect(() => new SnapshotStore({ dir, retention: { maxAgeMs: -1 } })).toThrow(RangeError);
    });
  });

  describe('pin and live', () => {
    it('persists pin, unpin and the live version across instances', async () => {
      const a = await open();
      const v1 = (await a.save(snap(1))).entry.version;
      const v2 = (await a.save(snap(2))).entry.version;
      expect(await a.pinnedVersion()).toBeUndefined();
      expect((await a.pin(v1.slice(0, 6))).version).toBe(v1);
      await a.setLive(v2);
      const b = await open();
      expect(await b.pinnedVersion()).toBe(v1);
      expect(await b.liveVersion()).toBe(v2);
      const state = JSON.parse(await readFile(path.join(dir, 'state.json'), 'utf8')) as Record<string, unknown>;
      expect(state).toMatchObject({ format: 1, pinned: v1, live: v2, lastSeq: 2 });
      await b.unpin();
      expect(await (await open()).pinnedVersion()).toBeUndefined();
      expect(await (await open()).liveVersion()).toBe(v2);
    });

    it('starts from the pinned version, else the live one, else the newest', async () => {
      const a = await open();
      const [v1, v2] = [(await a.save(snap(1))).entry.version, (await a.save(snap(2))).entry.version];
      await a.save(snap(3));
      expect((await (await open()).loadStartup())).toMatchObject({ reason: 'newest', entry: { seq: 3 } });
      await a.setLive(v2);
      expect((await (await open()).loadStartup())).toMatchObject({ reason: 'live', entry: { version: v2 } });
      await a.pin(v1);
      const started = await (await open()).loadStartup();
      expect(started).toMatchObject({ reason: 'pinned', entry: { version: v1 } });
      expect(started!.snapshot.version).toBe(v1);
    });

    it('reports a damaged state.json and keeps working', async () => {
      const a = await open();
      const v1 = (await a.save(snap(1))).entry.version;
      await writeFile(path.join(dir, 'state.json'), '{"format":1,"pinn');
      const b = await open();
      expect((await b.list()).problems.map((p) => [p.file, p.code])).toEqual([['state.json', 'STORE_BAD_STATE']]);
      expect(await b.pinnedVersion()).toBeUndefined();
      // The damaged state does not reset sequence numbers: file names still count.
      expect((await b.save(snap(2))).entry.seq).toBe(2);
      await b.pin(v1);
      expect((await b.list()).problems).toEqual([]);
      expect(await (await open()).pinnedVersion()).toBe(v1);
    });
  });

  describe('atomic writes', () => {
    it('ignores and removes temp files left by a crash when it opens', async () => {
      const a = await open();
      const v1 = (await a.save(snap(1))).entry.version;
      const leftovers = [`.00000002-${snap(2).version}.snap.4242.0badf00d.tmp`, '.state.json.4242.deadbeef.tmp', '.rejections.jsonl.1.00000000.tmp'];
      await writeFile(path.join(dir, leftovers[0]!), 'switchyard-snapshot 2 sha256:01');
      await writeFile(path.join(dir, leftovers[1]!), '{"format":1,"pinned":"');
      await writeFile(path.join(dir, leftovers[2]!), '');
      const { logger, events } = captureLogger();
      const b = await open({ logger });
      expect((await readdir(dir)).sort()).toEqual([`00000001-${v1}.snap`, 'state.json']);
      expect(events.filter((e) => e.event === 'snapshot_store_temp_removed').map((e) => e.file)).toEqual(expect.arrayContaining(leftovers));
      expect(await b.list()).toMatchObject({ problems: [], entries: [{ seq: 1, version: v1 }] });
      expect((await b.save(snap(2))).entry.seq).toBe(2);
    });

    it('leaves no temp files behind and creates the directory when missing', async () => {
      const nested = path.join(dir, 'deep', 'xds-snapshots');
      const store = new SnapshotStore({ dir: nested });
      await store.save(snap(1));
      await store.pin(snap(1).version);
      await store.recordRejection({ errors: [{ code: 'RULE_BAD_PORT', message: 'port 0' }] });
      expect((await readdir(nested)).sort()).toEqual([`00000001-${snap(1).version}.snap`, 'rejections.jsonl', 'state.json']);
    });
  });

  describe('rejections', () => {
    it('keeps the newest N rejected change sets, across instances', async () => {
      let t = Date.parse('2030-01-01T00:00:00Z');
      const store = await open({ maxRejections: 3, clock: () => new Date((t += 1000)) });
      await store.save(snap(1), { files: [{ path: 'a.yaml', digest: 'a1' }] });
      const files = [
        { path: 'a.yaml', digest: 'a2' },
        { path: 'b.yaml', digest: 'b1' },
      ];
      for (let i = 0; i < 5; i++) {
        await store.recordRejection({
          errors: [{ stage: 'rules', code: 'RULE_BAD_PORT', message: `port ${i}`, hint: 'use a TCP port', file: 'a.yaml', line: i + 1, column: 3 }],
          files,
          liveVersion: snap(1).version,
        });
      }
      const list = await (await open({ maxRejections: 3 })).listRejections();
      expect(list.map((r) => r.errors[0]!.message)).toEqual(['port 4', 'port 3', 'port 2']);
      expect(list[0]).toEqual({
        at: '2030-01-01T00:00:07.000Z',
        filesDigest: filesDigest(files),
        changedFiles: { added: ['b.yaml'], changed: ['a.yaml'], removed: [] },
        liveVersion: snap(1).version,
        errors: [{ stage: 'rules', code: 'RULE_BAD_PORT', message: 'port 4', hint: 'use a TCP port', file: 'a.yaml', line: 5, column: 3 }],
      });
      const lines = (await readFile(path.join(dir, 'rejections.jsonl'), 'utf8')).trim().split('\n');
      expect(lines).toHaveLength(3);
    });

    it('skips damaged lines of the rejection log', async () => {
      await writeFile(path.join(dir, 'rejections.jsonl'), 'not json\n{"at":"x"}\n');
      const store = await open();
      expect(await store.listRejections()).toEqual([]);
      await store.recordRejection({ errors: [{ code: 'COMP_INVALID_VALUE', message: 'bad' }], filesDigest: 'abc' });
      expect((await store.listRejections()).map((r) => [r.filesDigest, r.changedFiles])).toEqual([['abc', null]]);
    });
  });
});
