// Checks of one rule on its own: names, ranges, addresses, step order. Each problem gets its own
// code so runbooks and tests can tell them apart; every problem is reported, not only the first.
import { isIP } from 'node:net';
import { ruleError, type RuleError, type RuleErrorCode } from './errors.js';
import { fieldLoc } from './locate.js';
import type { ExperimentRule, RolloutPolicyRule, Rule, ShardRule, TrafficShiftRule } from './model.js';
import { cellsField } from './normalize.js';

/** Names end up in routing keys ("<objective>/<model>"), cluster names and headers. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Lower-case RFC 9110 token: gRPC metadata keys and HTTP/2 header names are lower case. */
const HEADER_PATTERN = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
export const PERCENT_TOLERANCE = 1e-9;
export const LIMITS = {
  timeoutMs: [1, 300_000],
  retries: [0, 10],
  endpointWeight: [1, 1_000_000],
  holdSeconds: [0, 30 * 24 * 3600],
  ackTimeoutSeconds: [1, 24 * 3600],
} as const;

export function subjectOf(rule: Pick<Rule, 'kind' | 'name'>): string {
  return `${rule.kind} "${rule.name}"`;
}

export function checkRule(rule: Rule): RuleError[] {
  const out: RuleError[] = [];
  const err = (code: RuleErrorCode, path: string, message: string, hint?: string): void => {
    out.push(ruleError(code, fieldLoc(rule, path), message, hint));
  };
  const s = subjectOf(rule);
  checkName(rule.name, rule.kind === 'Experiment' ? 'abTestId' : 'name', s, err);

  switch (rule.kind) {
    case 'Objective':
      inRange(rule.timeoutMs, LIMITS.timeoutMs, () => err('RULE_BAD_TIMEOUT', 'timeoutMs', `${s} timeoutMs is ${rule.timeoutMs}`));
      inRange(rule.retries, LIMITS.retries, () => err('RULE_BAD_RETRIES', 'retries', `${s} retries is ${rule.retries}`));
      break;
    case 'Model':
      if (rule.version.trim() === '') err('RULE_BAD_VALUE', 'version', `${s} has an empty version`, 'give the model a version, e.g. version: "1.0.0"');
      break;
    case 'Shard':
      checkShard(rule, s, err);
      break;
    case 'Experiment':
      checkExperiment(rule, s, err);
      break;
    case 'TrafficShift':
      checkSteps(rule, s, err);
      break;
    case 'Migration':
      checkPercent(rule.percent, 'percent', s, err);
      if (rule.from === rule.to) err('RULE_MIGRATION_SAME_SHARD', 'to', `${s} moves model "${rule.model}" from shard "${rule.from}" to the same shard`);
      break;
    case 'Shadow':
      checkPercent(rule.percent, 'percent', s, err);
      break;
    case 'Override':
      if (rule.match.client === undefined && rule.match.header === undefined) err('RULE_OVERRIDE_NO_MATCH', 'match', `${s} has an empty match`);
      if (rule.match.header && !HEADER_PATTERN.test(rule.match.header.name)) {
        const lower = rule.match.header.name.toLowerCase();
        err('RULE_BAD_HEADER', 'match.header.name', `${s} matches header "${rule.match.header.name}", which is not a lower-case header name`,
          HEADER_PATTERN.test(lower) ? `write it in lower case: "${lower}"` : undefined);
      }
      break;
    case 'Client':
      if (rule.rateLimitRps !== undefined && !(rule.rateLimitRps > 0)) err('RULE_OUT_OF_RANGE', 'rateLimitRps', `${s} rateLimitRps is ${rule.rateLimitRps}`, 'rateLimitRps is a number of requests per second greater than 0');
      if (rule.maxConcurrentRequests !== undefined && rule.maxConcurrentRequests < 1) err('RULE_OUT_OF_RANGE', 'maxConcurrentRequests', `${s} maxConcurrentRequests is ${rule.maxConcurrentRequests}`, 'maxConcurrentRequests is at least 1');
      break;
    case 'RolloutPolicy':
      checkRolloutPolicy(rule, s, err);
      break;
  }
  return out;
}

