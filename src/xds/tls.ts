// TLS for the ADS port: a server certificate and key, an optional client CA (mutual TLS), reloaded
// from disk whenever the files change, without a restart and without dropping open streams.
//
// How reload works (grpc-js 1.14): `grpc.experimental.createCertificateProviderServerCredentials`
// takes CertificateProviders and calls `setSecureContext` on the listening HTTP/2 server each time
// a provider reports new material; new connections get the new certificate, established ones keep
// the session they negotiated. grpc-js ships `FileWatcherCertificateProvider`, but it polls on a
// timer and reports an unreadable or half-written file as "no certificate", which makes the server
// drop every new connection until the next poll. `TlsFiles` below is a provider of our own: it
// watches the directories (fs.watch, so a Kubernetes Secret's `..data` symlink swap counts), polls
// as a safety net, and validates the whole set (certificate parses, key matches it, CA parses,
// OpenSSL accepts the context) before it reports anything. An invalid set is logged
// (TLS_RELOAD_REJECTED) and the previous certificate keeps serving.
//
// Note on grpc-js 1.14.7: `createCertificateProviderServerCredentials(a, b, requireClientCert)` is
// declared as (caProvider, identityProvider, ...) but passes `a` to the constructor's identity slot
// and `b` to its CA slot. We call it in the order that works (identity first) and
// test/xds/tls.test.ts would fail if a grpc-js upgrade swapped it.
import { EventEmitter } from 'node:events';
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import pino, { type Logger } from 'pino';
import { SwitchyardError } from '../errors/catalog.js';
import { nodeIdentityAuthorizer, type NodeIdentityPolicy, type PeerIdentity } from './identity.js';
import type { NodeInfo } from './provider.js';

type CertificateProvider = grpc.experimental.CertificateProvider;
type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

export interface TlsFilePaths {
  /** PEM: the server certificate, then any intermediates. */
  readonly certFile: string;
  /** PEM private key of the server certificate (unencrypted). */
  readonly keyFile: string;
  /** PEM bundle of the CA(s) that sign client certificates; enables mutual TLS. */
  readonly caFile?: string;
}

/** What a served certificate is, for logs, events and status. */
export interface CertificateSummary {
  readonly subject: string;
  readonly issuer: string;
  readonly subjectAltName: string;
  readonly serialNumber: string;
  readonly fingerprint256: string;
  readonly validFrom: string;
  readonly validTo: string;
}

/** A validated set of TLS files. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
  readonly certificate: CertificateSummary;
  /** SHA-256 fingerprints of the client CA certificates. */
  readonly caFingerprints: readonly string[];
  /** Digest of the certificate, key and CA bytes together. */
  readonly digest: string;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function pemCertificates(pem: Buffer): string[] {
  return pem.toString('utf8').match(PEM_CERT) ?? [];
}

function summary(x: X509Certificate): CertificateSummary {
  return {
    subject: x.subject.replace(/\n/g, ', '),
    issuer: x.issuer.replace(/\n/g, ', '),
    subjectAltName: x.subjectAltName ?? '',
    serialNumber: x.serialNumber,
    fingerprint256: x.fingerprint256,
    validFrom: x.validFrom,
    validTo: x.validTo,
  };
}

function errnoOf(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ?? (e instanceof Error ? e.message : String(err));
}

async function readTlsFile(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new SwitchyardError('TLS_FILE_UNREADABLE', `cannot read the ${what} ${file}: ${errnoOf(err)}`);
  }
}

