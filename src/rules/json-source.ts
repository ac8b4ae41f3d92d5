// JSON rule files: one rule object or an array of them. JSON.parse decides validity (strict JSON);
// the YAML parser, which reads JSON as a subset, supplies line:column for every node.
import { LineCounter, parseDocument, type Node } from 'yaml';
import { ruleError, type RuleError } from './errors.js';
import { collectLocations } from './yaml-locations.js';
import { offsetToLocation, stripBom, type NodeLoc, type SourceDocument, type SourceResult } from './source.js';

export function parseJsonText(file: string, text: string): SourceResult {
  const body = stripBom(text);
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (e) {
    return { docs: [], errors: [jsonSyntaxError(file, body, e as Error)] };
  }

  const lines = new LineCounter();
  const doc = parseDocument(body, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const errors: RuleError[] = [];
  // JSON.parse silently keeps the last of duplicate keys; a duplicate in a rule is a mistake.
  for (const e of doc.errors.filter((x) => x.code === 'DUPLICATE_KEY')) {
    errors.push(ruleError('RULE_JSON_SYNTAX', offsetToLocation(file, body, e.pos[0]), 'JSON object has a duplicate key'));
  }
  const locs = doc.errors.length === 0 ? collectLocations(doc.contents as Node | null, file, lines) : new Map<string, NodeLoc>();
  const rootLoc = locs.get('')?.value ?? { file, line: 1, column: 1 };

  if (!Array.isArray(value)) return { docs: [{ file, loc: rootLoc, value, locs }], errors };
  const docs: SourceDocument[] = value.map((item, i) => {
    const sub = reroot(locs, String(i));
    return { file, loc: sub.get('')?.value ?? rootLoc, value: item as unknown, locs: sub };
  });
  return { docs, errors };
}

/** The locations under `prefix`, with paths relative to it. */
function reroot(locs: ReadonlyMap<string, NodeLoc>, prefix: string): Map<string, NodeLoc> {
  const out = new Map<string, NodeLoc>();
  for (const [path, node] of locs) {
    if (path === prefix) out.set('', node);
    else if (path.startsWith(`${prefix}.`)) out.set(path.slice(prefix.length + 1), node);
  }
  return out;
}

function jsonSyntaxError(file: string, text: string, e: Error): RuleError {
  const m = /at position (\d+)/.exec(e.message);
  let offset = m ? Number(m[1]) : /end of JSON input/.test(e.message) ? text.length : undefined;
  if (offset === undefined) {
    // Some messages carry no position; the YAML parser usually finds the same spot.
    const y = parseDocument(text, { prettyErrors: false });
    offset = y.errors[0]?.pos[0] ?? 0;
  }
  const what = e.message
    .replace(/\s*in JSON at position \d+.*$/s, '')
    .replace(/,\s*".*" is not valid JSON$/s, '')
    .trim();
  return ruleError('RULE_JSON_SYNTAX', offsetToLocation(file, text, offset), `JSON syntax error: ${what}`);
}
