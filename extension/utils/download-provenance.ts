import { MAX_URL_CHARS, type Provenance } from '@sandgate/shared';

/** The fields of `downloads.DownloadItem` that provenance is built from. */
export interface DownloadItemLike {
  id: number;
  filename: string;
  url: string;
  finalUrl?: string | undefined;
  referrer?: string | undefined;
  mime?: string | undefined;
  startTime: string;
  endTime?: string | undefined;
  incognito: boolean;
  state?: string | undefined;
  exists?: boolean | undefined;
}

/**
 * A URL fit to send: `data:` URLs lose their body (it is the file itself, possibly megabytes), everything is cut to
 * MAX_URL_CHARS, and an empty string (Chromium's "no referrer") becomes absent.
 */
export function sanitiseUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  if (/^data:/i.test(url)) {
    const comma = url.indexOf(',');
    return (comma < 0 ? url : url.slice(0, comma + 1)).slice(0, 256);
  }
  return url.slice(0, MAX_URL_CHARS);
}

export function provenanceFor(item: DownloadItemLike, browser: string, options: { withUrls: boolean }): Provenance {
  const p: Provenance = { source: 'browser', browser: browser.slice(0, 32), downloadId: item.id };
  if (options.withUrls) {
    const url = sanitiseUrl(item.url);
    const finalUrl = sanitiseUrl(item.finalUrl);
    const referrer = sanitiseUrl(item.referrer);
    if (url) p.url = url;
    if (finalUrl) p.finalUrl = finalUrl;
    if (referrer) p.referrer = referrer;
  }
  if (item.mime) p.mime = item.mime.slice(0, 256);
  if (item.startTime) p.startTime = item.startTime.slice(0, 64);
  if (item.endTime) p.endTime = item.endTime.slice(0, 64);
  return p;
}

export function baseName(path: string): string {
  return path.split(/[\\/]/).pop() || path;
}
