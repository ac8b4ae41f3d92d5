// Source locations of rule fields, for errors raised after validation (compile, publish).
import type { Rule, SourceLocation } from './model.js';

/**
 * Location of the field at dotted `path` ("cells.control.model"), else of its nearest located
 * ancestor, else of the rule itself. Module rules have no field locations: they get the rule's.
 */
export function fieldLoc(rule: Pick<Rule, 'loc' | 'fieldLocs'>, path: string): SourceLocation {
  const parts = path === '' ? [] : path.split('.');
  for (let n = parts.length; n > 0; n--) {
    const loc = rule.fieldLocs[parts.slice(0, n).join('.')];
    if (loc) return loc;
  }
  return rule.loc;
}

/** "file:line:column" of a location, as error messages show it. */
export function showLoc(loc: SourceLocation): string {
  return `${loc.file}:${loc.line}:${loc.column}`;
}
