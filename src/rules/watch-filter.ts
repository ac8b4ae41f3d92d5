// Path policy of the rules-directory watcher: which paths are noise, which can hold rules.
// Pure functions on paths relative to the watched root, so they are trivial to test.

import { basename, extname, join, relative, sep } from 'node:path';

/** Extensions of files that can hold rules (YAML/JSON documents, JS/TS rule modules). */
export const RULE_FILE_EXTENSIONS: ReadonlySet<string> = new Set([
  '.yaml',
  '.yml',
  '.json',
  '.js',
  '.mjs',
  '.ts',
]);

/**
 * The symlink a Kubernetes ConfigMap/Secret volume swaps atomically on every update
 * (`..data -> ..2025_11_21_09_00_00.123`). It is the one dotfile we must not ignore.
 */
export const CONFIGMAP_DATA_LINK = '..data';

/**
 * Editors' side files and kubelet's staging entries: any path segment starting with a dot
 * (`.foo.yaml.swp`, `.#foo`, `..2025_…/`, `..data_tmp`) except `..data`, and `~` backups.
 * Paths outside the root are never ours to judge.
 */
export function isIgnoredPath(rel: string): boolean {
  if (rel === '') return false;
  const segments = rel.split(/[\\/]/);
  if (segments[0] === '..') return false;
  return segments.some(isHiddenSegment) || rel.endsWith('~');
}

function isHiddenSegment(segment: string): boolean {
  return segment.startsWith('.') && segment !== CONFIGMAP_DATA_LINK;
}

/** True when a change to `rel` can change the rules: a rule file, or the ConfigMap `..data` swap. */
export function isRelevantPath(rel: string): boolean {
  if (isIgnoredPath(rel)) return false;
  const name = basename(rel);
  return name === CONFIGMAP_DATA_LINK || RULE_FILE_EXTENSIONS.has(extname(name).toLowerCase());
}

/** `abs` relative to `root` with `/` separators, so change sets look the same on every OS. */
export function toRulePath(root: string, abs: string): string {
  return relative(root, abs).split(sep).join('/');
}

/**
 * The path a raw `fs.watch` event is about. A directory watcher reports a child name; a file
 * watcher reports its own basename. A child named like its directory is read as the directory,
 * which at worst reports a harmless extra path.
 */
export function rawEventPath(watchedPath: string, eventPath: string | null | undefined): string {
  if (!eventPath) return watchedPath;
  return basename(watchedPath) === eventPath ? watchedPath : join(watchedPath, eventPath);
}
