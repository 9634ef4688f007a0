import type { Socket } from 'node:net';

/** How long a refused client may go on sending before the lab closes anyway. */
export const LINGER_MS = 2000;

/**
 * For an answer sent before the request's body was read (a refusal, a cut upload): close the connection the way
 * nginx's lingering close does. Node would destroy the socket as soon as the answer is flushed; bytes the client is
 * still sending then meet a closed socket, the kernel answers them with a reset, and a reset can throw away the
 * answer before the client has read it, leaving it with "connection reset" instead of the code. So: half-close, keep
 * reading and dropping what still comes, and close when the client does or after LINGER_MS.
 */
export function lingerOnClose(socket: Socket): void {
  socket.destroySoon = function lingeringDestroySoon(this: Socket) {
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
    this.end();
    this.resume();
  };
}
