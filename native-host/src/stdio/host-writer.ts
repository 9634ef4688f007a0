import type { Writable } from 'node:stream';
import { MAX_HOST_MESSAGE_BYTES, PROTOCOL_VERSION, SandgateError, type PushEvent, type Response, type WireError } from '@sandgate/shared';
import type { Logger } from '../log.ts';
import { encodeFrame } from '../wire/framing.ts';

/**
 * Everything the bridge writes to the browser goes through here, so the 1 MiB host → browser cap is enforced in one
 * place: above it Chromium and Firefox close the port, which the person would see as a broken extension.
 */
export interface HostWriter {
  response(res: Response): void;
  error(id: string, err: WireError): void;
  event(e: PushEvent): void;
  /** Resolves when everything written so far has been handed to the OS. */
  flush(): Promise<void>;
}

export function createHostWriter(out: Writable, log: Logger, maxBytes = MAX_HOST_MESSAGE_BYTES): HostWriter {
  const write = (frame: Buffer) => {
    if (!out.destroyed && out.writable) out.write(frame);
  };
  const error = (id: string, err: WireError) => {
    write(encodeFrame({ v: PROTOCOL_VERSION, kind: 'response', id, ok: false, error: err } satisfies Response, maxBytes));
  };
  return {
    error,
    response(res) {
      let frame: Buffer;
      try {
        frame = encodeFrame(res, maxBytes);
      } catch (err) {
        if (!(err instanceof SandgateError)) throw err;
        log.warn('response over the native-messaging cap replaced by an error', { id: res.id, ...err.params });
        error(res.id, new SandgateError('RESPONSE_TOO_LARGE', undefined, { params: err.params ?? {} }).toWire());
        return;
      }
      write(frame);
    },
    event(e) {
      let frame: Buffer;
      try {
        frame = encodeFrame(e, maxBytes);
      } catch (err) {
        log.warn('event over the native-messaging cap dropped', { type: e.type, error: String(err) });
        return;
      }
      write(frame);
    },
    flush: () =>
      new Promise((resolve) => {
        if (out.destroyed || !out.writable) return resolve();
        out.write(Buffer.alloc(0), () => resolve());
      }),
  };
}
