// Errors the resolver client reports on its 'error' event. Resolve failures are ResolveErrors
// (src/resolver/errors.ts) thrown by resolve(); these are about the client's own plumbing.

/** What went wrong, for routing errors to alerts or logs. */
export type ClientErrorKind =
  /** The ADS stream failed or ended; the client reconnects after `retryInMs`. */
  | 'stream'
  /** A table from the control plane could not be decoded or compiled: it was NACKed. */
  | 'nack'
  /** The disk cache could not be read or is corrupt: it was ignored. */
  | 'cache-read'
  /** The disk cache could not be written: the in-memory table is unaffected. */
  | 'cache-write'
  /** A response did not hold the resolver table: the last table keeps serving. */
  | 'missing-table';

export class ClientError extends Error {
  /** Milliseconds until the next connection attempt ('stream' errors). */
  readonly retryInMs: number | undefined;
  /** gRPC status code of a failed stream ('stream' errors). */
  readonly grpcCode: number | undefined;
  /** The rejected version ('nack' errors). */
  readonly version: string | undefined;

  constructor(
    readonly kind: ClientErrorKind,
    message: string,
    details: { cause?: unknown; retryInMs?: number; grpcCode?: number; version?: string } = {},
  ) {
    super(message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.name = 'ClientError';
    this.retryInMs = details.retryInMs;
    this.grpcCode = details.grpcCode;
    this.version = details.version;
  }

  toJSON(): { kind: ClientErrorKind; message: string; retryInMs?: number; grpcCode?: number; version?: string } {
    return {
      kind: this.kind,
      message: this.message,
      ...(this.retryInMs !== undefined ? { retryInMs: this.retryInMs } : {}),
      ...(this.grpcCode !== undefined ? { grpcCode: this.grpcCode } : {}),
      ...(this.version !== undefined ? { version: this.version } : {}),
    };
  }
}
