import type { LabErrorCode } from '@sandgate/shared';

/** An error the HTTP layer turns into a labErrorSchema answer with this status. */
export class LabError extends Error {
  readonly status: number;
  readonly code: LabErrorCode;

  constructor(status: number, code: LabErrorCode, message: string) {
    super(message);
    this.name = 'LabError';
    this.status = status;
    this.code = code;
  }
}
