import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import { SandgateError } from '@sandgate/shared';

/**
 * The mutual proof that opens every connection on the agent's Windows named pipe, before any frame: each side shows it
 * holds the home's pipe key (pipe-key.ts) without sending it, over fresh nonces from both, so a recorded exchange is
 * worth nothing. A process that squats the pipe name cannot answer the client's challenge (AGENT_UNVERIFIED, nothing
 * is sent to it); a client that cannot read the key gets nothing from the agent but its challenge (IPC_CLIENT_REFUSED).
 *
 *   client → agent   MAGIC ‖ Nc                                      (36 bytes)
 *   agent  → client  MAGIC ‖ Na ‖ HMAC(key, "agent"  ‖ pipe ‖ Nc ‖ Na)  (68 bytes)
 *   client → agent   HMAC(key, "client" ‖ pipe ‖ Nc ‖ Na)              (32 bytes)
 *
 * The labels keep a proof of one direction from being replayed in the other; the pipe name binds it to this pipe.
 * Bytes that follow (the client's first request) are handed back to the socket for the framing to read.
 */
const MAGIC = Buffer.from('SGP1', 'ascii');
const NONCE = 32;
const MAC = 32;
const CLIENT_HELLO = MAGIC.length + NONCE;
const AGENT_HELLO = MAGIC.length + NONCE + MAC;

/** How long either side waits for the other's part: a generous bound that turns a silent peer into a refusal. */
export const PROOF_TIMEOUT_MS = 10_000;

function mac(key: Buffer, label: 'agent' | 'client', pipe: string, nc: Buffer, na: Buffer): Buffer {
  return createHmac('sha256', key).update(label).update('\0').update(pipe).update('\0').update(nc).update(na).digest();
}

/** The client's side. Resolves once the agent proved itself; rejects with AGENT_UNVERIFIED or AGENT_UNAVAILABLE. */
export async function proveAgent(socket: Socket, key: Buffer, pipe: string, timeoutMs = PROOF_TIMEOUT_MS): Promise<void> {
  const nc = randomBytes(NONCE);
  const reader = readExactly(socket, AGENT_HELLO, timeoutMs);
  socket.write(Buffer.concat([MAGIC, nc]));
  const r = await reader;
  const unverified = (reason: string) => {
    socket.destroy();
    return new SandgateError('AGENT_UNVERIFIED', `the process serving ${pipe} is not this user's agent: ${reason}`, {
      params: { socket: pipe, reason },
    });
  };
  if (r.kind !== 'bytes') {
    if (r.kind === 'timeout') throw unverified('it did not prove itself in time');
    socket.destroy();
    throw new SandgateError('AGENT_UNAVAILABLE', `the agent closed ${pipe} before proving itself`, { params: { socket: pipe } });
  }
  const hello = r.bytes;
  if (!hello.subarray(0, MAGIC.length).equals(MAGIC)) throw unverified('it does not speak the pipe proof');
  const na = hello.subarray(MAGIC.length, MAGIC.length + NONCE);
  const shown = hello.subarray(MAGIC.length + NONCE);
  if (!timingSafeEqual(shown, mac(key, 'agent', pipe, nc, na))) throw unverified('its proof does not match the pipe key');
  if (r.rest.length) socket.unshift(r.rest);
  socket.write(mac(key, 'client', pipe, nc, na));
}

export type ClientProof = { ok: true } | { ok: false; reason: string; sentSomething: boolean };

/**
 * The agent's side. Resolves ok once the client proved it holds the key; otherwise the caller hangs up without a word.
 * `sentSomething` is false for a peer that only opened and closed the pipe (a liveness probe), which is no refusal.
 */
export async function checkClient(socket: Socket, key: Buffer, pipe: string, timeoutMs = PROOF_TIMEOUT_MS): Promise<ClientProof> {
  const first = await readExactly(socket, CLIENT_HELLO, timeoutMs);
  if (first.kind !== 'bytes')
    return { ok: false, reason: first.kind === 'timeout' ? 'no challenge in time' : 'closed', sentSomething: first.got > 0 };
  if (!first.bytes.subarray(0, MAGIC.length).equals(MAGIC))
    return { ok: false, reason: 'does not speak the pipe proof', sentSomething: true };
  const nc = first.bytes.subarray(MAGIC.length);
  const na = randomBytes(NONCE);
  if (first.rest.length) socket.unshift(first.rest);
  const reader = readExactly(socket, MAC, timeoutMs);
  socket.write(Buffer.concat([MAGIC, na, mac(key, 'agent', pipe, nc, na)]));
  const proof = await reader;
  if (proof.kind !== 'bytes')
    return { ok: false, reason: proof.kind === 'timeout' ? 'no proof in time' : 'closed before its proof', sentSomething: true };
  if (!timingSafeEqual(proof.bytes, mac(key, 'client', pipe, nc, na)))
    return { ok: false, reason: 'its proof does not match the pipe key', sentSomething: true };
  if (proof.rest.length) socket.unshift(proof.rest);
  return { ok: true };
}

type Read = { kind: 'bytes'; bytes: Buffer; rest: Buffer } | { kind: 'closed' | 'timeout'; got: number };

/** Reads exactly `n` bytes; what came beyond them is returned as `rest`. The socket is left paused, listener-free. */
function readExactly(socket: Socket, n: number, timeoutMs: number): Promise<Read> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const done = (r: Read) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('end', onClose);
      socket.off('error', onError);
      socket.pause();
      resolve(r);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      got += chunk.length;
      if (got < n) return;
      const all = Buffer.concat(chunks);
      done({ kind: 'bytes', bytes: all.subarray(0, n), rest: all.subarray(n) });
    };
    const onClose = () => done({ kind: 'closed', got });
    const onError = () => done({ kind: 'closed', got });
    const timer = setTimeout(() => done({ kind: 'timeout', got }), timeoutMs);
    timer.unref();
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('end', onClose);
    socket.once('error', onError);
    socket.resume();
  });
}