/** Reads and validates certificate, key and CA; throws a SwitchyardError (TLS_*) naming the file. */
export async function loadTlsMaterial(paths: TlsFilePaths): Promise<TlsMaterial> {
  const [cert, key, ca] = await Promise.all([
    readTlsFile(paths.certFile, 'server certificate'),
    readTlsFile(paths.keyFile, 'server key'),
    paths.caFile !== undefined ? readTlsFile(paths.caFile, 'client CA bundle') : Promise.resolve(undefined),
  ]);
  const blocks = pemCertificates(cert);
  if (blocks.length === 0) throw new SwitchyardError('TLS_BAD_CERT', `${paths.certFile} holds no PEM certificate`);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(blocks[0]!);
    for (const b of blocks.slice(1)) new X509Certificate(b);
  } catch (err) {
    throw new SwitchyardError('TLS_BAD_CERT', `${paths.certFile} does not parse as an X.509 certificate: ${errnoOf(err)}`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new SwitchyardError('TLS_BAD_KEY', `${paths.keyFile} is not a usable PEM private key: ${errnoOf(err)}`);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new SwitchyardError('TLS_KEY_MISMATCH', `the key in ${paths.keyFile} does not belong to the certificate in ${paths.certFile} (serial ${leaf.serialNumber})`);
  }
  const caFingerprints: string[] = [];
  if (ca !== undefined) {
    const caBlocks = pemCertificates(ca);
    if (caBlocks.length === 0) throw new SwitchyardError('TLS_BAD_CA', `${paths.caFile} holds no PEM certificate`);
    try {
      for (const b of caBlocks) caFingerprints.push(new X509Certificate(b).fingerprint256);
    } catch (err) {
      throw new SwitchyardError('TLS_BAD_CA', `${paths.caFile} holds a certificate that does not parse: ${errnoOf(err)}`);
    }
  }
  try {
    // What setSecureContext will do with them: OpenSSL must accept the set as a whole.
    createSecureContext({ cert, key, ...(ca ? { ca } : {}) });
  } catch (err) {
    throw new SwitchyardError('TLS_BAD_CERT', `OpenSSL refuses ${paths.certFile} with ${paths.keyFile}${ca ? ` and ${paths.caFile}` : ''}: ${errnoOf(err)}`);
  }
  const digest = createHash('sha256')
    .update(cert)
    .update('\0')
    .update(key)
    .update('\0')
    .update(ca ?? '')
    .digest('hex');
  return { cert, key, ca, certificate: summary(leaf), caFingerprints, digest };
}

export interface TlsReloadEvent {
  readonly certificate: CertificateSummary;
  readonly previous: CertificateSummary;
  readonly identityChanged: boolean;
  readonly caChanged: boolean;
  readonly reason: string;
}

export type TlsReloadOutcome = 'reloaded' | 'unchanged' | 'rejected';

export interface TlsFilesEvents {
  /** New material was validated and handed to the server: new connections use it from now on. */
  reload: [TlsReloadEvent];
  /** Changed files did not validate; the previous material keeps serving. */
  rejected: [SwitchyardError];
}

export interface TlsFilesOptions {
  logger?: Logger;
  /** Re-read the files this often as well, for filesystems fs.watch misses (network mounts). 0: never. Default 30 s. */
  pollIntervalMs?: number;
  /** Wait this long after the last file event before reading (a rotation writes several files). Default 100 ms. */
  settleMs?: number;
  /** Watch the files' directories. Default true. */
  watch?: boolean;
}

/**
 * The TLS files of the ADS port as a grpc-js CertificateProvider (identity and CA), reloaded when
 * they change. Emits `reload` after the server has the new material, `rejected` when changed files
 * are invalid.
 */
export class TlsFiles extends EventEmitter<TlsFilesEvents> implements CertificateProvider {
  private readonly log: Logger;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly watchers: FSWatcher[] = [];
  private pollTimer: NodeJS.Timeout | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  private running: Promise<TlsReloadOutcome> | undefined;
  private queued: Promise<TlsReloadOutcome> | undefined;
  private lastRejection: string | undefined;
  private closed = false;

  private constructor(
    readonly paths: TlsFilePaths,
    private material: TlsMaterial,
    private readonly options: TlsFilesOptions,
  ) {
    super();
    this.log = options.logger ?? pino({ level: 'silent' });
  }

  /** Loads and validates the files (throws TLS_* errors), then starts watching them. */
  static async open(paths: TlsFilePaths, options: TlsFilesOptions = {}): Promise<TlsFiles> {
    const files = new TlsFiles(paths, await loadTlsMaterial(paths), options);
    files.warnIfExpired();
    files.startWatching();
    return files;
  }

  /** The material currently handed to the server. */
  get current(): TlsMaterial {
    return this.material;
  }

