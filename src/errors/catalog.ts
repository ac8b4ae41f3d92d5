// The one catalog of Switchyard's error codes. Codes are stable: tools and runbooks match on them.
// Each layer owns a prefix: SNAP (snapshot), STORE (snapshot store), XDS (ADS server), RULE (rules: load/validate),
// COMP (compile), CLI, ADMIN, TLS (ADS transport security), ROLLOUT (waves, traffic shifts), READY (model readiness). Add new codes at the end of their section; never renumber.

export interface ErrorSpec {
  /** One line: what is wrong, in general terms. */
  readonly title: string;
  /** How to fix it. */
  readonly hint: string;
}

export const ERROR_CATALOG = {
  // ---- snapshot
  SNAP_DANGLING_CLUSTER: {
    title: 'a route names a cluster that is not in the snapshot',
    hint: 'add the cluster (a Shard) or change the route to name an existing one',
  },
  SNAP_ORPHAN_ENDPOINTS: {
    title: 'a ClusterLoadAssignment names no cluster in the snapshot',
    hint: 'remove the endpoints or add the cluster they belong to',
  },
  SNAP_DANGLING_ROUTE_CONFIG: {
    title: 'a listener names a route configuration that is not in the snapshot',
    hint: 'add the RouteConfiguration or change the listener to name an existing one',
  },
  SNAP_DUPLICATE_RESOURCE: {
    title: 'two resources of one type share a name',
    hint: 'resource names must be unique per type',
  },
  SNAP_BAD_RESOURCE: {
    title: 'a resource cannot be encoded as its type',
    hint: 'the builder produced a field the Envoy proto does not define; fix the builder or the compiler',
  },
  SNAP_MISSING_NAME: {
    title: 'a resource has no name',
    hint: 'every xDS resource needs a non-empty name (cluster_name for ClusterLoadAssignment)',
  },
  // ---- rules
  RULE_DIR_UNREADABLE: {
    title: 'the rules directory does not exist or cannot be read',
    hint: 'pass the directory that holds the rule files (YAML, JSON, JS/TS modules)',
  },
  RULE_EMPTY: {
    title: 'the rules directory holds no rules',
    hint: 'an empty rule set would delete every route and cluster; add rule files or point at the right directory',
  },
  RULE_FILE_UNREADABLE: {
    title: 'a rule file cannot be read',
    hint: 'check the file permissions, or the symlink target if the file is a link',
  },
  RULE_YAML_SYNTAX: {
    title: 'a YAML file is not valid YAML',
    hint: 'fix the syntax at the reported position (indentation, quotes, duplicate keys)',
  },
  RULE_JSON_SYNTAX: {
    title: 'a JSON file is not valid JSON',
    hint: 'fix the syntax at the reported position (trailing commas and comments are not JSON)',
  },
  RULE_NOT_AN_OBJECT: {
    title: 'a rule document is not an object',
    hint: 'each rule is a mapping with a kind field (a JSON file holds one object or an array of objects)',
  },
  RULE_MISSING_KIND: {
    title: 'a rule document has no kind',
    hint: 'add kind: Objective, Model, Shard, Experiment, TrafficShift, Migration, Shadow, Override, Client or RolloutPolicy',
  },
  RULE_UNKNOWN_KIND: {
    title: 'a rule document has a kind Switchyard does not know',
    hint: 'use one of: Objective, Model, Shard, Experiment, TrafficShift, Migration, Shadow, Override, Client, RolloutPolicy',
  },
  RULE_UNKNOWN_FIELD: {
    title: 'a rule has a field its kind does not define',
    hint: 'remove the field or fix its spelling (see docs/rules.md for the fields of each kind)',
  },
  RULE_MISSING_FIELD: {
    title: 'a rule lacks a required field',
    hint: 'add the field (see docs/rules.md for the fields of each kind)',
  },
  RULE_WRONG_TYPE: {
    title: 'a field has a value of the wrong type',
    hint: 'give the field a value of the documented type; quote YAML values that must stay strings',
  },
  RULE_BAD_VALUE: {
    title: 'a field has a value outside the allowed set',
    hint: 'use one of the documented values',
  },
  RULE_BAD_NAME: {
    title: 'a name or id contains characters routing keys cannot carry',
    hint: 'use letters, digits, ".", "_" and "-", starting with a letter or digit, at most 128 characters',
  },
  RULE_BAD_PERCENT: {
    title: 'a percent is outside 0..100',
    hint: 'percents are numbers from 0 to 100',
  },
  RULE_BAD_ADDRESS: {
    title: 'an endpoint address is not an IP literal',
    hint: 'proxyless gRPC clients need IP addresses, not host names: write the IPv4 or IPv6 address',
  },
  RULE_BAD_PORT: {
    title: 'an endpoint port is outside 1..65535',
    hint: 'use a TCP port from 1 to 65535',
  },
  RULE_BAD_TIMEOUT: {
    title: 'a timeout is out of range',
    hint: 'timeouts are whole milliseconds from 1 to 300000 (5 minutes)',
  },
  RULE_BAD_RETRIES: {
    title: 'a retry count is out of range',
    hint: 'retries are whole numbers from 0 to 10',
  },
  RULE_OUT_OF_RANGE: {
    title: 'a limit, weight or duration is out of range',
    hint: 'see docs/rules.md for the range of each field',
  },
  RULE_BAD_HEADER: {
    title: 'an override header name is not a valid lower-case header name',
    hint: 'use a lower-case HTTP header name such as x-test-model (gRPC metadata keys are lower case)',
  },
  RULE_NO_ENDPOINTS: {
    title: 'a shard has no endpoints',
    hint: 'give the shard at least one endpoint {address, port}',
  },
  RULE_DUPLICATE_ENDPOINT: {
    title: 'a shard lists the same address and port twice',
    hint: 'remove the duplicate endpoint, or change its port',
  },
  RULE_DUPLICATE_NAME: {
    title: 'two rules of one kind share a name',
    hint: 'names are unique per kind: rename or remove one of them',
  },
  RULE_UNKNOWN_OBJECTIVE: {
    title: 'a rule names an objective that is not defined',
    hint: 'define the Objective or fix the name',
  },
  RULE_UNKNOWN_MODEL: {
    title: 'a rule names a model that is not defined',
    hint: 'define the Model or fix the name',
  },
  RULE_UNKNOWN_SHARD: {
    title: 'a rule names a shard that is not defined',
    hint: 'define the Shard or fix the name',
  },
  RULE_UNKNOWN_CLIENT: {
    title: 'an override names a client that is not defined',
    hint: 'define the Client or fix the name',
  },
  RULE_MODEL_UNPLACED: {
    title: 'a model is placed on no shard',
    hint: 'give the model a shard: field naming the Shard that serves it',
  },
  RULE_NO_CELLS: {
    title: 'an experiment has no cells',
    hint: 'give the experiment at least one cell: cells: {control: {model: NAME, percent: 100}}',
  },
  RULE_PARTIAL_PERCENTS: {
    title: 'some cells of an experiment give a percent and others do not',
    hint: 'give every cell a percent, or none (then 100 is split evenly)',
  },
  RULE_PERCENT_SUM: {
    title: 'the cells of an experiment do not sum to 100 percent',
    hint: 'make the cell percents add up to exactly 100',
  },
  RULE_EXPERIMENT_OVERLAP: {
    title: 'two experiments target the same objective',
    hint: 'an objective runs one experiment at a time: end one experiment or merge their cells',
  },
  RULE_MODEL_TYPE_MISMATCH: {
    title: "an experiment's modelType or modelInputType differs from its objective's",
    hint: 'make the experiment and the objective agree, or drop the field from the experiment',
  },
  RULE_SHIFT_STEPS: {
    title: 'a traffic shift has no steps or its percents go down',
    hint: 'list at least one step; step percents must be non-decreasing (e.g. 5, 25, 50, 100)',
  },
  RULE_SHIFT_OVERLAP: {
    title: 'two traffic shifts target the same objective',
    hint: 'an objective has one traffic shift at a time: remove or merge the others',
  },
  RULE_MIGRATION_SAME_SHARD: {
    title: 'a migration moves a model to the shard it is already on',
    hint: 'point to: at a different shard, or remove the migration',
  },
  RULE_MIGRATION_FROM_MISMATCH: {
    title: "a migration's from is not the model's shard",
    hint: "from must be the shard named by the model's shard: field",
  },
  RULE_MIGRATION_OVERLAP: {
    title: 'two migrations move the same model',
    hint: 'a model migrates between two shards at a time: remove or merge the others',
  },
  RULE_OVERRIDE_NO_MATCH: {
    title: 'an override matches nothing',
    hint: 'give match: a client: or a header: {name, value}',
  },
  RULE_MODULE_BUILD: {
    title: 'a JS/TS rule module does not compile',
    hint: 'fix the syntax error at the reported position',
  },
  RULE_MODULE_IMPORT: {
    title: 'a JS/TS rule module imports something that cannot be found',
    hint: 'fix the import path, or install the package next to the rules',
  },
  RULE_MODULE_THREW: {
    title: 'a JS/TS rule module threw while loading or while a define*Rule function ran',
    hint: 'fix the module so that it evaluates and returns rule objects without throwing',
  },
  RULE_MODULE_TIMEOUT: {
    title: 'a JS/TS rule module did not finish within its time limit',
    hint: 'rule modules must return plain data quickly: remove loops, network and file I/O',
  },
  RULE_MODULE_CRASHED: {
    title: 'a JS/TS rule module ran out of memory or ended its thread',
    hint: 'rule modules must not exhaust memory or call process.exit',
  },
  RULE_MODULE_NOT_DATA: {
    title: 'a JS/TS rule module returned something that is not plain data',
    hint: 'return plain objects, arrays, strings, numbers and booleans (no functions, classes, Maps or Dates)',
  },
  RULE_MODULE_EMPTY: {
    title: 'a JS/TS rule module exports no rules',
    hint: 'export default an array of rules, or export functions named define...Rule(); prefix helper modules with "_"',
  },
  // ---- store
  STORE_TRUNCATED: {
    title: 'a stored snapshot file ends early (cut off while being written or copied)',
    hint: 'the file is skipped; delete it or restore it from a backup (atomic saves never leave one behind)',
  },
  STORE_GARBAGE: {
    title: 'a stored snapshot file is not a Switchyard snapshot file',
    hint: 'the file is skipped; remove it from the snapshot directory (only Switchyard writes there)',
  },
  STORE_INTEGRITY_MISMATCH: {
    title: "a stored snapshot file's integrity digest does not match its content",
    hint: 'the file was edited or damaged after it was written and is never served; delete it',
  },
  STORE_UNKNOWN_FORMAT: {
    title: 'a stored snapshot file has a format version this Switchyard does not read',
    hint: 'it was written by another Switchyard release (*.snap.json files are the JSON format 1 of earlier releases) and is never served; read it with that release or delete it (versions come from content: the same rules compile to the same version again)',
  },
  STORE_VERSION_MISMATCH: {
    title: "a stored snapshot's recorded version does not match the version recomputed from its resources",
    hint: 'the resources were altered after the file was written and it is never served; delete it',
  },
  STORE_BAD_RESOURCE: {
    title: 'a stored resource cannot be decoded or restored',
    hint: 'the file is skipped; delete it (saves verify that what they write can be restored)',
  },
  STORE_UNREADABLE: {
    title: 'a file in the snapshot directory cannot be read',
    hint: 'check the permissions of the snapshot directory and its files',
  },
  STORE_BAD_STATE: {
    title: 'the snapshot store state (state.json) or rejection log is damaged',
    hint: 'the damaged file is ignored and rewritten on the next change; re-pin the version if a pin was lost',
  },
  STORE_UNKNOWN_VERSION: {
    title: 'no valid stored snapshot has this version',
    hint: 'list the stored versions and give a full version or a unique prefix of at least 6 characters',
  },
  STORE_AMBIGUOUS_VERSION: {
    title: 'a version prefix matches several stored snapshots',
    hint: 'give more characters of the version',
  },
  STORE_WRITE_FAILED: {
    title: 'the snapshot store could not write to its directory',
    hint: 'check free space and permissions of the snapshot directory',
  },
  // ---- resolver
  RESOLVE_BAD_CONTEXT: {
    title: 'a resolve request context is not an object or has a field of the wrong type',
    hint: 'send {objective, userId, ...} with string fields, testTraffic a boolean, allocations and headers objects of strings (see docs/resolver.md)',
  },
  RESOLVE_UNKNOWN_FIELD: {
    title: 'a resolve request context has a field the resolver does not define',
    hint: 'remove the field or fix its spelling: objective, userId, country, device, surface, client, testTraffic, allocations, headers',
  },
  RESOLVE_MISSING_OBJECTIVE: {
    title: 'a resolve request names no objective',
    hint: 'set objective to the name of an Objective rule',
  },
  RESOLVE_UNKNOWN_OBJECTIVE: {
    title: 'a resolve request names an objective the resolver table does not define',
    hint: 'fix the objective name, or check that the rules defining it are published (the resolver never falls back silently)',
  },
  RESOLVE_MISSING_USER_ID: {
    title: 'a resolve request has no userId but its objective runs an experiment or a traffic shift',
    hint: 'send a non-empty userId (or an allocation from the experimentation platform); users are hashed into buckets by it',
  },
  RESOLVE_UNKNOWN_CELL: {
    title: 'an external allocation names a cell the experiment does not have',
    hint: 'align the experimentation platform with the Experiment rule: allocations map abTestId to one of its cell ids',
  },
  RESOLVE_NO_TABLE: {
    title: 'the resolver has no resolver table yet',
    hint: 'wait for the first published rules (or fix the rules so that they publish), then retry',
  },
  RESOLVE_BAD_TABLE: {
    title: 'a resolver table is malformed or inconsistent',
    hint: 'the table names a model without routing key or parameters, or has overlapping bucket ranges; rebuild it with the compiler',
  },
  // ---- validate
  VALIDATE_SCHEMA: {
    title: 'a resource breaks a validation rule of its Envoy proto (protoc-gen-validate) or a check Envoy makes in code',
    hint: 'Envoy would NACK it; fix the compiler or builder that produced the field (see docs/validation.md for the rule)',
  },
  VALIDATE_PROXYLESS: {
    title: 'a resource a proxyless gRPC listener uses has a feature @grpc/grpc-js-xds rejects or ignores',
    hint: 'proxyless clients would NACK or skip it; use only what grpc-js-xds supports (see docs/validation.md, proxyless limits)',
  },
  VALIDATE_UNKNOWN_TYPE: {
    title: 'a resource or an Any field has a message type Switchyard has not loaded, so it cannot be validated',
    hint: 'add the .proto that defines the type to src/proto/envoy-root.ts, or fix the type URL',
  },
  VALIDATE_UNDECODABLE: {
    title: 'the bytes of an Any field do not decode as the type its type URL names',
    hint: 'pack the value with packAny() and the same type name as its type URL',
  },
  // ---- admin
  ADMIN_NOT_FOUND: {
    title: 'the admin API has no such endpoint',
    hint: 'see docs/operations.md for the endpoints (GET /v1/snapshots, /v1/proxies, /v1/diff, /v1/rules/errors, /metrics, ...)',
  },
  ADMIN_METHOD_NOT_ALLOWED: {
    title: 'the admin endpoint does not accept this HTTP method',
    hint: 'reads are GET; rollback and resume are POST',
  },
  ADMIN_BAD_REQUEST: {
    title: 'an admin request has a missing or malformed parameter or body',
    hint: 'send JSON bodies such as {"version": "<version or prefix>"} and the documented query parameters',
  },
  ADMIN_UNAUTHORIZED: {
    title: 'a mutating admin call lacks a valid bearer token',
    hint: 'send Authorization: Bearer <token> with the token the server was started with (SWITCHYARD_ADMIN_TOKEN or --admin-token)',
  },
  ADMIN_INSECURE_BIND: {
    title: 'the admin API would listen on a non-loopback address without a token',
    hint: 'set SWITCHYARD_ADMIN_TOKEN (or --admin-token), or bind the admin API to 127.0.0.1',
  },
  ADMIN_BIND_FAILED: {
    title: 'the admin API cannot listen on its address',
    hint: 'another process holds the port: stop it or pick another with SWITCHYARD_ADMIN_PORT / --admin-port',
  },
  ADMIN_UNKNOWN_TYPE: {
    title: 'a resource type filter names no known xDS type',
    hint: 'use CDS, EDS, LDS, RDS, RESOLVER or a full type URL',
  },
  ADMIN_NO_SNAPSHOT: {
    title: 'no snapshot is being served yet',
    hint: 'fix the rules until they publish (GET /v1/rules/errors lists the problems), then retry',
  },
  ADMIN_NO_RESOLVER_TABLE: {
    title: 'the resolver table of the live snapshot is not known to this process',
    hint: 'the live version was restored or pinned before this process compiled it; resume or republish the rules to get it',
  },
  ADMIN_INTERNAL: {
    title: 'the admin API failed unexpectedly',
    hint: 'see the server log for the stack trace and report it',
  },
  // ---- cli
  CLI_UNREACHABLE: {
    title: 'the admin API of the Switchyard server cannot be reached',
    hint: 'start the server (switchyard serve) or point at it with --admin <host:port> or SWITCHYARD_ADMIN',
  },
  CLI_BAD_ADDRESS: {
    title: 'the admin address is not host:port',
    hint: 'give --admin 127.0.0.1:19000 (or SWITCHYARD_ADMIN=host:port)',
  },
  CLI_BAD_RESPONSE: {
    title: 'the admin API answered with something that is not the expected JSON',
    hint: 'check that --admin points at a Switchyard admin port, not the ADS port or another service',
  },
  CLI_RULES_INVALID: {
    title: 'the local rules do not compile',
    hint: 'fix the listed errors (switchyard check <dir> prints them with file:line:column) and plan again',
  },
  CLI_NOT_CONVERGED: {
    title: 'the proxies did not all reach the live version in time',
    hint: 'run switchyard status to see which proxy is STALE or NACKED; NACK messages say what the client refused',
  },
  // ---- tls
  TLS_INCOMPLETE: {
    title: 'the TLS settings of the ADS port are incomplete',
    hint: 'give both --tls-cert and --tls-key (SWITCHYARD_TLS_CERT, SWITCHYARD_TLS_KEY); a client CA or node identity checks need them too',
  },
  TLS_FILE_UNREADABLE: {
    title: 'a TLS certificate, key or CA file cannot be read',
    hint: 'check the path and the file permissions (the server reads the files at start and again whenever they change)',
  },
  TLS_BAD_CERT: {
    title: 'the server certificate file holds no valid PEM certificate',
    hint: 'give a PEM file starting with -----BEGIN CERTIFICATE----- (the leaf first, then intermediates)',
  },
  TLS_BAD_KEY: {
    title: 'the server key file holds no usable PEM private key',
    hint: 'give an unencrypted PEM private key (-----BEGIN PRIVATE KEY----- or -----BEGIN EC/RSA PRIVATE KEY-----)',
  },
  TLS_KEY_MISMATCH: {
    title: 'the server private key does not belong to the server certificate',
    hint: 'replace the certificate and the key together; during a rotation write the key before, or atomically with, the certificate',
  },
  TLS_BAD_CA: {
    title: 'the client CA file holds no valid PEM certificate',
    hint: 'give the PEM bundle of the CA(s) that sign client certificates (-----BEGIN CERTIFICATE----- blocks)',
  },
  TLS_IDENTITY_WITHOUT_CA: {
    title: 'node identity checks are on but client certificates are not verified',
    hint: 'give --tls-client-ca (SWITCHYARD_TLS_CLIENT_CA) so client certificates are verified, or drop --require-node-identity',
  },
  TLS_RELOAD_REJECTED: {
    title: 'changed TLS files are not a valid certificate, key and CA set; the previous ones keep serving',
    hint: 'fix the files (certificate and key must match); the server retries whenever they change again',
  },
  TLS_NODE_DENIED: {
    title: 'an ADS stream named a node its client certificate does not identify',
    hint: 'issue the client a certificate with URI SAN spiffe://<trust-domain>/switchyard/node/<node-id> (or CN=<node-id>), or fix its node id (--service-node)',
  },
  // ---- rollout (fleet waves, traffic shifts) and model readiness
  ROLLOUT_NOT_ACTIVE: {
    title: 'no rollout is in progress',
    hint: 'switchyard rollout status shows the last rollout; pause and resume work at any time, abort and force need a rollout in progress',
  },
  ROLLOUT_HALTED: {
    title: 'a proxy rejected (NACKed) the version being rolled out; the rollout stopped',
    hint: 'the proxies that took it are back on the last good version; read the NACK message, publish a fix (or abort); resume retries the same version, force sends it to everyone',
  },
  ROLLOUT_ACK_TIMEOUT: {
    title: 'proxies of an open rollout wave did not ACK the new version within the policy\'s ackTimeout; the rollout paused',
    hint: 'nothing was rolled back: see which proxies wait (switchyard rollout status, switchyard status), then resume to wait again, force to send the version to everyone, or abort to go back; raise ackTimeout in the RolloutPolicy for slow fleets',
  },
  ROLLOUT_UNKNOWN_SHIFT: {
    title: 'no TrafficShift of that name is in the rules',
    hint: 'switchyard rollout status lists the shifts; names are the TrafficShift rule names',
  },
  ROLLOUT_SHIFT_STATE: {
    title: 'the traffic shift cannot do that in its current state',
    hint: 'pause a running shift, resume a paused one; an aborted shift stays aborted until its definition changes (which restarts it at step 0)',
  },
  ROLLOUT_PROGRESS_CORRUPT: {
    title: 'the traffic shift progress file cannot be read',
    hint: 'it was moved aside (shifts.json.corrupt-*); every shift restarts paused at step 0: check the steps and resume each shift',
  },
  ROLLOUT_PROGRESS_WRITE_FAILED: {
    title: 'the traffic shift progress file cannot be written',
    hint: 'check free space and permissions of the snapshot directory; shifts keep running in memory but a restart would go back to the last saved step',
  },
  READY_NOT_SERVING: {
    title: 'a model endpoint answers the gRPC health check, but not SERVING',
    hint: 'the model is still loading (or was unloaded) on that endpoint; it becomes routable once a quorum of its endpoints reports SERVING',
  },
  READY_PROBE_FAILED: {
    title: 'the gRPC health check of a model endpoint failed',
    hint: 'the endpoint must serve grpc.health.v1.Health/Check with service = <model name>; check the address, the port and that the server runs',
  },
  READY_NO_QUORUM: {
    title: 'too few endpoints of a model are SERVING',
    hint: 'nothing routes to the model until the quorum (default: a majority of its endpoints) reports SERVING; see the per-endpoint statuses',
  },
  // ---- compile
  COMP_UNKNOWN_REFERENCE: {
    title: 'a rule names an objective, model, shard or client that is not defined',
    hint: 'define the missing rule or fix the name (validation normally reports this first, with file:line)',
  },
  COMP_CONFLICTING_RULES: {
    title: 'two rules claim the same target where only one may apply',
    hint: 'keep one TrafficShift per objective and one Migration per model; remove or merge the others',
  },
  COMP_INVALID_VALUE: {
    title: 'a percent or step list the compiler cannot turn into routes',
    hint: 'percents are 0..100, experiment cells sum to 100, a TrafficShift has at least one step',
  },
  COMP_ROUTING_KEY_COLLISION: {
    title: 'two (objective, model) pairs produce the same routing key',
    hint: 'routing keys are "<objective>/<model>"; rename the objective or model so that no name contains "/" ambiguously',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

/** An error with a stable code, an optional location and the catalog's hint. */
export class SwitchyardError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  constructor(code: ErrorCode, detail: string, hint?: string) {
    super(detail);
    this.name = 'SwitchyardError';
    this.code = code;
    this.hint = hint ?? ERROR_CATALOG[code].hint;
  }

  toJSON(): { code: string; message: string; hint: string } {
    return { code: this.code, message: this.message, hint: this.hint };
  }
}

/** Several errors found in one pass (every problem, not only the first). */
export class AggregateSwitchyardError extends Error {
  constructor(readonly errors: SwitchyardError[]) {
    super(errors.map((e) => `${e.code}: ${e.message}`).join('\n'));
    this.name = 'AggregateSwitchyardError';
  }
}
