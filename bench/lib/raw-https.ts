import { connect, type SecureContext, type TLSSocket } from 'node:tls';

/** One simulated agent's TLS session, shared by its connections. */
export interface TlsSessionCache {
  session?: Buffer;
}

export interface RawAnswer {
  status: number;
  body: string;
}

/**
 * A minimal HTTP/1.1 client over one TLS socket, for simulating thousands of agents in one process: no https.Agent,
 * no IncomingMessage, one request at a time, answers with Content-Length or chunked (what the console sends). `keepAlive`
 * lets the long-poll reuse its connection; a request after the server closed it reconnects.
 */
export class RawHttpsConnection {
  private socket: TLSSocket | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private pending: { resolve: (a: RawAnswer) => void; reject: (e: Error) => void } | undefined;
  /** TLS handshakes this connection started (1 while the server keeps it open). */
  handshakes = 0;
  /** Whether a handshake has completed at least once. */
  secured = false;
  /** Handshakes that resumed a cached session instead of a full one. */
  resumed = 0;

  private readonly host: string;
  private readonly port: number;
  private readonly secureContext: SecureContext;
  private readonly sessions: TlsSessionCache | undefined;

  /**
   * `sessions`: where this simulated agent keeps its TLS session, so a new connection resumes it as the real agent's
   * https.Agent does (it caches sessions per destination and certificate); without it every connection is a full
   * handshake.
   */
  constructor(host: string, port: number, secureContext: SecureContext, sessions?: TlsSessionCache) {
    this.host = host;
    this.port = port;
    this.secureContext = secureContext;
    this.sessions = sessions;
  }

  request(method: string, path: string, body?: string, keepAlive = true): Promise<RawAnswer> {
    if (this.pending) return Promise.reject(new Error('one request at a time'));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      const payload = body === undefined ? '' : body;
      const head =
        `${method} ${path} HTTP/1.1\r\nHost: ${this.host}\r\nConnection: ${keepAlive ? 'keep-alive' : 'close'}\r\n` +
        (body === undefined ? '' : `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n`) +
        '\r\n';
      this.ensure().write(head + payload);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private ensure(): TLSSocket {
    if (this.socket && !this.socket.destroyed) return this.socket;
    this.handshakes++;
    this.buf = Buffer.alloc(0);
    const s = connect({
      host: this.host,
      port: this.port,
      secureContext: this.secureContext,
      ...(this.sessions?.session ? { session: this.sessions.session } : {}),
    });
    s.once('secureConnect', () => {
      this.secured = true;
      if (s.isSessionReused()) this.resumed++;
    });
    if (this.sessions) s.on('session', (session: Buffer) => (this.sessions!.session = session));
    // Longer than any long-poll (55 s at most): a console too busy to answer must not hang a simulated agent forever.
    s.setTimeout(120_000, () => s.destroy(new Error('no answer in 120 s')));
    s.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.parse();
    });
    const fail = (err: Error) => {
      if (this.socket === s) this.socket = undefined;
      const p = this.pending;
      this.pending = undefined;
      p?.reject(err);
    };
    s.on('error', fail);
    s.on('close', () => fail(new Error('connection closed before the answer')));
    this.socket = s;
    return s;
  }

  private parse(): void {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0 || !this.pending) return;
    const head = this.buf.subarray(0, end).toString('latin1');
    const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0);
    let body: Buffer;
    let rest: number;
    if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      // The console writes its head before the body (writeHead), so Node answers chunked.
      const parts: Buffer[] = [];
      let at = end + 4;
      for (;;) {
        const eol = this.buf.indexOf('\r\n', at);
        if (eol < 0) return;
        const size = parseInt(this.buf.subarray(at, eol).toString('latin1'), 16);
        if (this.buf.length < eol + 2 + size + 2) return;
        if (size === 0) {
          rest = eol + 4;
          break;
        }
        parts.push(this.buf.subarray(eol + 2, eol + 2 + size));
        at = eol + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else {
      const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (this.buf.length < end + 4 + len) return;
      body = this.buf.subarray(end + 4, end + 4 + len);
      rest = end + 4 + len;
    }
    this.buf = this.buf.subarray(rest);
    const p = this.pending;
    this.pending = undefined;
    if (/\r\nconnection: *close/i.test(head)) this.close();
    p.resolve({ status, body: body.toString('utf8') });
  }
}
