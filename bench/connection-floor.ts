/**
 * What one connected agent costs a Node server before any console code runs (issue 17's aim: console memory ≤ 60 KB
 * per connected agent). Four bare servers on the pinned Node, each in its own child process, N connections from
 * another process, resident memory before and after (after a full GC), per connection:
 *   (1) an idle TLS connection (`tls.createServer`), the floor of any TLS transport;
 *   (2) the same with mutual TLS: the floor of a push channel (a held connection the console writes a nudge to, as a
 *       WebSocket would be, without the WebSocket's own state), with the agents' client certificates;
 *   (3) an HTTPS server holding one request per connection (a long poll, the console's shape);
 *   (4) the same with mutual TLS (client certificates from a CA, verified), as agents connect to the console.
 * Certificates are made at run time (node-forge). The console's own figure is in bench/console-load.ts.
 *
 *   npx node bench/connection-floor.ts [--connections 2000]
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import { makeCa, makeLeaf } from '../test/helpers/pki.ts';
import { table, writeResult } from './lib/report.ts';

const i = process.argv.indexOf('--connections');
const N = i > 0 ? Number(process.argv[i + 1]) : 2000;
const role = process.env.FLOOR_ROLE;
const rssMiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;

type Kind = 'tls' | 'tls-mtls' | 'https' | 'https-mtls';
const mutual = (k: Kind): boolean => k === 'tls-mtls' || k === 'https-mtls';
const http = (k: Kind): boolean => k === 'https' || k === 'https-mtls';
interface Pems {
  ca: string;
  server: { cert: string; key: string };
  client: { cert: string; key: string };
}

if (role === 'client') {
  // Opens N connections to PORT; for HTTP it sends one request each and never reads the answer (a held long poll).
  const kind = process.env.FLOOR_KIND as Kind;
  const pems = JSON.parse(process.env.FLOOR_PEMS!) as Pems;
  for (let n = 0; n < N; n++) {
    await new Promise<void>((resolve, reject) => {
      const s = tls.connect(
        {
          port: Number(process.env.PORT),
          host: '127.0.0.1',
          ca: pems.ca,
          servername: 'localhost',
          ...(mutual(kind) ? { cert: pems.client.cert, key: pems.client.key } : {}),
        },
        () => {
          if (http(kind)) s.write('GET /agent/v1/poll HTTP/1.1\r\nHost: localhost\r\n\r\n');
          resolve();
        },
      );
      s.once('error', reject);
    });
  }
  process.send!('connected');
  setInterval(() => {}, 60_000);
} else if (role === 'server') {
  const kind = process.env.FLOOR_KIND as Kind;
  const pems = JSON.parse(process.env.FLOOR_PEMS!) as Pems;
  const opts = {
    cert: pems.server.cert,
    key: pems.server.key,
    ...(mutual(kind) ? { ca: pems.ca, requestCert: true, rejectUnauthorized: true } : {}),
  };
  let held = 0;
  const server = !http(kind)
    ? tls.createServer(opts, (s) => void s.on('error', () => {}))
    : https.createServer({ ...opts, requestTimeout: 0, headersTimeout: 0 }, () => void held++);
  server.listen(0, '127.0.0.1', async () => {
    const gc = globalThis.gc!;
    gc();
    const before = rssMiB();
    const port = (server.address() as { port: number }).port;
    const client = fork(new URL(import.meta.url).pathname, ['--connections', String(N)], {
      env: { ...process.env, FLOOR_ROLE: 'client', PORT: String(port) },
    });
    await new Promise((r) => client.once('message', r));
    // Let the last handshakes and requests land.
    await new Promise((r) => setTimeout(r, 2000));
    gc();
    const after = rssMiB();
    client.kill('SIGKILL');
    process.send!({ before, after, held, heapMiB: process.memoryUsage().heapUsed / 1048576 });
    process.exit(0);
  });
} else {
  const ca = makeCa('Floor CA');
  const pems: Pems = { ca: ca.cert, server: makeLeaf(ca), client: makeLeaf(ca, { client: true, commonName: 'agent' }) };
  const rows: string[][] = [];
  const results: Record<string, unknown>[] = [];
  for (const [kind, what] of [
    ['tls', 'idle TLS connection (tls.createServer)'],
    ['tls-mtls', 'idle TLS with client certificates (push floor)'],
    ['https', 'HTTPS, one request held per connection'],
    ['https-mtls', 'HTTPS with client certificates, one request held'],
  ] as const) {
    const child = fork(new URL(import.meta.url).pathname, ['--connections', String(N)], {
      execArgv: [...process.execArgv, '--expose-gc'],
      env: { ...process.env, FLOOR_ROLE: 'server', FLOOR_KIND: kind, FLOOR_PEMS: JSON.stringify(pems) },
    });
    const r = await new Promise<{ before: number; after: number; held: number; heapMiB: number }>((resolve, reject) => {
      child.once('message', (m) => resolve(m as never));
      child.once('exit', (code) => reject(new Error(`${kind} server exited ${code}`)));
    });
    const perKb = ((r.after - r.before) * 1024) / N;
    rows.push([
      what,
      String(N),
      r.before.toFixed(1),
      r.after.toFixed(1),
      r.heapMiB.toFixed(1),
      perKb.toFixed(1),
      http(kind) ? String(r.held) : '',
    ]);
    results.push({ kind, connections: N, ...r, perConnectionKb: perKb });
  }
  process.stdout.write(
    table(['server', 'connections', 'RSS before MiB', 'RSS after MiB', 'JS heap MiB', 'KB per connection', 'requests held'], rows) + '\n',
  );
  process.stdout.write(`result: ${writeResult('connection-floor', { node: process.version, rows: results })}\n`);
}
