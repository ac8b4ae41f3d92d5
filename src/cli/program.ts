// The `switchyard` command line as a function: runCli(argv, io) parses, runs one command and
// returns its exit code, so tests run it in-process with captured output and main.ts runs it for
// real. Commands that talk to a running server take --admin <host:port> (or SWITCHYARD_ADMIN),
// --token (or SWITCHYARD_ADMIN_TOKEN) and --json.
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { runServe } from './serve.js';
import { runCheck } from './check.js';
import { defaultConfig } from '../app/config.js';
import { AdminClient, adminTarget, type ClientFlags } from './client.js';
import { CliError, EXIT_FAILED, type CliIO } from './io.js';
import { snapshotsDiff, snapshotsLs, snapshotsShow } from './snapshots.js';
import { status } from './status.js';
import { resume, rollback } from './operations.js';
import { plan } from './plan.js';
import { rolloutOperation, rolloutStatus, shiftOperation } from './rollout.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number 0..65535');
  return n;
}

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
}

/** "30s", "1500ms", "2m" or plain seconds -> milliseconds. */
function duration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('expected a duration such as 30s, 1500ms or 2m');
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000);
}

type ClientOpts = ClientFlags & { json?: boolean; timeout?: number };

function clientOptions(cmd: Command, json = true): Command {
  cmd.option('--admin <host:port>', 'admin API of the server (default 127.0.0.1:19000, or SWITCHYARD_ADMIN)');
  cmd.option('--token <token>', 'bearer token for rollback/resume (default SWITCHYARD_ADMIN_TOKEN)');
  if (json) cmd.option('--json', 'print JSON for scripts instead of tables');
  return cmd;
}

