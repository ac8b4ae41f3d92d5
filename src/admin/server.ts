// The admin HTTP API (JSON): snapshot history and contents, diffs, per-proxy sync status, rule
// errors, rollback and resume, health, readiness and Prometheus metrics. node:http only; one small
// route table. See docs/operations.md for every endpoint.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { AdsServer } from '../xds/server.js';
import type { ControlPlane } from '../app/control-plane.js';
import type { ReloadOutcome, RulesPipeline } from '../app/pipeline.js';
import { formatIssue } from '../app/issues.js';
import type { ResolverTable } from '../compile/types.js';
import { SwitchyardError } from '../errors/catalog.js';
import { decodeMessage } from '../proto/messages.js';
import { TypeUrl } from '../proto/type-urls.js';
import { RESOLVER_TABLE_MESSAGE, resolverTableFromMessage } from '../resolver/table-message.js';
import { handleResolveHttp } from '../resolver/http-handler.js';
import type { Resolver } from '../resolver/types.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import type { RolloutLayer } from '../rollout/layer.js';
import type { SnapshotEntry } from '../snapshot/store.js';
import { contentOfSnapshot, diffContents, isIdentical } from './diff.js';
import { AdminHttpError, bearerMatches, errorBody, httpStatusOf, isLoopback, readJsonBody, sendJson, sendText } from './http.js';
import { AdminMetrics } from './metrics.js';
import { proxyViews } from './proxies.js';
import type { DiffView, ProxiesView, ProxyView, ResolverTableView, ResumeView, RollbackView, RuleErrorsView, SnapshotListView, SnapshotRef } from './types.js';
import { entryView, parseTypeFilter, snapshotDetail, type LiveState } from './views.js';

export interface AdminServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Bearer token required by POST calls; mandatory when `host` is not loopback. */
  token?: string;
  ads: AdsServer;
  controlPlane: ControlPlane;
  pipeline: RulesPipeline;
  logger: Logger;
  /** Shown by GET /v1/rules/errors. */
  rulesDir?: string;
  /** Node.js process metrics in /metrics (default true). */
  processMetrics?: boolean;
  /** The live resolver, for POST /v1/resolve (clients in other languages). */
  resolver?: () => Resolver | undefined;
  /** Waves, traffic shifts and readiness: GET /v1/rollout and the rollout/shift operations. */
  rollout?: RolloutLayer;
}

/** Resolver tables of versions this process compiled, kept for GET /v1/resolver-table. */
const TABLE_HISTORY = 50;
export const DEFAULT_WAIT_MS = 30_000;
export const MAX_WAIT_MS = 300_000;
const DEFAULT_REJECTIONS = 20;
const MAX_REJECTIONS = 100;

interface Ctx {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly params: readonly string[];
}

interface Route {
  readonly method: 'GET' | 'POST';
  readonly pattern: RegExp;
  readonly handler: (ctx: Ctx) => Promise<void>;
  /** A POST that changes nothing (resolve): no token needed. */
  readonly readOnly?: boolean;
}

/** Refuses an admin API that anyone on the network could drive without a token. */
export function assertAdminBindable(host: string, token: string | undefined): void {
  if (!isLoopback(host) && !token) {
    throw new SwitchyardError('ADMIN_INSECURE_BIND', `the admin API is configured to listen on ${host}, which is not a loopback address, and no token is set`);
  }
}

export class AdminServer {
  readonly metrics: AdminMetrics;
  private readonly server: http.Server;
  private readonly log: Logger;
  private readonly routes: Route[];
  private readonly tables = new Map<string, ResolverTable>();
  private readonly pendingWaits = new Set<() => void>();
  private boundPort = 0;
  private readonly startedAt = Date.now();

