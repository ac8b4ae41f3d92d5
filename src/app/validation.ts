// Every compiled resource is checked against the Envoy protos' validation rules and the proxyless
// client's limits before it can be published; problems point at the rule that produced them.
import { validateSnapshotInput, type ResourceViolation } from '../validate/index.js';
import { ERROR_CATALOG } from '../errors/catalog.js';
import { TypeUrl } from '../proto/type-urls.js';
import type { CompileResult } from '../compile/types.js';
import type { SourceLocation } from '../rules/model.js';
import type { PipelineIssue } from './issues.js';

const ROUTE_PATH = /^virtual_hosts\[(\d+)\]\.routes\[(\d+)\]/;

export function validationIssues(result: Pick<CompileResult, 'resources' | 'origins'>): PipelineIssue[] {
  return validateSnapshotInput(result.resources).map((v) => {
    const loc = originOf(result, v);
    return {
      stage: 'compile',
      code: v.code,
      message: `${v.message}.`,
      hint: ERROR_CATALOG[v.code].hint,
      ...(loc ? { file: loc.file, line: loc.line, column: loc.column } : {}),
    };
  });
}

function originOf(result: Pick<CompileResult, 'resources' | 'origins'>, v: ResourceViolation): SourceLocation | undefined {
  const m = ROUTE_PATH.exec(v.path);
  if (v.typeUrl === TypeUrl.RouteConfiguration && m) {
    const rc = (result.resources[v.typeUrl] ?? []).find((r) => (r as { name?: string }).name === v.name) as
      | { virtual_hosts?: Array<{ routes?: Array<{ name?: string }> }> }
      | undefined;
    const routeName = rc?.virtual_hosts?.[Number(m[1])]?.routes?.[Number(m[2])]?.name;
    if (routeName) return result.origins.routes[routeName];
  }
  return result.origins.resources[v.typeUrl]?.[v.name];
}
