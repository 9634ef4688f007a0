import { createServer, request, type Server } from 'node:http';
import { existsSync, unlinkSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { SandgateError, sandgateErrorFromWire, wireErrorSchema } from '@sandgate/shared';
import { z } from 'zod';
import { CONSOLE_BODY_LIMITS } from '@sandgate/shared';
import { admitBody, readJson, sendError, sendJson } from '../http/http-util.ts';
import { runOp, type OpContext } from '../ops/console-ops.ts';

/**
 * A unix socket in the data folder (0700) through which `sandgate-console token create` and friends reach a running
 * `serve`: PGlite lets one process open the embedded database, so the CLI must not open it beside the server.
 * Whoever can open the socket can already read the database files, so it needs no further authentication.
 */
export function controlSocketPath(dataDir: string): string {
  return join(dataDir, 'control.sock');
}

const opRequestSchema = z.object({ op: z.string(), actor: z.string().max(200), args: z.record(z.string(), z.unknown()) });

export async function listenControlSocket(dataDir: string, ctx: Omit<OpContext, 'actor'>): Promise<Server> {
  const path = controlSocketPath(dataDir);
  // A socket left by a crashed serve would make listen fail; the data-folder lock has already made sure none is alive.
  if (existsSync(path)) unlinkSync(path);
  const server = createServer((req, res) => {
    (async () => {
      if (req.method !== 'POST' || req.url !== '/op') throw new SandgateError('CONSOLE_NOT_FOUND', 'no such control request');
      // The largest operation is a hunt's file (`hunt create`).
      admitBody(req, CONSOLE_BODY_LIMITS.hunt);
      const body = await readJson(req, opRequestSchema);
      sendJson(res, 200, await runOp({ ...ctx, actor: body.actor }, body.op, body.args));
    })().catch((err: unknown) => sendError(res, err));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return server;
}

/** Sends an operation to a running serve; undefined when none is listening (the caller then opens the database). */
export async function sendControlOp(
  dataDir: string,
  op: string,
  actor: string,
  args: Record<string, unknown>,
): Promise<Record<string, unknown> | undefined> {
  const path = controlSocketPath(dataDir);
  if (!existsSync(path)) return undefined;
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: path, path: '/op', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          return reject(new SandgateError('INTERNAL', `the running console answered with something that is not JSON (${res.statusCode})`));
        }
        if (res.statusCode === 200) return resolve(body as Record<string, unknown>);
        const err = wireErrorSchema.safeParse((body as { error?: unknown }).error);
        reject(
          err.success ? sandgateErrorFromWire(err.data) : new SandgateError('INTERNAL', `the running console answered ${res.statusCode}`),
        );
      });
    });
    // No one listening: a socket file left behind by a serve that was killed.
    req.once('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ECONNREFUSED' || err.code === 'ENOENT' ? resolve(undefined) : reject(err),
    );
    req.end(JSON.stringify({ op, actor, args }));
  });
}
