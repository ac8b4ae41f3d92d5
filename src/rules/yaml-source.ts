// YAML rule files: several documents per file, each a rule with a kind.
import { LineCounter, parseAllDocuments, type Node } from 'yaml';
import { ruleError, type RuleError } from './errors.js';
import type { SourceLocation } from './model.js';
import type { SourceDocument, SourceResult } from './source.js';
import { stripBom } from './source.js';
import { collectLocations } from './yaml-locations.js';

/** Guards against alias bombs ("billion laughs") in untrusted YAML. */
const MAX_ALIAS_COUNT = 100;

export function parseYamlText(file: string, text: string): SourceResult {
  const lines = new LineCounter();
  const parsed = parseAllDocuments(stripBom(text), { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): SourceLocation => {
    const p = lines.linePos(offset);
    return { file, line: p.line, column: p.col };
  };
  const docs: SourceDocument[] = [];
  const errors: RuleError[] = [];

  for (const doc of parsed) {
    const contents = doc.contents as Node | null;
    const loc = contents?.range ? at(contents.range[0]) : at(doc.range[0]);
    for (const e of doc.errors) {
      errors.push(ruleError('RULE_YAML_SYNTAX', at(e.pos[0]), `YAML syntax error: ${firstLine(e.message)}`));
    }
    if (contents === null) continue; // an empty document (comments only, trailing ---)
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      if (doc.errors.length === 0) {
        errors.push(ruleError('RULE_YAML_SYNTAX', loc, `YAML cannot be read: ${firstLine(String((e as Error).message))}`));
      }
      continue;
    }
    if (value === null || value === undefined) continue;
    const broken = doc.errors.length > 0;
    docs.push({ file, loc, value, locs: collectLocations(contents, file, lines), ...(broken ? { broken } : {}) });
  }
  return { docs, errors };
}

function firstLine(s: string): string {
  return (s.split('\n')[0] ?? s).trim().replace(/[.:]$/, '');
}
