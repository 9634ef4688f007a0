import { resolve } from 'node:path';
import { SandgateError } from '@sandgate/shared';
import { DEFAULT_LAB_LIMITS, type LabLimits } from '../limits/lab-limits.ts';

/** `sandgate-lab serve` flags for its limits and client trust, beside the ones for where it listens (serve-args.ts). */
export const LIMIT_OPTIONS = {
  'client-ca': { type: 'string' },
  'keep-objects': { type: 'boolean' },
  'max-upload': { type: 'string' },
  'max-connections': { type: 'string' },
  'max-connections-per-client': { type: 'string' },
  'max-uploads': { type: 'string' },
  'min-upload-rate': { type: 'string' },
  'rate-window-ms': { type: 'string' },
  'headers-timeout-ms': { type: 'string' },
  'disk-reserve': { type: 'string' },
} as const;

export interface LimitArgs {
  clientCa?: string;
  keepObjects: boolean;
  maxUploadBytes?: number;
  limits: Partial<LabLimits>;
}

const KiB = 1024;
const d = DEFAULT_LAB_LIMITS;

export const LIMIT_USAGE = `  --client-ca PEM
                 also serve clients presenting a certificate this CA issued (mutual TLS), token or not
  --keep-objects keep judged objects in DATA/objects, so a verdict is judged again in place when the rules or the
                 blocklist change (without it the client is asked to upload the object again)
  --max-upload SIZE               largest object accepted (default 8G)
  --max-connections N             connections at once, in total (default ${d.maxConnections})
  --max-connections-per-client N  connections at once from one address or IPv6 /64 (default ${d.maxConnectionsPerClient})
  --max-uploads N                 uploads received at once (default ${d.maxUploads})
  --min-upload-rate SIZE          bytes per second an upload must keep up (default ${d.minUploadBytesPerSec / KiB}K) over
  --rate-window-ms MS             each window of this many milliseconds (default ${d.uploadWindowMs})
  --headers-timeout-ms MS         time to finish TLS and send request headers (default ${d.headersTimeoutMs})
  --disk-reserve SIZE             free disk space uploads must leave (default ${d.diskReserveBytes / KiB ** 2}M)
                 SIZE is bytes, or a number with K, M or G (1024-based)
`;

/** Parses the limit flags out of node:util parseArgs values; throws USAGE errors. */
export function parseLimitArgs(values: Record<string, string | boolean | undefined>): LimitArgs {
  const limits: Partial<LabLimits> = {};
  const count = (flag: string, key: keyof LabLimits, min: number) => {
    const v = values[flag];
    if (typeof v === 'string') limits[key] = integer(flag, v, min);
  };
  const size = (flag: string, min: number): number | undefined => {
    const v = values[flag];
    return typeof v === 'string' ? parseSize(flag, v, min) : undefined;
  };
  count('max-connections', 'maxConnections', 1);
  count('max-connections-per-client', 'maxConnectionsPerClient', 1);
  count('max-uploads', 'maxUploads', 1);
  count('rate-window-ms', 'uploadWindowMs', 50);
  count('headers-timeout-ms', 'headersTimeoutMs', 50);
  const rate = size('min-upload-rate', 0);
  if (rate !== undefined) limits.minUploadBytesPerSec = rate;
  const reserve = size('disk-reserve', 0);
  if (reserve !== undefined) limits.diskReserveBytes = reserve;
  const maxUpload = size('max-upload', 1);
  return {
    ...(typeof values['client-ca'] === 'string' ? { clientCa: resolve(values['client-ca']) } : {}),
    keepObjects: values['keep-objects'] === true,
    ...(maxUpload !== undefined ? { maxUploadBytes: maxUpload } : {}),
    limits,
  };
}

function integer(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (!/^\d{1,15}$/.test(text) || n < min)
    throw new SandgateError('USAGE', `--${flag} takes a whole number of at least ${min}, not ${text}`);
  return n;
}

/** `4096`, `64K`, `512M`, `8G` (1024-based). */
export function parseSize(flag: string, text: string, min: number): number {
  const m = /^(\d{1,15})([KMG])?$/i.exec(text);
  const n = m ? Number(m[1]) * KiB ** ' KMG'.indexOf((m[2] ?? ' ').toUpperCase()) : NaN;
  if (!Number.isSafeInteger(n) || n < min)
    throw new SandgateError('USAGE', `--${flag} takes a size in bytes (or with K, M, G) of at least ${min}, not ${text}`);
  return n;
}
