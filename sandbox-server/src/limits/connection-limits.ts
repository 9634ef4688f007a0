import type { IncomingMessage } from 'node:http';
import type { Server, Socket } from 'node:net';
import type { Logger } from '../log.ts';
import { clientKey } from './client-key.ts';

/**
 * Counts the lab's open connections, in total and per client (clientKey), from the moment TCP accepts them.
 *
 * Two tiers, so that a client that merely opens too many connections learns why, and a flood costs little: past a
 * soft limit a connection is still accepted, and its first request is refused with a code (`refuses`); past twice the
 * limit it is closed at once, before any TLS work, so one address can never fill the lab's table of connections.
 */
export class ConnectionLimits {
  private readonly max: number;
  private readonly maxPerClient: number;
  private readonly log: Logger;
  private readonly perClient = new Map<string, number>();
  /** Connections past a soft limit, by `address port`: whatever they ask is refused. */
  private readonly over = new Set<string>();
  private total = 0;
  private dropped = 0;

  constructor(opts: { maxConnections: number; maxConnectionsPerClient: number; log: Logger }) {
    this.max = opts.maxConnections;
    this.maxPerClient = opts.maxConnectionsPerClient;
    this.log = opts.log;
  }

  /** Counts every connection `server` accepts; beyond twice the total limit Node itself closes them at accept. */
  attach(server: Server): void {
    server.maxConnections = this.max * 2;
    server.on('connection', (socket: Socket) => this.admit(socket));
  }

  /** Whether this request came on a connection past a soft limit (answer 503 `TOO_MANY_CONNECTIONS` and close). */
  refuses(req: IncomingMessage): boolean {
    return this.over.has(socketKey(req.socket));
  }

  /** Connections open now (those closed before TLS never count). */
  get open(): number {
    return this.total;
  }

  private admit(socket: Socket): void {
    const client = clientKey(socket.remoteAddress);
    const n = (this.perClient.get(client) ?? 0) + 1;
    if (n > this.maxPerClient * 2) {
      // Logged once per burst, not once per connection: a flood must not also flood the log.
      if (this.dropped++ % 1000 === 0)
        this.log.warn('connections closed before TLS: one client holds too many', { client, limit: this.maxPerClient });
      socket.destroy();
      return;
    }
    this.perClient.set(client, n);
    this.total++;
    const key = socketKey(socket);
    if (n > this.maxPerClient || this.total > this.max) this.over.add(key);
    socket.once('close', () => {
      this.total--;
      this.over.delete(key);
      const left = (this.perClient.get(client) ?? 1) - 1;
      if (left > 0) this.perClient.set(client, left);
      else this.perClient.delete(client);
    });
  }
}

function socketKey(socket: Socket): string {
  return `${socket.remoteAddress ?? ''} ${socket.remotePort ?? ''}`;
}
