import { SandgateError, type SandboxServer, type Verdict } from '@sandgate/shared';
import type { QueuedObject, SandboxClient } from './sandbox-client.ts';

/** CAPEv2 and Cuckoo servers (issue 3): named in the policy, refused with a clear code so the next server is tried. */
export class UnsupportedKindClient implements SandboxClient {
  readonly url: string;
  readonly kind: string;

  constructor(server: SandboxServer) {
    this.url = server.url;
    this.kind = server.kind;
  }

  async analyse(_obj: QueuedObject, _signal: AbortSignal): Promise<Verdict> {
    throw this.unsupported();
  }

  private unsupported(): SandgateError {
    return new SandgateError('SERVER_KIND_UNSUPPORTED', `${this.url}: servers of kind "${this.kind}" are not supported by this version yet`, {
      params: { server: this.url, kind: this.kind },
    });
  }

  async probe(_signal: AbortSignal): Promise<void> {
    throw this.unsupported();
  }

  close(): void {}
}
