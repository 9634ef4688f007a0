import type { LabErrorCode } from '@sandgate/shared';

/** An error the HTTP layer turns into a labErrorSchema answer with this status. */
export class LabError extends Error {
  readonly status: number;
  readonly code: LabErrorCode;
  /** Extra answer headers: `connection: close` for a refusal that ends the connection, `retry-after`, … */
  readonly headers: Record<string, string>;

  constructor(status: number, code: LabErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'LabError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}
