// `switchyard check [dir]`: validate the rules without serving them. Exit code 0 when valid.
import { formatRuleError } from '../rules/format.js';
import { loadRuleDir } from '../rules/load.js';
import { describeCounts, totalRules } from '../rules/summary.js';
import type { LoadOptions } from '../rules/types.js';

export interface CheckOutput {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
}

/**
 * Prints every error (one per line, `file:line:column CODE what. Hint: how.`, paths prefixed with
 * `dir` as given) and a count to stderr and returns 1; or prints a summary to stdout and returns 0.
 */
export async function runCheck(dir: string, out: CheckOutput, opts: LoadOptions = {}): Promise<number> {
  const result = await loadRuleDir(dir, opts);
  const files = result.files.length;
  const fileWord = `${files} file${files === 1 ? '' : 's'}`;
  if (!result.ok) {
    for (const e of result.errors) out.stderr.write(`${formatRuleError(e, { dir })}\n`);
    const n = result.errors.length;
    const bad = new Set(result.errors.filter((e) => e.file !== '.').map((e) => e.file)).size;
    const where = files > 0 ? ` in ${bad} of ${fileWord}` : '';
    out.stderr.write(`${n} error${n === 1 ? '' : 's'}${where}.\n`);
    return 1;
  }
  const total = totalRules(result.ruleSet);
  out.stdout.write(`${dir}: OK, ${total} rule${total === 1 ? '' : 's'} in ${fileWord} (${describeCounts(result.ruleSet)}).\n`);
  return 0;
}