  constructor(private readonly options: AdminServerOptions) {
    assertAdminBindable(options.host, options.token);
    this.log = options.logger.child({ component: 'admin' });
    this.metrics = new AdminMetrics({ ads: options.ads, controlPlane: options.controlPlane, pipeline: options.pipeline, logger: this.log, processMetrics: options.processMetrics });
    this.routes = [
      { method: 'GET', pattern: /^\/healthz$/, handler: (c) => this.healthz(c) },
      { method: 'GET', pattern: /^\/readyz$/, handler: (c) => this.readyz(c) },
      { method: 'GET', pattern: /^\/metrics$/, handler: (c) => this.metricsText(c) },
      { method: 'GET', pattern: /^\/v1\/snapshots$/, handler: (c) => this.listSnapshots(c) },
      { method: 'GET', pattern: /^\/v1\/snapshots\/([^/]+)$/, handler: (c) => this.showSnapshot(c) },
      { method: 'GET', pattern: /^\/v1\/diff$/, handler: (c) => this.diff(c) },
      { method: 'GET', pattern: /^\/v1\/proxies$/, handler: (c) => this.proxies(c) },
      { method: 'GET', pattern: /^\/v1\/rules\/errors$/, handler: (c) => this.ruleErrors(c) },
      { method: 'GET', pattern: /^\/v1\/resolver-table$/, handler: (c) => this.resolverTable(c) },
      { method: 'POST', pattern: /^\/v1\/rollback$/, handler: (c) => this.rollback(c) },
      { method: 'POST', pattern: /^\/v1\/resume$/, handler: (c) => this.resume(c) },
      { method: 'POST', pattern: /^\/v1\/resolve$/, handler: (c) => this.resolve(c), readOnly: true },
      { method: 'GET', pattern: /^\/v1\/rollout$/, handler: (c) => this.rolloutState(c) },
      { method: 'POST', pattern: /^\/v1\/rollout\/(pause|resume|abort|force)$/, handler: (c) => this.rolloutOperation(c) },
      { method: 'POST', pattern: /^\/v1\/shifts\/([^/]+)\/(pause|resume|abort)$/, handler: (c) => this.shiftOperation(c) },
    ];
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 5_000;
  }

