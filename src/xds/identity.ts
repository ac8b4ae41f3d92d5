// Who is on the other end of an ADS stream, as its verified client certificate says, and the rule
// that ties that identity to the node id the stream announces (docs/tls.md, "Node identity").
//
// The rule: a client certificate names the node it may speak for with a SPIFFE URI SAN
// `spiffe://<trust-domain>/switchyard/node/<node-id>` (primary). A certificate with no such URI
// falls back to its subject CN (unless the policy turns the fallback off). A stream whose first
// request names any other node id is refused with PERMISSION_DENIED.
import type { PeerCertificate } from 'node:tls';
import type { NodeInfo } from './provider.js';

/** The path prefix of a node's SPIFFE ID: `spiffe://<trust-domain>/switchyard/node/<node-id>`. */
export const SPIFFE_NODE_PATH = '/switchyard/node/';

/** Facts about a verified client certificate (only certificates the client CA signed get here). */
export interface PeerCertificateInfo {
  /** Subject CN (the first one when the subject repeats it). */
  readonly commonName: string | undefined;
  /** URI subject alternative names, in certificate order. */
  readonly uris: readonly string[];
  readonly dnsNames: readonly string[];
  /** Hex, as Node reports it. */
  readonly serialNumber: string;
  /** SHA-256 fingerprint, "AA:BB:..". */
  readonly fingerprint256: string;
  readonly validTo: string;
}

/** What the transport proved about the peer of one stream. */
export interface PeerIdentity {
  /** The `host:port` of the peer. */
  readonly address: string;
  /**
   * The client certificate, only when the connection is TLS and the certificate was verified
   * against the client CA. Undefined on plaintext connections, and on TLS connections whose client
   * sent no certificate (or one the CA did not sign, when client certificates are optional).
   */
  readonly certificate: PeerCertificateInfo | undefined;
}

/** What grpc-js 1.14 server calls expose (ServerDuplexStream.getAuthContext). */
export interface AuthContextSource {
  getAuthContext(): { transportSecurityType?: string; sslPeerCertificate?: PeerCertificate };
  getPeer(): string;
}

/**
 * Parses Node's `subjectaltname` string ("DNS:a, URI:spiffe://x/y, IP Address:1.2.3.4"). Node
 * quotes values holding a comma or a quote as JSON strings (`URI:"spiffe://x/a,b"`), so a plain
 * split on ", " is not enough.
 */
export function parseSubjectAltNames(san: string | undefined): Array<{ type: string; value: string }> {
  const out: Array<{ type: string; value: string }> = [];
  if (!san) return out;
  let i = 0;
  while (i < san.length) {
    const colon = san.indexOf(':', i);
    if (colon === -1) break;
    const type = san.slice(i, colon).trim();
    let j = colon + 1;
    let value: string;
    if (san[j] === '"') {
      // A JSON string: find its closing quote, skipping escaped characters.
      let k = j + 1;
      while (k < san.length && san[k] !== '"') k += san[k] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(san.slice(j, k + 1)) as string;
      } catch {
        value = san.slice(j + 1, k);
      }
      j = k + 1;
    } else {
      const comma = san.indexOf(', ', j);
      const end = comma === -1 ? san.length : comma;
      value = san.slice(j, end);
      j = end;
    }
    out.push({ type, value });
    // Skip the ", " separator.
    i = san.startsWith(', ', j) ? j + 2 : j + 1;
  }
  return out;
}

function firstString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export function certificateInfo(cert: PeerCertificate): PeerCertificateInfo {
  const sans = parseSubjectAltNames(cert.subjectaltname);
  return {
    commonName: firstString(cert.subject?.CN as string | string[] | undefined),
    uris: sans.filter((s) => s.type === 'URI').map((s) => s.value),
    dnsNames: sans.filter((s) => s.type === 'DNS').map((s) => s.value),
    serialNumber: cert.serialNumber,
    fingerprint256: cert.fingerprint256,
    validTo: cert.valid_to,
  };
}

/** The peer identity of a server call (grpc-js gives the certificate only when it was verified). */
export function peerIdentityOf(call: AuthContextSource): PeerIdentity {
  const auth = call.getAuthContext();
  const cert = auth.sslPeerCertificate;
  return { address: call.getPeer(), certificate: cert ? certificateInfo(cert) : undefined };
}

/** `spiffe://<trustDomain>/switchyard/node/<nodeId>`: the URI SAN to put in a node's certificate. */
export function spiffeNodeId(trustDomain: string, nodeId: string): string {
  return `spiffe://${trustDomain}${SPIFFE_NODE_PATH}${nodeId}`;
}

export interface NodeIdentityPolicy {
  /** When set, node SPIFFE IDs must be in this trust domain; otherwise any trust domain the client CA signs. */
  readonly trustDomain?: string;
  /** A certificate without a node SPIFFE ID identifies by its subject CN. Default true. */
  readonly allowCommonName?: boolean;
}

export interface CertificateNodeIdentity {
  /** Node ids the certificate may speak for (empty: none). */
  readonly nodeIds: readonly string[];
  /** How they were found, for messages: the SPIFFE IDs, or `CN=<cn>`. */
  readonly source: string;
}

/**
 * The node ids a certificate may speak for. Node SPIFFE IDs win: when the certificate carries at
 * least one URI SAN under `/switchyard/node/`, only those count (the CN is ignored). A SPIFFE ID of
 * another trust domain than the policy's is not a node identity.
 */
export function certificateNodeIdentity(cert: PeerCertificateInfo, policy: NodeIdentityPolicy = {}): CertificateNodeIdentity {
  const spiffe: string[] = [];
  const ids: string[] = [];
  for (const uri of cert.uris) {
    const m = /^spiffe:\/\/([^/]+)(\/.*)$/.exec(uri);
    if (!m || !m[2]!.startsWith(SPIFFE_NODE_PATH)) continue;
    spiffe.push(uri);
    if (policy.trustDomain !== undefined && m[1]!.toLowerCase() !== policy.trustDomain.toLowerCase()) continue;
    const id = m[2]!.slice(SPIFFE_NODE_PATH.length);
    if (id !== '' && !id.includes('/')) ids.push(id);
  }
  if (spiffe.length > 0) return { nodeIds: ids, source: spiffe.join(', ') };
  if (policy.allowCommonName !== false && cert.commonName) return { nodeIds: [cert.commonName], source: `CN=${cert.commonName}` };
  return { nodeIds: [], source: 'no node identity' };
}

/**
 * An `AdsServerOptions.authorizeNode` hook enforcing the node identity rule: returns undefined to
 * accept the stream, or the reason it is refused.
 */
export function nodeIdentityAuthorizer(policy: NodeIdentityPolicy = {}): (node: NodeInfo, peer: PeerIdentity) => string | undefined {
  return (node, peer) => {
    const cert = peer.certificate;
    if (!cert) return `node "${node.id}" presented no verified client certificate; node identity checks need one (mutual TLS)`;
    const identity = certificateNodeIdentity(cert, policy);
    if (identity.nodeIds.length === 0) {
      const expected = policy.trustDomain ? spiffeNodeId(policy.trustDomain, '<node-id>') : `spiffe://<trust-domain>${SPIFFE_NODE_PATH}<node-id>`;
      return `client certificate (serial ${cert.serialNumber}, ${identity.source}) names no node; expected a URI SAN ${expected}${policy.allowCommonName === false ? '' : ' or a CN equal to the node id'}`;
    }
    if (!identity.nodeIds.includes(node.id)) {
      return `node id "${node.id}" does not match the client certificate identity (${identity.source}, serial ${cert.serialNumber})`;
    }
    return undefined;
  };
}
