#!/usr/bin/env node
// The `switchyard` command line.
import { Command, InvalidArgumentError } from 'commander';
import { runServe } from './serve.js';
import { runCheck } from './check.js';
import { defaultConfig } from '../app/config.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number 0..65535');
  return n;
}

const program = new Command();
program.name('switchyard').description('xDS control plane for model-serving routing').version('0.1.0');

program
  .command('serve')
  .description('serve the rules directory over ADS (state of the world and delta), publishing changes as they are saved')
  .option('-r, --rules <dir>', 'rules directory (default: ./rules, or SWITCHYARD_RULES)')
  .option('--ads-host <host>', 'ADS listen address (default 127.0.0.1, or SWITCHYARD_ADS_HOST)')
  .option('--ads-port <port>', 'ADS listen port (default 18000, or SWITCHYARD_ADS_PORT)', port)
  .option('--no-watch', 'load the rules once; do not watch for changes')
  .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
  .action(async (opts: { rules?: string; adsHost?: string; adsPort?: number; watch: boolean; logLevel?: string }) => {
    await runServe({
      rulesDir: opts.rules,
      adsHost: opts.adsHost,
      adsPort: opts.adsPort,
      watch: opts.watch,
      logLevel: opts.logLevel as never,
    });
  });

program
  .command('check')
  .description('validate a rules directory: print every error with file:line:column and exit 1, or a summary and exit 0')
  .argument('[dir]', 'rules directory', defaultConfig().rulesDir)
  .action(async (dir: string) => {
    process.exitCode = await runCheck(dir, { stdout: process.stdout, stderr: process.stderr });
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`switchyard: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
