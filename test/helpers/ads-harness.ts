// Starts a real ADS server on 127.0.0.1:0 for a test and awaits its events.
import { AdsServer, type AdsServerEventMap } from '../../src/xds/server.js';
import { SingleSnapshotProvider } from '../../src/xds/provider.js';
import type { Snapshot } from '../../src/snapshot/snapshot.js';

export interface Harness {
  server: AdsServer;
  provider: SingleSnapshotProvider;
  address: string;
  stop(): Promise<void>;
}

export async function startAds(initial?: Snapshot): Promise<Harness> {
  const provider = new SingleSnapshotProvider(initial);
  const server = new AdsServer({ provider, port: 0 });
  const port = await server.start();
  return { server, provider, address: `127.0.0.1:${port}`, stop: () => server.stop(200) };
}

/** Resolves with the first event of `name` matching `pred`. */
export function nextEvent<K extends keyof AdsServerEventMap>(
  server: AdsServer,
  name: K,
  pred: (...args: AdsServerEventMap[K]) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<AdsServerEventMap[K][0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      server.off(name, handler as never);
      reject(new Error(`no ${String(name)} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const handler = (...args: AdsServerEventMap[K]): void => {
      if (!pred(...args)) return;
      clearTimeout(timer);
      server.off(name, handler as never);
      resolve(args[0]);
    };
    server.on(name, handler as never);
  });
}
