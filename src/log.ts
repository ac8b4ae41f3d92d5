// One pino logger factory: structured JSON, one event per line, to stderr for CLI tools that print
// results on stdout and to stdout for the server.
import pino, { type Logger } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export function createLogger(level: LogLevel = 'info', destination: 1 | 2 = 1): Logger {
  return pino({ level, base: { service: 'switchyard' }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: destination, sync: false }));
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
