// Human output of the CLI: aligned tables, and the rendering of snapshot diffs shared by
// `snapshots diff` and `plan`.
import type { FieldChange, TypeDiff } from '../admin/types.js';

/** Columns separated by two spaces, padded to the widest cell; trailing blanks trimmed. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], indent = ''): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => `${indent}${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** JSON of a value on one line, cut at `max` characters. */
export function value(v: unknown, max = 100): string {
  const s = v === undefined ? 'undefined' : JSON.stringify(v);
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function percent(p: number): string {
  return `${Number.isInteger(p) ? p : p.toFixed(2)}%`;
}

export function delta(d: number): string {
  if (d === 0) return '0';
  const s = Number.isInteger(d) ? String(Math.abs(d)) : Math.abs(d).toFixed(2);
  return `${d > 0 ? '+' : '-'}${s} pp`;
}

export function fieldChange(c: FieldChange): string {
  switch (c.kind) {
    case 'changed':
      return `${c.path}: ${value(c.old)} -> ${value(c.new)}`;
    case 'added':
      return `${c.path}: added ${value(c.new)}`;
    case 'removed':
      return `${c.path}: removed ${value(c.old)}`;
    case 'reordered':
      return `${c.path}: order ${value(c.old)} -> ${value(c.new)}`;
  }
}

/** Field changes shown per resource in human output (all of them are in --json). */
export const HUMAN_FIELD_CHANGES = 25;

/** One block per type: counts, then + added, - removed, ~ changed with its field changes. */
export function renderTypeDiffs(types: readonly TypeDiff[], indent = ''): string {
  let out = '';
  for (const t of types) {
    const counts = `+${t.added.length} -${t.removed.length} ~${t.changed.length} =${t.unchanged}`;
    const none = t.added.length === 0 && t.removed.length === 0 && t.changed.length === 0;
    out += `${indent}${t.type.padEnd(4)} ${none ? `no change (${t.unchanged} resource${t.unchanged === 1 ? '' : 's'})` : counts}\n`;
    for (const n of t.added) out += `${indent}  + ${n}\n`;
    for (const n of t.removed) out += `${indent}  - ${n}\n`;
    for (const c of t.changed) {
      out += `${indent}  ~ ${c.name}\n`;
      for (const f of c.changes.slice(0, HUMAN_FIELD_CHANGES)) out += `${indent}      ${fieldChange(f)}\n`;
      const more = c.changes.length - HUMAN_FIELD_CHANGES + (c.truncated ? 1 : 0);
      if (more > 0) out += `${indent}      … ${c.truncated ? 'more' : more} field change${more === 1 && !c.truncated ? '' : 's'} not shown (use --json)\n`;
    }
  }
  return out;
}

export function shortTime(iso: string | null): string {
  return iso ? iso.replace(/\.\d+Z$/, 'Z') : '-';
}