  /** Binds; resolves with the bound port. */
  async start(): Promise<number> {
    const { host, port } = this.options;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(new SwitchyardError('ADMIN_BIND_FAILED', `cannot listen on ${host}:${port}: ${err.code ?? err.message}`));
      };
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.boundPort = (this.server.address() as AddressInfo).port;
    this.log.info({ event: 'admin_listening', address: `${host}:${this.boundPort}`, auth: this.options.token ? 'bearer' : 'none' }, 'admin API listening');
    return this.boundPort;
  }

  get port(): number {
    return this.boundPort;
  }

  /** host:port, as the CLI's --admin flag takes it. */
  get address(): string {
    const h = this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host;
    return `${h}:${this.boundPort}`;
  }

  /** Feeds a reload outcome (initial load included) to the metrics and the resolver-table history. */
  recordReload(outcome: ReloadOutcome): void {
    this.metrics.recordReload(outcome);
    this.noteRulesState();
  }

  async stop(): Promise<void> {
    for (const cancel of [...this.pendingWaits]) cancel();
    this.metrics.detach();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.log.info({ event: 'admin_stopped' }, 'admin API stopped');
  }

  // ---- dispatch

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    try {
      const matching = this.routes.filter((r) => r.pattern.test(path));
      if (matching.length === 0) throw new AdminHttpError(404, 'ADMIN_NOT_FOUND', `no endpoint ${req.method} ${url.pathname}`);
      const route = matching.find((r) => r.method === req.method || (r.method === 'GET' && req.method === 'HEAD'));
      if (!route) {
        const allow = [...new Set(matching.map((r) => r.method))].join(', ');
        res.setHeader('allow', allow);
        throw new AdminHttpError(405, 'ADMIN_METHOD_NOT_ALLOWED', `${url.pathname} accepts ${allow}, not ${req.method}`);
      }
      if (route.method === 'POST' && !route.readOnly) this.authorize(req);
      const params = route.pattern.exec(path)!.slice(1).map(decodePathSegment);
      await route.handler({ req, res, url, params });
    } catch (err) {
      this.fail(res, err, req);
    } finally {
      this.log.debug({ event: 'admin_request', method: req.method, path: url.pathname, status: res.statusCode, ms: Math.round(performance.now() - started) }, 'admin request');
    }
  }

  /** POST calls need the bearer token when one is configured (always, off loopback). */
  private authorize(req: IncomingMessage): void {
    const token = this.options.token;
    if (!token) return;
    if (!bearerMatches(req.headers.authorization, token)) {
      this.log.warn({ event: 'admin_unauthorized', method: req.method, path: req.url, remote: req.socket.remoteAddress }, 'admin call without a valid token refused');
      throw new AdminHttpError(401, 'ADMIN_UNAUTHORIZED', req.headers.authorization ? 'the bearer token does not match' : 'this call needs Authorization: Bearer <token>');
    }
  }

  private fail(res: ServerResponse, err: unknown, req: IncomingMessage): void {
    let e: SwitchyardError;
    if (err instanceof SwitchyardError) {
      e = err;
    } else {
      this.log.error({ event: 'admin_error', method: req.method, path: req.url, err }, 'admin request failed');
      e = new SwitchyardError('ADMIN_INTERNAL', `internal error: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const status = httpStatusOf(e);
    sendJson(res, status, errorBody(e), status === 401 ? { 'www-authenticate': 'Bearer realm="switchyard-admin"' } : {});
  }

  private state(): LiveState {
    return { live: this.options.controlPlane.liveSnapshot?.version, pinned: this.options.controlPlane.pinnedVersion };
  }

  // ---- health

  private async healthz({ res }: Ctx): Promise<void> {
    sendJson(res, 200, { status: 'ok', uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000) });
  }

  private async readyz({ res }: Ctx): Promise<void> {
    const live = this.options.controlPlane.liveSnapshot;
    if (!live) {
      const e = new SwitchyardError('ADMIN_NO_SNAPSHOT', 'not ready: no snapshot is being served yet');
      sendJson(res, 503, { status: 'not ready', ...errorBody(e) });
      return;
    }
    sendJson(res, 200, { status: 'ready', live: live.version, pinned: this.options.controlPlane.pinnedVersion ?? null });
  }

  private async metricsText({ res }: Ctx): Promise<void> {
    const { contentType, body } = await this.metrics.render();
    sendText(res, 200, contentType, body);
  }

  // ---- snapshots

  private async listSnapshots({ res }: Ctx): Promise<void> {
    const { entries, problems } = await this.options.controlPlane.store.list();
    const state = this.state();
    const body: SnapshotListView = {
      live: state.live ?? null,
      pinned: state.pinned ?? null,
      newestFromRules: this.options.pipeline.state().lastGood?.version ?? null,
      snapshots: entries.map((e) => entryView(e, state)),
      problems: problems.map((p) => ({ code: p.code, file: p.file, message: p.message })),
    };
    sendJson(res, 200, body);
  }

  /** A version, a unique prefix, or the aliases "live" and "pinned". */
  private async load(ref: string): Promise<{ snapshot: Snapshot; entry: SnapshotEntry }> {
    const state = this.state();
    let version = ref;
    if (ref === 'live' || ref === 'pinned') {
      const v = state[ref];
      if (!v) throw new AdminHttpError(ref === 'live' ? 503 : 404, ref === 'live' ? 'ADMIN_NO_SNAPSHOT' : 'STORE_UNKNOWN_VERSION', ref === 'live' ? 'no snapshot is live yet' : 'no version is pinned');
      version = v;
    }
    return this.options.controlPlane.store.loadEntry(version);
  }

  private async showSnapshot({ res, url, params }: Ctx): Promise<void> {
    const types = parseTypeFilter(url.searchParams.get('type'));
    const raw = flag(url.searchParams.get('raw'));
    const { snapshot, entry } = await this.load(params[0]!);
    sendJson(res, 200, snapshotDetail(snapshot, entry, this.state(), { types, raw }));
  }

  private async diff({ res, url }: Ctx): Promise<void> {
    const types = parseTypeFilter(url.searchParams.get('type'));
    const toRef = url.searchParams.get('to') || 'live';
    const to = await this.load(toRef);
    let fromRef = url.searchParams.get('from');
    if (!fromRef) {
      const { entries } = await this.options.controlPlane.store.list();
      const previous = entries.find((e) => e.seq < to.entry.seq);
      if (!previous) throw new AdminHttpError(400, 'ADMIN_BAD_REQUEST', `no stored snapshot precedes ${to.entry.version} (seq ${to.entry.seq})`, 'give from=<version> explicitly');
      fromRef = previous.version;
    }
    const from = await this.load(fromRef);
    const all = diffContents(contentOfSnapshot(from.snapshot), contentOfSnapshot(to.snapshot));
    const selected = types ? all.filter((t) => types.has(t.typeUrl)) : all;
    const ref = (x: { entry: SnapshotEntry }): SnapshotRef => ({ version: x.entry.version, seq: x.entry.seq, createdAt: x.entry.createdAt });
    const body: DiffView = { from: ref(from), to: ref(to), identical: isIdentical(selected), types: selected };
    sendJson(res, 200, body);
  }

  // ---- proxies

  private proxiesView(): ProxiesView {
    const live = this.options.controlPlane.liveSnapshot;
    const provider = this.options.rollout?.provider;
    const proxies = proxyViews(this.options.ads.streamStatuses(), live, provider ? (node) => provider.snapshotFor(node) : undefined);
    const onLive = (p: ProxyView): boolean => p.converged && live !== undefined && p.target === live.version;
    return {
      live: live?.version ?? null,
      pinned: this.options.controlPlane.pinnedVersion ?? null,
      at: new Date().toISOString(),
      proxies,
      summary: {
        total: proxies.length,
        converged: proxies.filter(onLive).length,
        waitingForWave: proxies.filter((p) => p.converged && !onLive(p)).length,
        nacked: proxies.filter((p) => p.types.some((t) => t.status === 'NACKED')).length,
      },
    };
  }

  /**
   * GET /v1/proxies; with ?wait=synced, answers once every proxy (at least ?min=, default 1)
   * converged on the live version (and the live version is ?version=, when given), or at
   * ?timeoutMs= (default 30 s) with wait.met false. Driven by the ADS server's events, not polling.
   */
  private async proxies({ req, res, url }: Ctx): Promise<void> {
    const wait = url.searchParams.get('wait');
    if (wait === null || wait === '') {
      sendJson(res, 200, this.proxiesView());
      return;
    }
    if (wait !== 'synced') throw new AdminHttpError(400, 'ADMIN_BAD_REQUEST', `wait=${wait} is not supported`, 'use wait=synced');
    const timeoutMs = intParam(url, 'timeoutMs', DEFAULT_WAIT_MS, 0, MAX_WAIT_MS);
    const min = intParam(url, 'min', 1, 0, 100_000);
    const version = url.searchParams.get('version') || undefined;
    const condition = `every proxy (at least ${min}) converged on the live version${version ? ` ${version}` : ''}`;
    // Streams that have not sent a request yet (no node) are not proxies yet: they do not count.
    const met = (v: ProxiesView): boolean => {
      const identified = v.proxies.filter((p) => p.nodeId !== '' || p.types.some((t) => t.status !== 'NOT SUBSCRIBED'));
      return v.live !== null && (!version || v.live.startsWith(version)) && identified.length >= min && identified.every((p) => p.converged && p.target === v.live);
    };
    const started = Date.now();
    const view = await new Promise<ProxiesView | undefined>((resolve) => {
      const ads = this.options.ads;
      let done = false;
      const check = (): void => {
        if (done) return;
        const v = this.proxiesView();
        if (met(v)) finish(v);
      };
      // A stream whose subscribed types did not change settles on a new version without a
      // response (no event) when its rollout wave opens: rollout events re-check too.
      const offRollout = this.options.rollout?.provider.onEvent(check) ?? (() => undefined);
      const finish = (v: ProxiesView | undefined): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        offRollout();
        for (const ev of ['ack', 'nack', 'send', 'open', 'close'] as const) ads.off(ev, check);
        res.off('close', cancel);
        this.pendingWaits.delete(cancel);
        resolve(v);
      };
      const cancel = (): void => finish(undefined);
      const timer = setTimeout(() => finish(this.proxiesView()), timeoutMs);
      for (const ev of ['ack', 'nack', 'send', 'open', 'close'] as const) ads.on(ev, check);
      res.on('close', cancel);
      this.pendingWaits.add(cancel);
      check();
    });
    if (!view || req.destroyed) return;
    sendJson(res, 200, { ...view, wait: { condition, met: met(view), waitedMs: Date.now() - started } });
  }

  // ---- rollout (docs/rollout.md)

  private rolloutLayer(): RolloutLayer {
    const r = this.options.rollout;
    if (!r) throw new AdminHttpError(404, 'ADMIN_NOT_FOUND', 'this server runs without the rollout layer');
    return r;
  }

  /** Waves of the current rollout, traffic shifts, model readiness. */
  private async rolloutState({ res }: Ctx): Promise<void> {
    sendJson(res, 200, this.rolloutLayer().state());
  }

  /** pause | resume | abort | force; answers the new state. */
  private async rolloutOperation({ res, params }: Ctx): Promise<void> {
    const layer = this.rolloutLayer();
    const p = layer.provider;
    const op = params[0]!;
    if (op === 'pause') p.pause();
    else if (op === 'resume') p.resume();
    else if (op === 'abort') p.abort();
    else p.forceComplete();
    this.log.warn({ event: 'admin_rollout', op, target: p.state().targetVersion }, `rollout ${op}`);
    sendJson(res, 200, layer.state());
  }

  /** pause | resume | abort one traffic shift; answers the shift. */
  private async shiftOperation({ res, params }: Ctx): Promise<void> {
    const shifts = this.rolloutLayer().shifts;
    const [name, op] = [params[0]!, params[1]!];
    const view = op === 'pause' ? await shifts.pause(name) : op === 'resume' ? await shifts.resume(name) : await shifts.abort(name);
    this.log.warn({ event: 'admin_shift', op, shift: name, step: view.step }, `traffic shift ${op}`);
    sendJson(res, 200, view);
  }

  // ---- rules

  private async ruleErrors({ res, url }: Ctx): Promise<void> {
    const limit = intParam(url, 'limit', DEFAULT_REJECTIONS, 0, MAX_REJECTIONS);
    const st = this.options.pipeline.state();
    const rejections = limit > 0 ? (await this.options.controlPlane.store.listRejections()).slice(0, limit) : [];
    const body: RuleErrorsView = {
      ok: st.issues.length === 0,
      rulesDir: this.options.rulesDir ?? null,
      lastReloadAt: st.lastReloadAt?.toISOString() ?? null,
      reloads: st.reloads,
      errors: st.issues.map((i) => ({ ...i, formatted: formatIssue(i) })),
      rejections,
    };
    sendJson(res, 200, body);
  }

  /** Remembers the resolver table of the newest compile, by the snapshot version it compiled to. */
  private noteRulesState(): void {
    const st = this.options.pipeline.state();
    if (!st.lastGood || !st.resolverTable) return;
    this.tables.delete(st.lastGood.version);
    this.tables.set(st.lastGood.version, st.resolverTable);
    while (this.tables.size > TABLE_HISTORY) this.tables.delete(this.tables.keys().next().value!);
  }

  /**
   * The resolver table that goes with the live snapshot: its own ResolverTable resource when it
   * carries one; else the newest compile's table when it compiled to the live version; else the
   * table this process compiled for that version earlier (a rollback to a version compiled since
   * start). A version restored from disk and never compiled since has none.
   */
  private async resolverTable({ res }: Ctx): Promise<void> {
    const live = this.options.controlPlane.liveSnapshot;
    if (!live) throw new AdminHttpError(503, 'ADMIN_NO_SNAPSHOT', 'no snapshot is live yet');
    this.noteRulesState();
    let body: ResolverTableView | undefined;
    const own = live.type(TypeUrl.ResolverTable);
    const first = own?.names[0];
    if (own && first) {
      body = { version: live.version, source: 'snapshot', table: resolverTableFromMessage(decodeMessage(RESOLVER_TABLE_MESSAGE, own.resources.get(first)!.bytes)) };
    } else {
      const st = this.options.pipeline.state();
      if (st.lastGood?.version === live.version && st.resolverTable) body = { version: live.version, source: 'rules', table: st.resolverTable };
      else if (this.tables.has(live.version)) body = { version: live.version, source: 'history', table: this.tables.get(live.version) };
    }
    if (!body) throw new AdminHttpError(404, 'ADMIN_NO_RESOLVER_TABLE', `live snapshot ${live.version} carries no resolver table and this process has not compiled it`);
    sendJson(res, 200, body);
  }

  // ---- operations

  /** POST /v1/resolve: request context -> routingKey + ObjectiveConfig, from the live table. */
  private async resolve({ req, res }: Ctx): Promise<void> {
    const body = await readJsonBody(req);
    const out = handleResolveHttp(body, this.options.resolver ?? (() => undefined));
    sendJson(res, out.status, out.json);
  }

  private async rollback({ req, res }: Ctx): Promise<void> {
    const body = await readJsonBody(req);
    const version = body.version;
    if (typeof version !== 'string' || version.trim() === '') {
      throw new AdminHttpError(400, 'ADMIN_BAD_REQUEST', 'body must be {"version": "<version or unique prefix>"}');
    }
    const cp = this.options.controlPlane;
    const from = cp.liveSnapshot?.version ?? null;
    const remote = req.socket.remoteAddress;
    try {
      const entry = await cp.rollback(version.trim());
      this.metrics.recordOperation('rollback', 'ok');
      this.log.warn({ event: 'admin_rollback', result: 'ok', requested: version, from, to: entry.version, seq: entry.seq, remote }, `rollback to ${entry.version} requested over the admin API; pinned`);
      const out: RollbackView = { from, live: cp.liveSnapshot?.version ?? entry.version, pinned: entry.version, seq: entry.seq };
      sendJson(res, 200, out);
    } catch (err) {
      this.metrics.recordOperation('rollback', 'error');
      this.log.error({ event: 'admin_rollback', result: 'error', requested: version, from, remote, code: err instanceof SwitchyardError ? err.code : undefined, error: err instanceof Error ? err.message : String(err) }, 'rollback refused');
      throw err;
    }
  }

  private async resume({ req, res }: Ctx): Promise<void> {
    await readJsonBody(req);
    const cp = this.options.controlPlane;
    const unpinned = cp.pinnedVersion ?? null;
    const from = cp.liveSnapshot?.version ?? null;
    const remote = req.socket.remoteAddress;
    try {
      const live = await cp.resume();
      this.metrics.recordOperation('resume', 'ok');
      const newest = this.options.pipeline.state().lastGood?.version ?? null;
      this.log.info({ event: 'admin_resume', result: 'ok', unpinned, from, live: live?.version ?? null, remote }, 'resume requested over the admin API');
      const out: ResumeView = { unpinned, live: live?.version ?? null, newestFromRules: newest };
      sendJson(res, 200, out);
    } catch (err) {
      this.metrics.recordOperation('resume', 'error');
      this.log.error({ event: 'admin_resume', result: 'error', unpinned, remote, error: err instanceof Error ? err.message : String(err) }, 'resume failed');
      throw err;
    }
  }
}

function decodePathSegment(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    throw new AdminHttpError(400, 'ADMIN_BAD_REQUEST', `malformed URL path segment "${p}"`);
  }
}

function flag(v: string | null): boolean {
  return v !== null && v !== '0' && v.toLowerCase() !== 'false';
}

function intParam(url: URL, name: string, dflt: number, min: number, max: number): number {
  const v = url.searchParams.get(name);
  if (v === null || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new AdminHttpError(400, 'ADMIN_BAD_REQUEST', `${name}=${v} is not a whole number in ${min}..${max}`);
  return n;
}
