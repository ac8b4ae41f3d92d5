// Is a container runtime (Docker, Podman, a remote DOCKER_HOST, Testcontainers Cloud) reachable?
// Asked through testcontainers' own strategy list, so the answer matches what the suite would use.
import { getContainerRuntimeClient } from 'testcontainers';

export type RuntimeCheck = { readonly available: true; readonly description: string } | { readonly available: false; readonly reason: string };

export async function containerRuntime(timeoutMs = 20_000): Promise<RuntimeCheck> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<RuntimeCheck>((resolve) => {
    timer = setTimeout(() => resolve({ available: false, reason: `no answer from the container runtime within ${timeoutMs} ms` }), timeoutMs);
    timer.unref();
  });
  const probe = getContainerRuntimeClient().then(
    (client): RuntimeCheck => ({ available: true, description: `${client.info.containerRuntime.host} (${client.info.containerRuntime.operatingSystem})` }),
    (err: unknown): RuntimeCheck => ({ available: false, reason: err instanceof Error ? err.message : String(err) }),
  );
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
