// Cheap source positions for module rules: the line of `export default` or of the define*Rule
// function. Good enough to send the reader to the right place without a full parse.
import type { SourceLocation } from './model.js';
import { offsetToLocation } from './source.js';

export function exportLocation(file: string, text: string, exportName: string | undefined): SourceLocation {
  const pattern =
    exportName === undefined
      ? undefined
      : exportName === 'default'
        ? /\bexport\s+default\b/
        : new RegExp(`(?:\\bfunction\\s*\\*?\\s*|\\b(?:const|let|var)\\s+)${exportName.replace(/\$/g, '\\$')}\\b`);
  const m = pattern?.exec(text);
  if (!m) return { file, line: 1, column: 1 };
  // Point at the start of the declaration's line (where "export" usually stands).
  const lineStart = text.lastIndexOf('\n', m.index) + 1;
  const indent = /^[ \t]*/.exec(text.slice(lineStart))?.[0].length ?? 0;
  return offsetToLocation(file, text, lineStart + indent);
}