  /**
   * Re-reads the files now. Reloads run one at a time; a request during a reload runs once after
   * it (requests in between coalesce).
   */
  reload(reason = 'requested'): Promise<TlsReloadOutcome> {
    if (this.closed) return Promise.resolve('unchanged');
    if (!this.running) {
      this.running = this.readAndApply(reason).finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    this.queued ??= this.running.then(() => {
      this.queued = undefined;
      return this.reload(reason);
    });
    return this.queued;
  }

  /** Resolves at the next reload whose certificate satisfies `predicate` (default: any). */
  nextReload(predicate: (e: TlsReloadEvent) => boolean = () => true): Promise<TlsReloadEvent> {
    return new Promise((resolve) => {
      const listener = (e: TlsReloadEvent): void => {
        if (!predicate(e)) return;
        this.off('reload', listener);
        resolve(e);
      };
      this.on('reload', listener);
    });
  }

  private async readAndApply(reason: string): Promise<TlsReloadOutcome> {
    let next: TlsMaterial;
    try {
      next = await loadTlsMaterial(this.paths);
    } catch (err) {
      if (this.closed) return 'unchanged';
      const cause = err instanceof SwitchyardError ? `${err.code} ${err.message}` : errnoOf(err);
      const rejected = new SwitchyardError('TLS_RELOAD_REJECTED', cause);
      // A rotation in progress (certificate written, key not yet) fails once; polling would
      // repeat the same failure every interval: log each distinct failure once.
      if (cause !== this.lastRejection) {
        this.lastRejection = cause;
        this.log.warn({ event: 'tls_reload_rejected', code: rejected.code, reason, error: cause, serving: this.material.certificate.serialNumber }, 'TLS files changed but are not valid; the previous certificate keeps serving');
      }
      this.emit('rejected', rejected);
      return 'rejected';
    }
    if (this.closed) return 'unchanged';
    this.lastRejection = undefined;
    const previous = this.material;
    if (next.digest === previous.digest) return 'unchanged';
    const caChanged = !(next.ca ?? Buffer.alloc(0)).equals(previous.ca ?? Buffer.alloc(0));
    const identityChanged = !next.cert.equals(previous.cert) || !next.key.equals(previous.key);
    this.material = next;
    // Synchronous, in one turn of the event loop: no handshake sees a half-applied set.
    if (caChanged && next.ca) for (const l of this.caListeners) l({ caCertificate: next.ca });
    if (identityChanged) for (const l of this.identityListeners) l({ certificate: next.cert, privateKey: next.key });
    this.log.info(
      {
        event: 'tls_reloaded',
        reason,
        serial: next.certificate.serialNumber,
        fingerprint256: next.certificate.fingerprint256,
        subject: next.certificate.subject,
        validTo: next.certificate.validTo,
        previousSerial: previous.certificate.serialNumber,
        identityChanged,
        caChanged,
      },
      'TLS files reloaded; new connections use them',
    );
    this.warnIfExpired();
    this.emit('reload', { certificate: next.certificate, previous: previous.certificate, identityChanged, caChanged, reason });
    return 'reloaded';
  }

  private warnIfExpired(): void {
    const c = this.material.certificate;
    const now = Date.now();
    if (Date.parse(c.validTo) < now || Date.parse(c.validFrom) > now) {
      this.log.warn({ event: 'tls_cert_not_valid_now', serial: c.serialNumber, validFrom: c.validFrom, validTo: c.validTo }, 'the server certificate is not valid at this time; clients will refuse it');
    }
  }

  private startWatching(): void {
    if (this.options.watch !== false) {
      const dirs = new Set([this.paths.certFile, this.paths.keyFile, ...(this.paths.caFile ? [this.paths.caFile] : [])].map((f) => path.dirname(path.resolve(f))));
      for (const dir of dirs) {
        try {
          // The directory, not the file: editors and Secret mounts replace files by rename, which
          // ends a watch on the file itself. Any event schedules a read; unchanged content is a no-op.
          const w = watch(dir, { persistent: false }, () => this.schedule());
          w.on('error', (err) => this.log.warn({ event: 'tls_watch_error', dir, err }, 'cannot watch the TLS files; relying on polling'));
          this.watchers.push(w);
        } catch (err) {
          this.log.warn({ event: 'tls_watch_error', dir, err }, 'cannot watch the TLS files; relying on polling');
        }
      }
    }
    const poll = this.options.pollIntervalMs ?? 30_000;
    if (poll > 0) {
      this.pollTimer = setInterval(() => void this.reload('poll'), poll);
      this.pollTimer.unref();
    }
  }

  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => void this.reload('file change'), this.options.settleMs ?? 100);
    this.settleTimer.unref();
  }

  /** Stops watching. Listeners the server registered stay until it shuts down. */
  close(): void {
    this.closed = true;
    clearTimeout(this.settleTimer);
    clearInterval(this.pollTimer);
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
  }

  // ---- grpc.experimental.CertificateProvider: listeners get the current material at once (next tick).

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    const ca = this.material.ca;
    process.nextTick(() => {
      if (this.caListeners.has(listener)) listener(ca ? { caCertificate: ca } : null);
    });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    const { cert, key } = this.material;
    process.nextTick(() => {
      if (this.identityListeners.has(listener)) listener({ certificate: cert, privateKey: key });
    });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }
}

