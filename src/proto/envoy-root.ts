// Loads the Envoy, xds, googleapis and protoc-gen-validate protos shipped inside the pinned
// @grpc/grpc-js-xds package (deps/), since @envoyproxy/xds-protos is not on the npm registry.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);

/** Proto files Switchyard builds or reads; their imports are resolved transitively. */
const ENTRY_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/discovery/v3/discovery.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto',
  'envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
];

function depsDir(): string {
  const pkgJson = require.resolve('@grpc/grpc-js-xds/package.json');
  return path.join(path.dirname(pkgJson), 'deps');
}

/** Include roots inside deps/, in lookup order. */
export function protoIncludeDirs(): string[] {
  const deps = depsDir();
  return ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(deps, d));
}

/** Switchyard's own protos (switchyard.v1), shipped in the package's proto/ folder. */
export function ownProtoDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // src/proto -> ../../proto ; dist/proto -> ../../proto
  return path.resolve(here, '..', '..', 'proto');
}

let cached: protobuf.Root | undefined;

type CommonJson = { nested: { google: { nested: { protobuf: { nested: Record<string, protobuf.AnyNestedObject> } } } } };

// protobufjs bundles only some google/protobuf files; register the others Envoy imports.
function registerCommonProtos(): void {
  for (const name of ['api', 'descriptor', 'source_context', 'type']) {
    const file = `google/protobuf/${name}.proto`;
    if (!protobuf.common.get(file)) {
      const json = require(`protobufjs/google/protobuf/${name}.json`) as CommonJson;
      protobuf.common(name, json.nested.google.nested.protobuf.nested);
    }
  }
}

/** The shared protobufjs Root with every Envoy type Switchyard uses (loaded once, synchronously). */
export function envoyRoot(): protobuf.Root {
  if (cached) return cached;
  registerCommonProtos();
  const includes = [...protoIncludeDirs(), ownProtoDir()];
  const root = new protobuf.Root();
  root.resolvePath = (origin: string, target: string): string | null => {
    if (path.isAbsolute(target) && existsSync(target)) return target;
    // google/protobuf/*.proto are registered by protobuf.common(); let protobufjs use those.
    if (target.startsWith('google/protobuf/') && protobuf.common.get(target)) return target;
    for (const dir of includes) {
      const candidate = path.join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    // Fall back to the bare name so protobufjs can match its bundled common files.
    return target;
  };
  const own = existsSync(ownProtoDir()) ? ['switchyard/v1/resolver.proto'].filter((f) => existsSync(path.join(ownProtoDir(), f))) : [];
  root.loadSync([...ENTRY_FILES, ...own], { keepCase: true });
  root.resolveAll();
  cached = root;
  return root;
}

export function lookupType(fullName: string): protobuf.Type {
  return envoyRoot().lookupType(fullName);
}
