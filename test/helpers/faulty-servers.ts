import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { makeCa, makeLeaf, type Pem } from './pki.ts';
import { closeServer, listenLoopback as listen } from './loopback-server.ts';

/**
 * Servers that fail the way real sandbox servers and the networks in front of them fail, on 127.0.0.1, each counting
 * what reached it so a test can say "nothing was uploaded here". Certificate faults need no server of their own: a
 * normal lab server given one of `certificateFaults()` presents it.
 */

export interface FaultyServer {
  url: string;
  port: number;
  /** TCP connections accepted. */
  connections(): number;
  /** One line per HTTP request that got as far as its headers: `GET /api/v1/files/{sha}`. */
  requests: string[];
  close(): Promise<void>;
}

/** Accepts TCP and never says a word: the TLS handshake never completes (a hung process, a dead proxy). */
export async function startBlackHole(): Promise<FaultyServer> {
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  const port = await listen(server);
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    connections: () => accepted,
    requests: [],
    close: async () => {
      for (const s of sockets) s.destroy();
      await closeServer(server);
    },
  };
}

/** A plain HTTP server where HTTPS is expected (a policy pointing at the wrong port). */
export async function startPlaintextServer(): Promise<FaultyServer> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  let accepted = 0;
  server.on('connection', () => accepted++);
  const port = await listen(server);
  return { url: `https://127.0.0.1:${port}`, port, connections: () => accepted, requests, close: () => closeServer(server) };
}

/**
 * How an HTTPS server misbehaves, on every request (health probes included, so a probe never brings it back):
 * - `http-500`: answers 500 with a protocol error body;
 * - `garbage-json`: answers 200 with a body that is not JSON;
 * - `reset-mid-upload`: answers look-ups with 404 (unknown object), then cuts the connection after the first chunk
 *   of an upload; any other request is cut at once;
 * - `stall-after-headers`: sends 200 and its headers, then never a byte of the body.
 */
export type HttpsFault = 'http-500' | 'garbage-json' | 'reset-mid-upload' | 'stall-after-headers';

export async function startFaultyHttpsServer(opts: { tls: Pem; fault: HttpsFault }): Promise<FaultyServer & { partialUploads(): number }> {
  const requests: string[] = [];
  let partial = 0;
  const server = https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    requests.push(`${req.method} ${path.replace(/[0-9a-f]{64}/, '{sha}')}`);
    req.on('error', () => {});
    switch (opts.fault) {
      case 'http-500':
        req.resume();
        res
          .writeHead(500, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { code: 'INTERNAL', message: 'scripted failure' } }));
        return;
      case 'garbage-json':
        req.resume();
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"state": "done", "verdict": {"level": ');
        return;
      case 'reset-mid-upload':
        if (req.method === 'GET' && path.startsWith('/api/v1/files/')) {
          res
            .writeHead(404, { 'content-type': 'application/json' })
            .end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'unknown' } }));
          return;
        }
        if (req.method === 'POST') {
          req.once('data', () => {
            partial++;
            req.socket.destroy();
          });
          return;
        }
        req.socket.destroy();
        return;
      case 'stall-after-headers':
        req.resume();
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '4096' });
        res.flushHeaders();
        return;
    }
  });
  let accepted = 0;
  server.on('connection', () => accepted++);
  const port = await listen(server);
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    connections: () => accepted,
    requests,
    partialUploads: () => partial,
    close: () => closeServer(server),
  };
}

/**
 * An HTTPS server that offers TLS 1.0–1.1 only, with the security level lowered so this OpenSSL still agrees to
 * speak them. `legacyProtocol` reports what a client that allows TLS 1.1 negotiates with it, so a test can prove the
 * server really offers an old protocol rather than failing for some other reason.
 */
