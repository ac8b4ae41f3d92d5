// `switchyard plan [dir]`: what publishing a rules directory would change, before it is saved
// where the server watches. Loads and compiles the rules locally (same loader, compiler and
// snapshot code as the server, with the server's traffic shift steps and model readiness from
// GET /v1/rollout), fetches the live snapshot (raw bytes) and its resolver table from the admin
// API, and prints the resources added, removed and changed per type, and per objective which models
// gain or lose what share of users.
//
// Live traffic shares come from the live resolver table: the snapshot's own ResolverTable resource
// when it carries one, else the table the server compiled for the live version
// (GET /v1/resolver-table). When the server has none (the live version was restored from disk or
// pinned and not compiled since), the shares are read from the live RouteConfiguration's fallback
// routes: the default model of each objective at 100 % (experiments and shifts are invisible there);
// the output says so.
import { contentOfSnapshot, decodeResource, diffContents, isIdentical, lazyContent, type SnapshotContent, type TypeContent } from '../admin/diff.js';
import { diffShares, sharesFromRoutes, sharesFromTable, type ObjectiveShareChange, type ObjectiveShares, type SharesBasis } from '../admin/shares.js';
import type { ResolverTableView, SnapshotDetailView, TypeDiff } from '../admin/types.js';
import { shortTypeVersions } from '../admin/views.js';
import type { CompileOptions, ResolverTable } from '../compile/types.js';
import { formatIssue } from '../app/issues.js';
import { TypeUrl } from '../proto/type-urls.js';
import { formatRuleError } from '../rules/format.js';
import { loadRuleDir } from '../rules/load.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import { buildCandidate } from '../app/candidate.js';
import type { RuleSet } from '../rules/model.js';
import type { RolloutLayerState } from '../rollout/layer.js';
import { serverCompileOptions } from '../rollout/server-compile-options.js';
import type { AdminClient } from './client.js';
import { delta, percent, renderTypeDiffs, table } from './format.js';
import { CliError, EXIT_FAILED, writeJson, type CliIO } from './io.js';

export interface PlanView {
  readonly rulesDir: string;
  /** typeVersions keyed by short type name, as in the admin API. */
  readonly local: { readonly version: string; readonly files: number; readonly typeVersions: Readonly<Record<string, string>> };
  readonly live: { readonly version: string | null; readonly seq: number | null; readonly pinned: boolean };
  /** Publishing would not change any xDS resource. */
  readonly identical: boolean;
  readonly types: TypeDiff[];
  readonly traffic: {
    /** Where the live shares come from (the planned ones always come from the local resolver table). */
    readonly liveBasis: SharesBasis;
    readonly objectives: ObjectiveShareChange[];
    /** Objectives whose shares change (added and removed ones included). */
    readonly changed: number;
  };
  readonly notes: string[];
}

export interface PlanFlags {
  json?: boolean;
  /** Human output: list every objective, not only those whose shares change. */
  all?: boolean;
}

interface Compiled {
  readonly snapshot: Snapshot;
  readonly table: ResolverTable;
  readonly files: number;
}

/**
 * Loads, validates and compiles like the server's pipeline; CLI_RULES_INVALID with every problem.
 * `optionsFor` gives the compile options the server would use (its traffic shift steps, readiness).
 */
async function compileLocal(dir: string, io: CliIO, optionsFor: (ruleSet: RuleSet) => CompileOptions | undefined): Promise<Compiled> {
  const loaded = await loadRuleDir(dir);
  if (!loaded.ok) {
    for (const e of loaded.errors) io.stderr.write(`${formatRuleError(e, { dir })}\n`);
    throw CliError.of('CLI_RULES_INVALID', `${loaded.errors.length} error${loaded.errors.length === 1 ? '' : 's'} in ${dir}; nothing to plan.`, EXIT_FAILED);
  }
  // Exactly what the server's pipeline would build (src/app/candidate.ts).
  const built = buildCandidate(loaded.ruleSet, optionsFor(loaded.ruleSet));
  if (!built.ok) {
    for (const i of built.issues) io.stderr.write(`${formatIssue(i)}\n`);
    throw CliError.of('CLI_RULES_INVALID', `${built.issues.length} problem${built.issues.length === 1 ? '' : 's'} compiling ${dir} (compile errors, or resources proxies would reject); nothing to plan.`, EXIT_FAILED);
  }
  return { snapshot: built.snapshot, table: built.table, files: loaded.files.length };
}

function contentOfRaw(v: SnapshotDetailView): SnapshotContent {
  const out = new Map<string, TypeContent>();
  for (const t of v.types) {
    const resources = new Map(t.resources.map((r) => [r.name, lazyContent(r.name, r.version, () => decodeResource(t.typeUrl, Buffer.from(r.bytes ?? '', 'base64')))]));
    out.set(t.typeUrl, { version: t.version, resources });
  }
  return out;
}