type Report = (code: RuleErrorCode, path: string, message: string, hint?: string) => void;

function checkName(name: string, field: string, s: string, err: Report): void {
  if (!NAME_PATTERN.test(name)) err('RULE_BAD_NAME', field, `${s} has ${field} "${name}", which is not a valid name`);
}

function inRange(v: number, [min, max]: readonly [number, number], report: () => void): void {
  if (!(v >= min && v <= max)) report();
}

function checkPercent(v: number, path: string, s: string, err: Report, what = path): void {
  if (!(v >= 0 && v <= 100)) err('RULE_BAD_PERCENT', path, `${s} ${what} is ${v}, outside 0..100`);
}

function checkShard(rule: ShardRule, s: string, err: Report): void {
  if (rule.endpoints.length === 0) err('RULE_NO_ENDPOINTS', 'endpoints', `${s} has no endpoints`);
  const seen = new Map<string, number>();
  rule.endpoints.forEach((e, i) => {
    const p = `endpoints.${i}`;
    if (isIP(e.address) === 0) {
      const hint = e.address === 'localhost' ? 'write 127.0.0.1 (or ::1) instead of localhost' : undefined;
      err('RULE_BAD_ADDRESS', `${p}.address`, `${s} endpoint ${i} address "${e.address}" is not an IP address`, hint);
    }
    if (!(e.port >= 1 && e.port <= 65535)) err('RULE_BAD_PORT', `${p}.port`, `${s} endpoint ${i} port is ${e.port}`);
    if (e.weight !== undefined) {
      inRange(e.weight, LIMITS.endpointWeight, () =>
        err('RULE_OUT_OF_RANGE', `${p}.weight`, `${s} endpoint ${i} weight is ${e.weight}`, `weight is a whole number from ${LIMITS.endpointWeight[0]} to ${LIMITS.endpointWeight[1]}`));
    }
    const key = `${e.address}|${e.port}`;
    const first = seen.get(key);
    if (first !== undefined) err('RULE_DUPLICATE_ENDPOINT', p, `${s} endpoint ${i} repeats endpoint ${first} (${e.address} port ${e.port})`);
    else seen.set(key, i);
  });
  const limits = rule.limits ?? {};
  for (const [k, v] of Object.entries(limits) as [string, number][]) {
    const min = k === 'maxRetries' ? 0 : 1;
    if (v < min) err('RULE_OUT_OF_RANGE', `limits.${k}`, `${s} limits.${k} is ${v}`, `limits.${k} is at least ${min}`);
  }
  const od = rule.outlierDetection ?? {};
  for (const [k, v] of Object.entries(od) as [string, number][]) {
    if (k === 'maxEjectionPercent') checkPercent(v, `outlierDetection.${k}`, s, err);
    else if (v < 1) err('RULE_OUT_OF_RANGE', `outlierDetection.${k}`, `${s} outlierDetection.${k} is ${v}`, `outlierDetection.${k} is at least 1`);
  }
  if (rule.connectTimeoutMs !== undefined) {
    inRange(rule.connectTimeoutMs, LIMITS.timeoutMs, () => err('RULE_BAD_TIMEOUT', 'connectTimeoutMs', `${s} connectTimeoutMs is ${rule.connectTimeoutMs}`));
  }
}

function checkExperiment(rule: ExperimentRule, s: string, err: Report): void {
  const field = cellsField(rule);
  let sum = 0;
  for (const c of rule.cells) {
    if (!NAME_PATTERN.test(c.id)) err('RULE_BAD_NAME', `${field}.${c.id}`, `${s} cell "${c.id}" has an id that is not a valid name`);
    checkPercent(c.percent, `${field}.${c.id}.percent`, s, err, `cell "${c.id}" percent`);
    sum += c.percent;
  }
  if (Math.abs(sum - 100) > PERCENT_TOLERANCE) {
    const list = rule.cells.map((c) => `${c.id} ${showNumber(c.percent)}`).join(', ');
    err('RULE_PERCENT_SUM', field, `${s} cells sum to ${showNumber(sum)} percent, not 100 (${list})`);
  }
  if (rule.salt === '') err('RULE_BAD_VALUE', 'salt', `${s} has an empty salt`, `remove salt to use the default "ab${rule.abTestId}"`);
}

