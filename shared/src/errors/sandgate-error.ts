import { ERROR_CODES, ERROR_CODE_NAMES, type ErrorCode } from './codes.ts';
// Only the type: throwing and printing an error must not load zod (the CLI's start-up); the schema is in wire-error.ts.
import type { WireError } from './wire-error.ts';

/** The in-process error every Sandgate module throws. Callers match on `.code`, never on the message. */
export class SandgateError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly params: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, options?: { params?: Record<string, unknown>; cause?: unknown }) {
    super(message ?? ERROR_CODES[code].message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SandgateError';
    this.code = code;
    this.retryable = ERROR_CODES[code].retryable;
    this.params = options?.params;
  }

  toWire(): WireError {
    return { code: this.code, message: this.message, retryable: this.retryable, ...(this.params ? { params: this.params } : {}) };
  }
}

export function isErrorCode(code: string): code is ErrorCode {
  return (ERROR_CODE_NAMES as string[]).includes(code);
}

/** Turns anything thrown into a wire error; unknown errors become INTERNAL without leaking their stack. */
export function toWireError(err: unknown): WireError {
  if (err instanceof SandgateError) return err.toWire();
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err), retryable: false };
}

export function sandgateErrorFromWire(w: WireError): SandgateError {
  const code: ErrorCode = isErrorCode(w.code) ? w.code : 'INTERNAL';
  return new SandgateError(code, w.message, w.params ? { params: w.params } : undefined);
}
