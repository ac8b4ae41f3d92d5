// Test certificates, generated per run with the `openssl` CLI (Node 20 has no X.509 generation
// API): a CA, and leaf certificates it signs with the names a test needs (DNS, IP, SPIFFE URI).
// EC P-256 keys, valid for two days. Used by test/xds/tls.test.ts and the Envoy container suite.
import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Pem {
  /** PEM certificate. */
  readonly cert: string;
  /** PEM private key (PKCS#8, unencrypted). */
  readonly key: string;
  /** As Node reports it (upper-case hex). */
  readonly serialNumber: string;
  readonly fingerprint256: string;
}

export interface LeafOptions {
  /** Subject CN. */
  cn: string;
  /** subjectAltName entries in OpenSSL syntax: `DNS:localhost`, `IP:127.0.0.1`, `URI:spiffe://td/x`. */
  sans?: string[];
}

/** Why certificates cannot be generated here, or undefined when `openssl` works. */
export async function opensslUnavailable(): Promise<string | undefined> {
  try {
    await run('openssl', ['version']);
    return undefined;
  } catch (err) {
    return `the openssl CLI is not usable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); install it (Debian: apt-get install openssl)`;
  }
}

const REQ_CONFIG = `[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = unused
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
`;

const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function pemOf(cert: string, key: string): Pem {
  const x = new X509Certificate(cert);
  return { cert, key, serialNumber: x.serialNumber, fingerprint256: x.fingerprint256 };
}

let seq = 0;

export class TestCa {
  private constructor(
    readonly name: string,
    private readonly dir: string,
    readonly pem: Pem,
    private readonly certFile: string,
    private readonly keyFile: string,
  ) {}

  /** The CA certificate (what clients or servers trust). */
  get cert(): string {
    return this.pem.cert;
  }

  /** A self-signed CA; its files live in a fresh temp directory. */
  static async create(name: string): Promise<TestCa> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-ca-'));
    const config = path.join(dir, 'req.cnf');
    await writeFile(config, REQ_CONFIG);
    const certFile = path.join(dir, 'ca.crt');
    const keyFile = path.join(dir, 'ca.key');
    await run('openssl', ['req', '-x509', '-new', ...KEY_ARGS, '-config', config, '-subj', `/CN=${name}`, '-days', '2', '-keyout', keyFile, '-out', certFile]);
    return new TestCa(name, dir, pemOf(await readFile(certFile, 'utf8'), await readFile(keyFile, 'utf8')), certFile, keyFile);
  }

  /** A leaf certificate for both server and client authentication, with a random serial. */
  async issue(opts: LeafOptions): Promise<Pem> {
    const base = path.join(this.dir, `leaf-${++seq}`);
    const ext = [
      '[v3_leaf]',
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature',
      'extendedKeyUsage = serverAuth,clientAuth',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      ...(opts.sans && opts.sans.length > 0 ? [`subjectAltName = ${opts.sans.join(',')}`] : []),
      '',
    ].join('\n');
    await writeFile(`${base}.ext`, ext);
    await run('openssl', ['req', '-new', ...KEY_ARGS, '-config', path.join(this.dir, 'req.cnf'), '-subj', `/CN=${opts.cn}`, '-keyout', `${base}.key`, '-out', `${base}.csr`]);
    const serial = randomBytes(9);
    serial[0] = (serial[0]! & 0x7f) | 0x10; // positive, and no leading zero byte
    await run('openssl', [
      'x509', '-req', '-in', `${base}.csr`, '-CA', this.certFile, '-CAkey', this.keyFile,
      '-set_serial', `0x${serial.toString('hex')}`, '-days', '2', '-extfile', `${base}.ext`, '-extensions', 'v3_leaf', '-out', `${base}.crt`,
    ]);
    return pemOf(await readFile(`${base}.crt`, 'utf8'), await readFile(`${base}.key`, 'utf8'));
  }
}