export async function startTls11OnlyServer(pem: Pem): Promise<FaultyServer & { legacyProtocol(ca: string): Promise<string> }> {
  const requests: string[] = [];
  const server = https.createServer(
    { cert: pem.cert, key: pem.key, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' },
    (req, res) => {
      requests.push(`${req.method} ${req.url}`);
      res.end('{}');
    },
  );
  server.on('tlsClientError', () => {});
  let accepted = 0;
  server.on('connection', () => accepted++);
  const port = await listen(server);
  const legacyProtocol = (ca: string) =>
    new Promise<string>((resolve, reject) => {
      const c = tls.connect(
        { host: '127.0.0.1', port, ca, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' },
        () => {
          resolve(c.getProtocol() ?? 'none');
          c.end();
        },
      );
      c.on('error', reject);
    });
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    connections: () => accepted,
    requests,
    legacyProtocol,
    close: () => closeServer(server),
  };
}

/**
 * A TCP proxy in front of a working server that the test takes down and brings back (`goDown`, `comeBack`). Down, it
 * resets every connection it holds and every new one, so requests fail at every stage: on connect, mid-upload,
 * mid-answer.
 */
export async function startFlappingProxy(
  targetPort: number,
): Promise<FaultyServer & { goDown(): void; comeBack(): void; isUp(): boolean }> {
  let up = true;
  let accepted = 0;
  const pairs = new Set<[net.Socket, net.Socket]>();
  const cut = (pair: [net.Socket, net.Socket]) => {
    pairs.delete(pair);
    if (!pair[0].destroyed) pair[0].resetAndDestroy();
    pair[1].destroy();
  };
  const server = net.createServer((client) => {
    accepted++;
    client.on('error', () => {});
    if (!up) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    upstream.on('error', () => {});
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    client.pipe(upstream).pipe(client);
    client.on('close', () => cut(pair));
    upstream.on('close', () => cut(pair));
  });
  const port = await listen(server);
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    connections: () => accepted,
    requests: [],
    goDown: () => {
      up = false;
      for (const p of [...pairs]) cut(p);
    },
    comeBack: () => {
      up = true;
    },
    isUp: () => up,
    close: async () => {
      for (const p of [...pairs]) cut(p);
      await closeServer(server);
    },
  };
}

/**
 * An HTTPS front for a scripted lab server (test/helpers/lab-protocol-server.ts, which has no `GET /api/v1/health`):
 * answers the health probe itself and forwards every other request, body and answer streamed, so the lab behind it
 * still counts uploads. `port` fixes where it listens (a server "coming back" on its old address).
 */
export async function startHealthFront(backendPort: number, opts: { tls: Pem; port?: number }): Promise<FaultyServer> {
  const requests: string[] = [];
  const server = https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, (req, res) => {
    requests.push(`${req.method} ${(req.url ?? '/').split('?')[0]}`);
    req.on('error', () => {});
    if (req.method === 'GET' && req.url === '/api/v1/health') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ok: true, protocol: 1, server: 'test-lab', version: '0', engines: [] }));
      return;
    }
    const up = https.request(
      { host: '127.0.0.1', port: backendPort, method: req.method, path: req.url, headers: req.headers, rejectUnauthorized: false },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.on('close', () => {
      if (!req.complete) up.destroy();
    });
    req.pipe(up);
  });
  let accepted = 0;
  server.on('connection', () => accepted++);
  const port = await listen(server, opts.port);
  return { url: `https://127.0.0.1:${port}`, port, connections: () => accepted, requests, close: () => closeServer(server) };
}

/** Server certificates that must each be refused with their own code, all issued for 127.0.0.1 unless said. */
export function certificateFaults(ca: ReturnType<typeof makeCa>) {
  const day = 86_400_000;
  return {
    /** Signed by a CA the policy does not pin. */
    wrongCa: makeLeaf(makeCa('Impostor CA')),
    expired: makeLeaf(ca, { notBefore: new Date(Date.now() - 3 * day), notAfter: new Date(Date.now() - day) }),
    notYetValid: makeLeaf(ca, { notBefore: new Date(Date.now() + day), notAfter: new Date(Date.now() + 3 * day) }),
    /** Names only `localhost`: wrong for a URL with 127.0.0.1. */
    onlyLocalhost: makeLeaf(ca, { hosts: ['localhost'] }),
    /** Names only 127.0.0.1 in its subjectAltName (its common name says `localhost`): wrong for a URL with `localhost`. */
    onlyIp: makeLeaf(ca, { hosts: ['127.0.0.1'], commonName: 'localhost' }),
  };
}
