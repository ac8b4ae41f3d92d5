// The CLI's client of the admin API (node:http, JSON). Connection problems become CLI_UNREACHABLE
// (exit 2) naming the address; error answers pass the server's {code, message, hint} through.
import http from 'node:http';
import type { ApiError } from '../admin/types.js';
import { CliError, EXIT_FAILED, EXIT_UNREACHABLE, type CliIO } from './io.js';

export const DEFAULT_ADMIN_ADDRESS = '127.0.0.1:19000';
/** Per request, unless the request itself waits longer (status --wait). */
export const DEFAULT_TIMEOUT_MS = 10_000;

export interface AdminTarget {
  readonly host: string;
  readonly port: number;
  /** As given, for messages. */
  readonly address: string;
  readonly token?: string;
}

/** host:port, [v6]:port or http://host:port[/]. */
export function parseAdminAddress(value: string): { host: string; port: number } {
  const s = value.trim().replace(/^https?:\/\//, '').replace(/\/+$/, '');
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:[\]]+):(\d+)$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw CliError.of('CLI_BAD_ADDRESS', `"${value}" is not host:port`, EXIT_UNREACHABLE);
  }
  return { host: m[1]!, port };
}

export interface ClientFlags {
  admin?: string;
  token?: string;
}

/** --admin, else SWITCHYARD_ADMIN, else 127.0.0.1:19000; --token, else SWITCHYARD_ADMIN_TOKEN. */
export function adminTarget(flags: ClientFlags, io: CliIO): AdminTarget {
  const address = flags.admin ?? io.env.SWITCHYARD_ADMIN ?? DEFAULT_ADMIN_ADDRESS;
  const { host, port } = parseAdminAddress(address);
  const token = flags.token ?? io.env.SWITCHYARD_ADMIN_TOKEN;
  return { host, port, address, ...(token ? { token } : {}) };
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'EADDRNOTAVAIL']);

export class AdminClient {
  constructor(
    readonly target: AdminTarget,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {}

  get<T>(path: string, opts: { timeoutMs?: number } = {}): Promise<T> {
    return this.request<T>('GET', path, undefined, opts.timeoutMs);
  }

  post<T>(path: string, body: object = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  private request<T>(method: 'GET' | 'POST', path: string, body: object | undefined, timeoutMs = this.timeoutMs): Promise<T> {
    const { host, port, address, token } = this.target;
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    if (token) headers.authorization = `Bearer ${token}`;
    return new Promise<T>((resolve, reject) => {
      const req = http.request({ host, port, method, path, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(unreachable(address, err)));
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            reject(CliError.of('CLI_BAD_RESPONSE', `${method} ${path} at ${address} answered HTTP ${res.statusCode} with ${text.length === 0 ? 'an empty body' : 'a body that is not JSON'}`, EXIT_UNREACHABLE));
            return;
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(json as T);
          if (isApiError(json)) return reject(new CliError(json.code, json.message, json.hint, EXIT_FAILED));
          reject(CliError.of('CLI_BAD_RESPONSE', `${method} ${path} at ${address} answered HTTP ${status} without an error code`, EXIT_UNREACHABLE));
        });
      });
      const timer = setTimeout(() => {
        req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
      }, timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(unreachable(address, err));
      });
      req.end(payload);
    });
  }
}

function isApiError(v: unknown): v is ApiError {
  return typeof v === 'object' && v !== null && typeof (v as ApiError).code === 'string' && typeof (v as ApiError).message === 'string' && typeof (v as ApiError).hint === 'string';
}

function unreachable(address: string, err: unknown): CliError {
  const code = (err as NodeJS.ErrnoException).code;
  const detail = code && UNREACHABLE_CODES.has(code) ? code : err instanceof Error ? err.message : String(err);
  return CliError.of('CLI_UNREACHABLE', `cannot reach the admin API at ${address} (${detail}).`, EXIT_UNREACHABLE);
}