/** TLS settings of the ADS port, as config and flags give them. */
export interface AdsTlsConfig {
  certFile: string;
  keyFile: string;
  /** Enables mutual TLS: client certificates are verified against this CA bundle. */
  clientCaFile?: string;
  /** Refuse connections without a valid client certificate. Default: true when clientCaFile is set. */
  requireClientCert?: boolean;
  /** Refuse ADS streams whose node id is not the one their client certificate names (docs/tls.md). */
  requireNodeIdentity?: boolean;
  /** Node SPIFFE IDs must be in this trust domain (default: any the client CA signs). */
  trustDomain?: string;
  /** A client certificate without a node SPIFFE ID identifies by its CN. Default true. */
  allowCommonName?: boolean;
  pollIntervalMs?: number;
  settleMs?: number;
}

export interface AdsTls {
  /** For AdsServerOptions.credentials. */
  readonly credentials: grpc.ServerCredentials;
  /** For AdsServerOptions.authorizeNode; set when requireNodeIdentity is on. */
  readonly authorizeNode?: (node: NodeInfo, peer: PeerIdentity) => string | undefined;
  /** The watched files (events: reload, rejected; reload() to force a re-read, e.g. on SIGHUP). */
  readonly files: TlsFiles;
  /** Stops watching the files. */
  close(): Promise<void>;
}

/**
 * Server credentials for the ADS port from certificate, key and optional client CA files, reloaded
 * when the files change. Throws a SwitchyardError (TLS_*) when the settings or the files are not
 * usable, before anything listens.
 */
export async function adsCredentialsFromConfig(cfg: AdsTlsConfig, logger?: Logger): Promise<AdsTls> {
  const log = logger ?? pino({ level: 'silent' });
  if (!cfg.certFile || !cfg.keyFile) {
    throw new SwitchyardError('TLS_INCOMPLETE', `TLS needs both a certificate and a key file (got ${cfg.certFile ? 'a certificate' : 'no certificate'} and ${cfg.keyFile ? 'a key' : 'no key'})`);
  }
  if (cfg.requireNodeIdentity && !cfg.clientCaFile) {
    throw new SwitchyardError('TLS_IDENTITY_WITHOUT_CA', 'node identity checks (--require-node-identity) need a client CA (--tls-client-ca) to verify client certificates');
  }
  if (cfg.requireClientCert && !cfg.clientCaFile) {
    throw new SwitchyardError('TLS_INCOMPLETE', 'client certificates are required but no client CA is given', 'give --tls-client-ca (SWITCHYARD_TLS_CLIENT_CA): the CA bundle that signs client certificates');
  }
  const files = await TlsFiles.open(
    { certFile: cfg.certFile, keyFile: cfg.keyFile, ...(cfg.clientCaFile ? { caFile: cfg.clientCaFile } : {}) },
    { logger: log, pollIntervalMs: cfg.pollIntervalMs, settleMs: cfg.settleMs },
  );
  const mutual = cfg.clientCaFile !== undefined;
  const requireClientCert = mutual && cfg.requireClientCert !== false;
  // Identity provider first: see the note on grpc-js 1.14 at the top of this file.
  const credentials = grpc.experimental.createCertificateProviderServerCredentials(files, mutual ? files : null, requireClientCert);
  const policy: NodeIdentityPolicy = {
    ...(cfg.trustDomain ? { trustDomain: cfg.trustDomain } : {}),
    ...(cfg.allowCommonName === false ? { allowCommonName: false } : {}),
  };
  const c = files.current.certificate;
  log.info(
    {
      event: 'tls_enabled',
      serial: c.serialNumber,
      subject: c.subject,
      subjectAltName: c.subjectAltName,
      validTo: c.validTo,
      clientCerts: mutual ? (requireClientCert ? 'required' : 'optional') : 'off',
      clientCas: files.current.caFingerprints.length,
      nodeIdentity: cfg.requireNodeIdentity ? { trustDomain: policy.trustDomain ?? '(any)', commonNameFallback: policy.allowCommonName !== false } : 'off',
    },
    'ADS port uses TLS',
  );
  return {
    credentials,
    ...(cfg.requireNodeIdentity ? { authorizeNode: nodeIdentityAuthorizer(policy) } : {}),
    files,
    async close() {
      files.close();
    },
  };
}

export { nodeIdentityAuthorizer, spiffeNodeId, peerIdentityOf, certificateNodeIdentity, SPIFFE_NODE_PATH } from './identity.js';
export type { PeerIdentity, PeerCertificateInfo, NodeIdentityPolicy } from './identity.js';
