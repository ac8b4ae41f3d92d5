// Small helpers every gRPC server in the project needs: bind and get the port, and a shutdown
// that is graceful but never hangs on a stuck connection.
import * as grpc from '@grpc/grpc-js';

/** Binds `address` ("127.0.0.1:0" picks a free port); resolves with the bound port. */
export function bindServer(server: grpc.Server, address: string, credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure()): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port)));
  });
}

/** Graceful shutdown (in-flight calls finish), forced after `graceMs`. */
export function shutdownServer(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
