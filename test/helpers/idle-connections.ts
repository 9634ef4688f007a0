import { readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

/**
 * Connections to a server that say nothing: what a flooding or slow client holds open. Each resolves once it is
 * open (TCP accepted, or TLS handshake done), and `closed` tells whether the server has since closed it.
 */
export interface IdleConnection {
  socket: Socket;
  closed: boolean;
}

export function openIdleTcp(url: string, localAddress = '127.0.0.1'): Promise<IdleConnection> {
  const u = new URL(url);
  return track(tcpConnect({ host: u.hostname, port: Number(u.port), localAddress }), 'connect');
}

export function openIdleTls(url: string, certPath: string, localAddress = '127.0.0.1'): Promise<IdleConnection> {
  const u = new URL(url);
  // localAddress is handed on to net.connect; the TLS options type does not list it.
  const options: ConnectionOptions & { localAddress: string } = {
    host: u.hostname,
    port: Number(u.port),
    ca: readFileSync(certPath),
    localAddress,
  };
  return track(tlsConnect(options), 'secureConnect');
}

function track(socket: Socket, ready: 'connect' | 'secureConnect'): Promise<IdleConnection> {
  return new Promise((resolve, reject) => {
    const conn: IdleConnection = { socket, closed: false };
    socket.on('error', () => {});
    socket.once('close', () => (conn.closed = true));
    // Read (and drop) whatever comes, or the end of the stream is never seen and `closed` never set.
    socket.resume();
    socket.once(ready, () => resolve(conn));
    socket.once('error', reject);
  });
}
