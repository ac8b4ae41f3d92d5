// Turns a JS/TS rule module and everything it imports into one ESM string with esbuild, so the
// worker can evaluate it from memory. Bundling also finds a missing import before anything runs,
// with its exact line and column.
import { build, type BuildFailure, type Message } from 'esbuild';
import { relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ruleError, type RuleError } from './errors.js';

export type BundleResult = { readonly code: string } | { readonly errors: RuleError[] };

/**
 * @param abs absolute path of the module
 * @param file its path relative to the rules directory (for error locations)
 * @param root the rules directory
 */
export async function bundleModule(abs: string, file: string, root: string): Promise<BundleResult> {
  try {
    const out = await build({
      entryPoints: [abs],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      logLevel: 'silent',
      absWorkingDir: root,
      // Bundled CommonJS dependencies call require(); give them one that resolves from the module.
      banner: { js: `import { createRequire as __switchyardRequire } from 'node:module'; const require = __switchyardRequire(${JSON.stringify(pathToFileURL(abs).href)});` },
    });
    return { code: out.outputFiles[0]?.text ?? '' };
  } catch (e) {
    const failure = e as Partial<BuildFailure>;
    const messages = Array.isArray(failure.errors) && failure.errors.length > 0 ? failure.errors : undefined;
    if (!messages) return { errors: [ruleError('RULE_MODULE_BUILD', { file, line: 1, column: 1 }, `rule module cannot be built: ${(e as Error).message}`)] };
    return { errors: messages.map((m) => buildError(m, file, root)) };
  }
}

function buildError(m: Message, file: string, root: string): RuleError {
  // esbuild reports paths relative to absWorkingDir (the rules directory).
  const where = m.location;
  const inFile = where ? relative(root, resolve(root, where.file)).split('\\').join('/') : file;
  // Errors inside an imported helper are reported on the module, naming the helper's position.
  const loc = where && inFile === file ? { file, line: where.line, column: where.column + 1 } : { file, line: 1, column: 1 };
  const elsewhere = where && inFile !== file ? ` (in ${inFile}:${where.line}:${where.column + 1})` : '';
  const missing = /^Could not resolve "(.*)"/.exec(m.text);
  if (missing) {
    return ruleError('RULE_MODULE_IMPORT', loc, `rule module imports "${missing[1]}", which cannot be found${elsewhere}`);
  }
  return ruleError('RULE_MODULE_BUILD', loc, `rule module does not compile: ${m.text}${elsewhere}`);
}
