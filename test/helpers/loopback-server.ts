import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type net from 'node:net';

/** Listens on 127.0.0.1, or the loopback address given (`::1`), on `port` (0: any free one); resolves with the port. */
export function listenLoopback(server: net.Server, port = 0, host: '127.0.0.1' | '::1' = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Closes a test server at once, open keep-alive connections included. */
export function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    (server as http.Server).closeAllConnections?.();
    server.close(() => resolve());
  });
}