function checkSteps(rule: TrafficShiftRule, s: string, err: Report): void {
  if (rule.steps.length === 0) {
    err('RULE_SHIFT_STEPS', 'steps', `${s} has no steps`);
    return;
  }
  rule.steps.forEach((step, i) => {
    checkPercent(step.percent, `steps.${i}.percent`, s, err, `step ${i} percent`);
    inRange(step.holdSeconds, LIMITS.holdSeconds, () =>
      err('RULE_OUT_OF_RANGE', `steps.${i}.hold`, `${s} step ${i} hold is ${step.holdSeconds}`, `hold is a number of seconds from 0 to ${LIMITS.holdSeconds[1]} (30 days)`));
    const prev = rule.steps[i - 1];
    if (prev && step.percent < prev.percent) {
      err('RULE_SHIFT_STEPS', `steps.${i}.percent`, `${s} step ${i} goes down from ${showNumber(prev.percent)} to ${showNumber(step.percent)} percent`);
    }
  });
}

function checkBake(v: number, path: string, s: string, err: Report): void {
  inRange(v, LIMITS.holdSeconds, () => err('RULE_OUT_OF_RANGE', path, `${s} ${path} is ${v}`, `bake is a number of seconds from 0 to ${LIMITS.holdSeconds[1]} (30 days)`));
}

function checkRolloutPolicy(rule: RolloutPolicyRule, s: string, err: Report): void {
  checkBake(rule.canary.bakeSeconds, 'canary.bake', s, err);
  inRange(rule.ackTimeoutSeconds, LIMITS.ackTimeoutSeconds, () =>
    err('RULE_OUT_OF_RANGE', 'ackTimeout', `${s} ackTimeout is ${rule.ackTimeoutSeconds}`, `ackTimeout is a number of seconds from ${LIMITS.ackTimeoutSeconds[0]} to ${LIMITS.ackTimeoutSeconds[1]} (a day)`),
  );
  rule.canary.clusters.forEach((c, i) => {
    if (c.trim() === '') err('RULE_BAD_VALUE', `canary.clusters.${i}`, `${s} canary cluster pattern ${i} is empty`, 'write a node cluster name; * matches any run of characters');
  });
  if (rule.waves.length === 0) {
    err('RULE_BAD_VALUE', 'waves', `${s} has no waves`, 'remove waves to use 10, 50, 100 percent, or list waves ending at percent 100');
    return;
  }
  rule.waves.forEach((w, i) => {
    if (!(w.percent > 0 && w.percent <= 100)) err('RULE_BAD_PERCENT', `waves.${i}.percent`, `${s} wave ${i} percent is ${w.percent}, outside 0 (excluded)..100`);
    checkBake(w.bakeSeconds, `waves.${i}.bake`, s, err);
    const prev = rule.waves[i - 1];
    if (prev && !(w.percent > prev.percent)) {
      err('RULE_BAD_VALUE', `waves.${i}.percent`, `${s} wave ${i} percent ${showNumber(w.percent)} does not grow from ${showNumber(prev.percent)}`, 'wave percents are cumulative shares of the fleet: each is larger than the one before');
    }
  });
  const last = rule.waves[rule.waves.length - 1]!;
  if (last.percent !== 100) {
    err('RULE_BAD_VALUE', `waves.${rule.waves.length - 1}.percent`, `${s} last wave reaches ${showNumber(last.percent)} percent, not 100`, 'end with a wave of percent 100, or the rest of the fleet never gets the new version');
  }
}

/** Numbers without float noise: 33.333333333333336 -> 33.333333333. */
export function showNumber(n: number): string {
  return String(Number(n.toFixed(9)));
}