export function buildProgram(io: CliIO, setExitCode: (code: number) => void): Command {
  const client = (opts: ClientOpts): AdminClient => new AdminClient(adminTarget(opts, io));
  /** Runs a client command; CliErrors become one line on stderr and their exit code. */
  const run = (fn: () => Promise<number>) => async (): Promise<void> => {
    try {
      setExitCode(await fn());
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      io.stderr.write(`${err.format()}\n`);
      setExitCode(err.exitCode);
    }
  };

  const program = new Command();
  program
    .name('switchyard')
    .description('xDS control plane for model-serving routing')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) });

  program
    .command('serve')
    .description('serve the rules directory over ADS (state of the world and delta), publishing changes as they are saved')
    .option('-r, --rules <dir>', 'rules directory (default: ./rules, or SWITCHYARD_RULES)')
    .option('--ads-host <host>', 'ADS listen address (default 127.0.0.1, or SWITCHYARD_ADS_HOST)')
    .option('--ads-port <port>', 'ADS listen port (default 18000, or SWITCHYARD_ADS_PORT)', port)
    .option('--ads-plaintext-port <port>', 'also serve ADS in plaintext on 127.0.0.1:<port>, for local proxyless gRPC clients when the ADS port uses TLS (or SWITCHYARD_ADS_PLAINTEXT_PORT)', port)
    .option('--snapshots <dir>', 'snapshot history directory (default ./xds-snapshots, or SWITCHYARD_SNAPSHOT_DIR)')
    .option('--admin-host <host>', 'admin API listen address (default 127.0.0.1, or SWITCHYARD_ADMIN_HOST); off loopback a token is required')
    .option('--admin-port <port>', 'admin API listen port (default 19000, or SWITCHYARD_ADMIN_PORT)', port)
    .option('--admin-token <token>', 'bearer token required by rollback/resume (default SWITCHYARD_ADMIN_TOKEN)')
    .option('--no-admin', 'do not start the admin API')
    .option('--no-watch', 'load the rules once; do not watch for changes')
    .option('--tls-cert <file>', 'TLS certificate for the ADS port (or SWITCHYARD_TLS_CERT); reloaded when it changes')
    .option('--tls-key <file>', 'TLS private key (or SWITCHYARD_TLS_KEY)')
    .option('--tls-client-ca <file>', 'CA bundle for client certificates: turns on mutual TLS (or SWITCHYARD_TLS_CLIENT_CA)')
    .option('--require-node-identity', 'refuse ADS streams whose node id differs from their client certificate identity')
    .option('--tls-trust-domain <name>', 'SPIFFE trust domain node identities must be in (or SWITCHYARD_TLS_TRUST_DOMAIN)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
    .action(
      async (opts: {
        rules?: string;
        adsHost?: string;
        adsPort?: number;
        adsPlaintextPort?: number;
        snapshots?: string;
        adminHost?: string;
        adminPort?: number;
        adminToken?: string;
        admin: boolean;
        watch: boolean;
        tlsCert?: string;
        tlsKey?: string;
        tlsClientCa?: string;
        requireNodeIdentity?: boolean;
        tlsTrustDomain?: string;
        logLevel?: string;
      }) => {
        const code = await runServe({
          rulesDir: opts.rules,
          adsHost: opts.adsHost,
          adsPort: opts.adsPort,
          adsPlaintextLoopbackPort: opts.adsPlaintextPort,
          snapshotDir: opts.snapshots,
          watch: opts.watch,
          logLevel: opts.logLevel as never,
          admin: opts.admin ? { host: opts.adminHost, port: opts.adminPort, token: opts.adminToken } : false,
          tls: { certFile: opts.tlsCert, keyFile: opts.tlsKey, clientCaFile: opts.tlsClientCa, requireNodeIdentity: opts.requireNodeIdentity, trustDomain: opts.tlsTrustDomain },
        });
        setExitCode(code);
      },
    );

  program
    .command('check')
    .description('validate a rules directory: print every error with file:line:column and exit 1, or a summary and exit 0')
    .argument('[dir]', 'rules directory', defaultConfig().rulesDir)
    .action(async (dir: string) => {
      setExitCode(await runCheck(dir, { stdout: io.stdout, stderr: io.stderr }));
    });

  const snapshots = program.command('snapshots').description('the stored snapshot history of a running server');
  clientOptions(snapshots.command('ls').description('list stored versions, newest first, with live/pinned flags and damaged files')).action((opts: ClientOpts) => {
    return run(() => snapshotsLs(client(opts), io, opts))();
  });
  clientOptions(
    snapshots
      .command('show')
      .description('show a stored version: its resources decoded to JSON')
      .argument('<version>', 'a version, a unique prefix (6+ characters), "live" or "pinned"')
      .option('--type <type>', 'only these types: CDS, EDS, LDS, RDS, RESOLVER or a type URL (comma separated)')
      .option('--raw', 'base64 of the encoded resources instead of JSON'),
  ).action((version: string, opts: ClientOpts & { type?: string; raw?: boolean }) => {
    return run(() => snapshotsShow(client(opts), io, version, opts))();
  });
  clientOptions(
    snapshots
      .command('diff')
      .description('resources added, removed and changed between two versions, with field-level changes')
      .argument('<from>', 'a version, prefix, "live" or "pinned"')
      .argument('[to]', 'a version, prefix, "live" or "pinned" (default live)')
      .option('--type <type>', 'only these types (comma separated)'),
  ).action((from: string, to: string | undefined, opts: ClientOpts & { type?: string }) => {
    return run(() => snapshotsDiff(client(opts), io, from, to, opts))();
  });

  clientOptions(
    program
      .command('status')
      .description('per proxy and type: SYNCED, STALE, NACKED or NOT SENT, the version it holds, and the rollout (live, pinned)')
      .option('--wait', 'wait until every proxy converged on the live version (exit 1 if not in time)')
      .option('--timeout <duration>', 'how long --wait waits (default 30s)', duration)
      .option('--live <version>', 'with --wait: the live version must also be this one (prefix)')
      .option('--min <n>', 'with --wait: at least this many proxies (default 1)', wholeNumber),
  ).action((opts: ClientOpts & { wait?: boolean; live?: string; min?: number }) => {
    return run(() => status(client(opts), io, { json: opts.json, wait: opts.wait, waitTimeoutMs: opts.timeout, version: opts.live, min: opts.min }))();
  });

  clientOptions(
    program
      .command('rollback')
      .description('serve a stored version to the whole fleet now and pin it: rule changes are held until resume')
      .argument('<version>', 'a stored version or unique prefix (see snapshots ls)')
      .option('--wait', 'then wait until every connected proxy converged on it')
      .option('--timeout <duration>', 'how long --wait waits (default 30s)', duration),
  ).action((version: string, opts: ClientOpts & { wait?: boolean }) => {
    return run(() => rollback(client(opts), io, version, { json: opts.json, wait: opts.wait, waitTimeoutMs: opts.timeout }))();
  });

  clientOptions(
    program
      .command('resume')
      .description('remove the pin and publish the newest rules again')
      .option('--wait', 'then wait until every connected proxy converged on the result')
      .option('--timeout <duration>', 'how long --wait waits (default 30s)', duration),
  ).action((opts: ClientOpts & { wait?: boolean }) => {
    return run(() => resume(client(opts), io, { json: opts.json, wait: opts.wait, waitTimeoutMs: opts.timeout }))();
  });

  clientOptions(
    program
      .command('plan')
      .description('compile a rules directory locally and show what publishing it would change: resources per type and traffic shares per objective')
      .argument('[dir]', 'rules directory', defaultConfig().rulesDir)
      .option('--all', 'list every objective, not only those whose shares change'),
  ).action((dir: string, opts: ClientOpts & { all?: boolean }) => {
    return run(() => plan(client(opts), io, dir, opts))();
  });

  const rollout = program.command('rollout').description('the ordered rollout of the newest version to the fleet (waves, traffic shifts, model readiness)');
  clientOptions(rollout.command('status').description('waves of the current rollout with ACK counts, traffic shifts, model readiness')).action((opts: ClientOpts) => {
    return run(() => rolloutStatus(client(opts), io, opts))();
  });
  const rolloutOps = [
    ['pause', 'open no further wave until resume (also holds rollouts started meanwhile)'],
    ['resume', 'continue a paused rollout; retry a halted one from the canary'],
    ['abort', 'every proxy back on the last good version at once'],
    ['force', 'every proxy on the version being rolled out at once'],
  ] as const;
  for (const [op, description] of rolloutOps) {
    clientOptions(rollout.command(op).description(description)).action((opts: ClientOpts) => {
      return run(() => rolloutOperation(client(opts), io, op, opts))();
    });
  }

  const shift = program.command('shift').description('self-advancing traffic shifts of a running server');
  const shiftOps = [
    ['pause', 'freeze the shift at its step (its hold resumes where it stopped)'],
    ['resume', 'continue a paused shift'],
    ['abort', 'every user back on the previous model at once (published without waves)'],
  ] as const;
  for (const [op, description] of shiftOps) {
    clientOptions(shift.command(op).description(description).argument('<name>', 'the TrafficShift name')).action((name: string, opts: ClientOpts) => {
      return run(() => shiftOperation(client(opts), io, op, name, opts))();
    });
  }

  return program;
}

/** Parses `argv` (without node and script), runs the command, returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof CliError) {
      io.stderr.write(`${err.format()}\n`);
      return err.exitCode;
    }
    io.stderr.write(`switchyard: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILED;
  }
  return code;
}
