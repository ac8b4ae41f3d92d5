// The demo's working copy of the rules: copied from rules/ to a temp dir, shard endpoints moved to
// the ports the demo's model servers bound, and (later) an experiment's percents edited in place,
// the way a researcher would save the file.
import { cp, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RuleSet } from '../rules/model.js';

/** Writes a file the way editors save: a hidden temp file (the watcher ignores dotfiles), then rename. */
export async function saveAtomically(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/** Copies a rules directory (recursively). */
export async function copyRules(from: string, to: string): Promise<void> {
  await cp(from, to, { recursive: true, filter: (src) => !path.basename(src).startsWith('.') });
}

/** Shard name -> the models its servers host (their own models plus models migrating in or out). */
export function hostedModels(rules: RuleSet): Map<string, Set<string>> {
  const hosted = new Map<string, Set<string>>([...rules.shards.keys()].map((s) => [s, new Set<string>()]));
  for (const m of rules.models.values()) hosted.get(m.shard)?.add(m.name);
  for (const mig of rules.migrations.values()) {
    hosted.get(mig.from)?.add(mig.model);
    hosted.get(mig.to)?.add(mig.model);
  }
  return hosted;
}

/**
 * Points every endpoint of every shard at 127.0.0.1:<port of that shard>. Shards must be defined
 * in JSON files (as rules/shards.json does); each file is rewritten once.
 */
export async function placeShards(dir: string, rules: RuleSet, ports: ReadonlyMap<string, number>): Promise<void> {
  const files = new Set<string>();
  for (const shard of rules.shards.values()) {
    if (!ports.has(shard.name)) throw new Error(`no port for shard ${shard.name}`);
    if (!shard.loc.file.endsWith('.json')) throw new Error(`shard ${shard.name} is defined in ${shard.loc.file}; the demo rewrites shards in JSON files only`);
    files.add(shard.loc.file);
  }
  for (const rel of files) {
    const file = path.join(dir, rel);
    const doc = JSON.parse(await readFile(file, 'utf8')) as unknown;
    const items = (Array.isArray(doc) ? doc : [doc]) as Array<{ kind?: string; name?: string; endpoints?: Array<{ address: string; port: number }> }>;
    for (const item of items) {
      const port = item.kind === 'Shard' && item.name ? ports.get(item.name) : undefined;
      if (port === undefined) continue;
      item.endpoints = (item.endpoints ?? [{ address: '127.0.0.1', port }]).map((e) => ({ ...e, address: '127.0.0.1', port }));
    }
    await saveAtomically(file, `${JSON.stringify(doc, null, 2)}\n`);
  }
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Sets the percent of each named cell in the experiment's source file, which must spell each cell
 * as `<id>: { ..., percent: <n> }` (the shape of rules/experiments/ab12345.ts), and saves it.
 * Returns the file changed (relative to `dir`).
 */
export async function setExperimentPercents(dir: string, rules: RuleSet, abTestId: string, percents: Readonly<Record<string, number>>): Promise<string> {
  const experiment = rules.experiments.get(abTestId) ?? [...rules.experiments.values()].find((e) => e.abTestId === abTestId);
  if (!experiment) throw new Error(`no experiment ${abTestId} in the rules`);
  const file = path.join(dir, experiment.loc.file);
  let text = await readFile(file, 'utf8');
  for (const [cell, percent] of Object.entries(percents)) {
    const re = new RegExp(`(['"]?${escapeRegExp(cell)}['"]?\\s*:\\s*\\{[^}]*?\\bpercent\\s*:\\s*)(\\d+(?:\\.\\d+)?)`, 'g');
    const matches = text.match(re)?.length ?? 0;
    if (matches !== 1) throw new Error(`${experiment.loc.file}: expected one "${cell}: { ..., percent: N }", found ${matches}`);
    text = text.replace(re, (_m, head: string) => `${head}${percent}`);
  }
  await saveAtomically(file, text);
  return experiment.loc.file;
}