async function orUndefined<T>(p: Promise<T>, codes: readonly string[]): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof CliError && codes.includes(err.code)) return undefined;
    throw err;
  }
}

export async function buildPlan(client: AdminClient, io: CliIO, dir: string): Promise<PlanView> {
  const live = await orUndefined(client.get<SnapshotDetailView>('/v1/snapshots/live?raw=1'), ['ADMIN_NO_SNAPSHOT']);
  const table = live ? await orUndefined(client.get<ResolverTableView>('/v1/resolver-table'), ['ADMIN_NO_RESOLVER_TABLE', 'ADMIN_NO_SNAPSHOT']) : undefined;
  // A server without the rollout layer compiles with the defaults (every shift at its first step).
  const rollout = await orUndefined(client.get<RolloutLayerState>('/v1/rollout'), ['ADMIN_NOT_FOUND']);
  const notes: string[] = [];
  const local = await compileLocal(dir, io, (ruleSet) => {
    if (!rollout) return undefined;
    const server = serverCompileOptions(ruleSet, rollout, table?.table as ResolverTable | undefined);
    notes.push(...server.notes);
    return server.options;
  });
  const liveContent: SnapshotContent = live ? contentOfRaw(live) : new Map();
  const types = diffContents(liveContent, contentOfSnapshot(local.snapshot));

  let liveShares: ObjectiveShares = {};
  let liveBasis: SharesBasis = 'none';
  if (live) {
    if (table) {
      liveShares = sharesFromTable(table.table as ResolverTable);
      liveBasis = 'resolver-table';
    } else {
      const routes = liveContent.get(TypeUrl.RouteConfiguration);
      liveShares = sharesFromRoutes([...(routes?.resources.values() ?? [])].map((r) => r.json()));
      liveBasis = 'routes';
      notes.push('The server has no resolver table for the live version: live shares are read from its fallback routes (each objective\'s default model at 100 %; experiments and shifts are not visible there).');
    }
  } else {
    notes.push('Nothing is live yet: publishing would send every resource for the first time.');
  }
  if (live?.pinned) notes.push(`The fleet is pinned to ${live.version}: publishing is recorded but held until \`switchyard resume\`.`);
  const objectives = diffShares(liveShares, sharesFromTable(local.table));
  return {
    rulesDir: dir,
    local: { version: local.snapshot.version, files: local.files, typeVersions: shortTypeVersions(local.snapshot.typeVersions()) },
    live: { version: live?.version ?? null, seq: live?.seq ?? null, pinned: live?.pinned ?? false },
    identical: live !== undefined && isIdentical(types),
    types,
    traffic: { liveBasis, objectives, changed: objectives.filter((o) => o.status !== 'unchanged').length },
    notes,
  };
}

export function renderPlan(p: PlanView, opts: { all?: boolean } = {}): string {
  let out = `Plan for ${p.rulesDir} (${p.local.files} file${p.local.files === 1 ? '' : 's'}): compiles to ${p.local.version}\n`;
  out += `Live: ${p.live.version ? `${p.live.version}${p.live.seq !== null ? ` (seq ${p.live.seq})` : ''}${p.live.pinned ? ', pinned' : ''}` : 'nothing'}\n`;
  for (const n of p.notes) out += `Note: ${n}\n`;
  out += '\nResources:\n';
  out += p.identical ? '  no change: publishing would not change any xDS resource\n' : renderTypeDiffs(p.types, '  ');
  const shown = opts.all ? p.traffic.objectives : p.traffic.objectives.filter((o) => o.status !== 'unchanged');
  out += `\nTraffic (share of users per objective; overrides excluded; live from ${p.traffic.liveBasis === 'none' ? 'nothing' : p.traffic.liveBasis}):\n`;
  if (shown.length === 0) out += '  no change\n';
  else {
    const rows: string[][] = [];
    for (const o of shown) {
      const models = opts.all ? o.models : o.models.filter((m) => m.delta !== 0);
      models.forEach((m, i) => rows.push([i === 0 ? `${o.objective}${o.status === 'added' ? ' (new)' : o.status === 'removed' ? ' (removed)' : ''}` : '', m.model, percent(m.before), percent(m.after), delta(m.delta)]));
    }
    out += table(['OBJECTIVE', 'MODEL', 'LIVE', 'PLANNED', 'CHANGE'], rows, '  ');
  }
  const unchanged = p.traffic.objectives.length - p.traffic.changed;
  if (!opts.all && unchanged > 0) out += `  (${unchanged} objective${unchanged === 1 ? '' : 's'} unchanged)\n`;
  return out;
}

export async function plan(client: AdminClient, io: CliIO, dir: string, flags: PlanFlags): Promise<number> {
  const p = await buildPlan(client, io, dir);
  if (flags.json) writeJson(io, p);
  else io.stdout.write(renderPlan(p, { all: flags.all }));
  return 0;
}
