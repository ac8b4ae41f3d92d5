// A small composition of the control plane for end-to-end rollout tests (src/app is not used):
// rules dir -> loadRuleDir -> rolloutCompileOptions (shift steps, readiness) -> compile ->
// createSnapshot -> RolloutProvider (waves) -> AdsServer. Reloads run one at a time, like the
// pipeline's; an urgent reload (shift abort) publishes with publishUrgent.
import { AdsServer } from '../../src/xds/server.js';
import { loadRuleDir } from '../../src/rules/load.js';
import { compile } from '../../src/compile/compile.js';
import type { ResolverTable } from '../../src/compile/types.js';
import { createSnapshot, type Snapshot } from '../../src/snapshot/snapshot.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { resolverTableToMessage } from '../../src/resolver/table-message.js';
import { RolloutProvider } from '../../src/rollout/provider.js';
import { ShiftScheduler } from '../../src/rollout/shifts.js';
import { ReadinessGate, type ReadinessGateOptions } from '../../src/rollout/readiness.js';
import { rolloutCompileOptions } from '../../src/rollout/wiring.js';
import { formatRuleErrors } from '../../src/rules/format.js';

export interface Published {
  readonly snapshot: Snapshot;
  readonly table: ResolverTable;
  readonly reason: string;
  readonly urgent: boolean;
}

export interface ComposeOptions {
  rulesDir: string;
  snapshotDir: string;
  shifts?: boolean;
  readiness?: ReadinessGateOptions;
  /** Awaited after each publish, inside the reload (so a shift advance waits for it). */
  afterPublish?: (p: Published) => Promise<void>;
}

export class Composition {
  readonly provider = new RolloutProvider();
  readonly server = new AdsServer({ provider: this.provider, port: 0 });
  scheduler: ShiftScheduler | undefined;
  gate: ReadinessGate | undefined;
  port = 0;
  last: Published | undefined;
  readonly published: Published[] = [];
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(private readonly options: ComposeOptions) {
    this.provider.attach(this.server);
  }

  static async start(options: ComposeOptions): Promise<Composition> {
    const c = new Composition(options);
    if (options.readiness) c.gate = new ReadinessGate({ ...options.readiness, onChange: (reason) => void c.reload(reason) });
    if (options.shifts) c.scheduler = await c.openScheduler();
    c.port = await c.server.start();
    await c.reload('startup');
    return c;
  }

  /** A scheduler on the progress file in snapshotDir (a restart opens a new one on the same file). */
  openScheduler(): Promise<ShiftScheduler> {
    return ShiftScheduler.open({
      dir: this.options.snapshotDir,
      onAdvance: (reason) => this.reload(reason),
      onAbort: (reason) => this.reload(reason, true),
      isRoutable: (m) => this.gate?.isReady(m) ?? true,
    });
  }

  /** Recompiles and publishes (serialized); resolves with what was published. */
  reload(reason: string, urgent = false): Promise<Published> {
    const run = this.chain.then(() => this.run(reason, urgent));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async run(reason: string, urgent: boolean): Promise<Published> {
    const loaded = await loadRuleDir(this.options.rulesDir);
    if (!loaded.ok) throw new Error(`rules rejected:\n${formatRuleErrors(loaded.errors)}`);
    const options = await rolloutCompileOptions({
      ruleSet: loaded.ruleSet,
      ...(this.scheduler ? { shifts: this.scheduler } : {}),
      ...(this.gate ? { readiness: this.gate } : {}),
      ...(this.last ? { previous: this.last.table } : {}),
      rollout: this.provider,
    });
    const compiled = compile(loaded.ruleSet, options);
    const snapshot = createSnapshot({ ...compiled.resources, [TypeUrl.ResolverTable]: [resolverTableToMessage(compiled.resolverTable)] });
    if (urgent) this.provider.publishUrgent(snapshot);
    else this.provider.publish(snapshot);
    const p = { snapshot, table: compiled.resolverTable, reason, urgent };
    this.last = p;
    this.published.push(p);
    await this.options.afterPublish?.(p);
    return p;
  }

  async stop(): Promise<void> {
    this.scheduler?.stop();
    this.gate?.stop();
    await this.chain.catch(() => undefined);
    await this.server.stop(200);
  }
}
