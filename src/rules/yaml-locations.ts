// Maps every node of a parsed YAML document to file:line:column, keyed by dotted path.
import { isAlias, isMap, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import type { SourceLocation } from './model.js';
import { pathKey, type NodeLoc, type Path } from './source.js';

export function collectLocations(root: Node | null, file: string, lines: LineCounter): Map<string, NodeLoc> {
  const out = new Map<string, NodeLoc>();
  const at = (offset: number): SourceLocation => {
    const p = lines.linePos(offset);
    return { file, line: p.line, column: p.col };
  };

  const walk = (node: Node, path: Path, key: SourceLocation | undefined): void => {
    const value = node.range ? at(node.range[0]) : (key ?? { file, line: 1, column: 1 });
    // Aliases are recorded where they are written; their targets are located where anchored.
    const collection = !isAlias(node) && (isMap(node) || isSeq(node));
    const raw = isScalar(node) && node.type === 'PLAIN' && typeof node.source === 'string' ? { raw: node.source } : {};
    out.set(pathKey(path), { value, ...(key ? { key } : {}), collection, ...raw });
    if (isMap(node)) {
      for (const pair of node.items) {
        const keyNode = pair.key as Node | null;
        const name = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
        const keyLoc = keyNode?.range ? at(keyNode.range[0]) : value;
        const child = pair.value as Node | null;
        if (child) walk(child, [...path, name], keyLoc);
        else out.set(pathKey([...path, name]), { value: keyLoc, key: keyLoc, collection: false });
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        if (item) walk(item as Node, [...path, i], undefined);
      });
    }
  };

  if (root) walk(root, [], undefined);
  return out;
}
