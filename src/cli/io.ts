// What CLI commands write to and how they fail: every failure is a CliError with a catalog code,
// one line for humans (`switchyard: CODE message Hint: hint`) and an exit code.
import type { ErrorCode } from '../errors/catalog.js';
import { ERROR_CATALOG } from '../errors/catalog.js';

export interface CliIO {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  readonly env: NodeJS.ProcessEnv;
}

/** Exit codes: 0 ok, 1 the command ran and failed (refused, invalid rules, not converged), 2 no usable admin API. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_UNREACHABLE = 2;

export class CliError extends Error {
  constructor(
    /** A catalog code: CLI_* here, or the server's code (ADMIN_*, STORE_*) passed through. */
    readonly code: string,
    message: string,
    readonly hint: string,
    readonly exitCode: number = EXIT_FAILED,
  ) {
    super(message);
    this.name = 'CliError';
  }

  static of(code: ErrorCode, message: string, exitCode: number = EXIT_FAILED, hint?: string): CliError {
    return new CliError(code, message, hint ?? ERROR_CATALOG[code].hint, exitCode);
  }

  /** One line. */
  format(): string {
    return `switchyard: ${this.code} ${this.message.replace(/\s*\n\s*/g, ' ')} Hint: ${this.hint}`;
  }
}

export function writeJson(io: CliIO, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
