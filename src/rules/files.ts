// Finding and reading rule files. Handles the Kubernetes ConfigMap volume layout: the real files
// live in a hidden timestamped directory reached through `..data`, and the visible top-level
// names are symlinks into it. Reading the visible names (following links) and skipping every
// dot-entry gives exactly one copy of each file, and the atomic `..data` swap stays invisible.
import { createHash } from 'node:crypto';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { compareStrings, ruleError, type RuleError } from './errors.js';
import type { RuleFile } from './model.js';

/** helper: a JS/TS file whose name starts with "_": importable by rule modules, not a rule module itself. */
export type SourceType = 'yaml' | 'json' | 'module' | 'helper';

export interface FoundFile {
  /** Relative to the rules directory, forward slashes. */
  readonly path: string;
  readonly abs: string;
  readonly type: SourceType;
}

export interface ReadFile extends FoundFile {
  readonly text: string;
  readonly digest: string;
}

/** Tooling files that may sit next to rule modules and are not rules. */
const NOT_RULES = new Set(['package.json', 'package-lock.json', 'tsconfig.json', 'jsconfig.json']);

export function sourceTypeOf(name: string): SourceType | undefined {
  if (NOT_RULES.has(name) || /\.d\.m?ts$/.test(name)) return undefined;
  if (/\.ya?ml$/.test(name)) return 'yaml';
  if (name.endsWith('.json')) return 'json';
  if (/\.(m?js|m?ts)$/.test(name)) return name.startsWith('_') ? 'helper' : 'module';
  return undefined;
}

const DIR = { file: '.', line: 0, column: 0 } as const;
const FILE_START = { line: 1, column: 1 } as const;

/** Rule files under `root`, sorted by path; errors for the directory or for unreadable entries. */
export async function findRuleFiles(root: string): Promise<{ files: FoundFile[]; errors: RuleError[] }> {
  const files: FoundFile[] = [];
  const errors: RuleError[] = [];
  try {
    if (!(await stat(root)).isDirectory()) throw new Error('not a directory');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(e as Error).message})`;
    return { files, errors: [ruleError('RULE_DIR_UNREADABLE', DIR, `rules directory ${why}`)] };
  }
  const visited = new Set<string>();

  const walk = async (abs: string, rel: string): Promise<void> => {
    const real = await realpath(abs);
    if (visited.has(real)) return; // a symlink loop or a second link to the same directory
    visited.add(real);
    const names = (await readdir(abs)).sort(compareStrings);
    for (const name of names) {
      // Dotfiles, .git, and the ConfigMap's ..data / ..2024_... entries.
      if (name.startsWith('.') || name === 'node_modules') continue;
      const childAbs = join(abs, name);
      const childRel = rel === '' ? name : `${rel}/${name}`;
      let st;
      try {
        st = await stat(childAbs); // follows symlinks
      } catch (e) {
        if (sourceTypeOf(name)) errors.push(ruleError('RULE_FILE_UNREADABLE', { file: childRel, ...FILE_START }, `cannot read file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; a dangling symlink?)`));
        continue;
      }
      if (st.isDirectory()) await walk(childAbs, childRel);
      else if (st.isFile()) {
        const type = sourceTypeOf(name);
        if (type) files.push({ path: childRel, abs: childAbs, type });
      }
    }
  };
  try {
    await walk(root, '');
  } catch (e) {
    errors.push(ruleError('RULE_DIR_UNREADABLE', DIR, `rules directory cannot be read (${(e as Error).message})`));
  }
  files.sort((a, b) => compareStrings(a.path, b.path));
  return { files, errors };
}

/** Reads a file's bytes once: the text to parse and the digest come from the same bytes. */
export async function readRuleFile(f: FoundFile): Promise<ReadFile | RuleError> {
  try {
    const bytes = await readFile(f.abs);
    return { ...f, text: bytes.toString('utf8'), digest: sha256(bytes) };
  } catch (e) {
    return ruleError('RULE_FILE_UNREADABLE', { file: f.path, ...FILE_START }, `cannot read file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function ruleFileOf(f: ReadFile): RuleFile {
  return { path: f.path, digest: f.digest };
}
