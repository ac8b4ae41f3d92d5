// Chooses the parser for a YAML or JSON text by file name.
import { parseJsonText } from './json-source.js';
import type { SourceResult } from './source.js';
import { parseYamlText } from './yaml-source.js';

/** `.json` files are JSON; everything else given as text is YAML. */
export function parseRuleText(file: string, text: string): SourceResult {
  return file.endsWith('.json') ? parseJsonText(file, text) : parseYamlText(file, text);
}
