import { DEFAULT_CAPTURE_EXTENSIONS, DEFAULT_CAPTURE_MIME_TYPES } from '@sandgate/shared';

/**
 * Which completed downloads are handed to the agent. This is only a pre-filter: the agent decides by content, so the
 * rules err on the side of capturing (a renamed executable still has an executable MIME type, and vice versa).
 */
export interface CaptureRules {
  /** Lower-case file-name extensions without the dot. */
  readonly fileExtensions: ReadonlySet<string>;
  /** Lower-case MIME types without parameters. */
  readonly mimeTypes: ReadonlySet<string>;
}

/** The `capture` section of the policy, as managed storage delivers it (already schema-checked). */
export interface CapturePolicy {
  fileExtensions?: readonly string[] | undefined;
  mimeTypes?: readonly string[] | undefined;
}

export interface DownloadFacts {
  /** Absolute path as the browser reports it (either path separator). */
  filename: string;
  mime?: string | undefined;
}

/** A policy list replaces the matching default list; an absent list keeps the defaults. */
export function buildCaptureRules(policy: CapturePolicy = {}): CaptureRules {
  const exts = policy.fileExtensions ?? DEFAULT_CAPTURE_EXTENSIONS;
  const mimes = policy.mimeTypes ?? DEFAULT_CAPTURE_MIME_TYPES;
  return {
    fileExtensions: new Set(exts.map((e) => e.trim().replace(/^\.+/, '').toLowerCase()).filter(Boolean)),
    mimeTypes: new Set(mimes.map(normaliseMime).filter(Boolean)),
  };
}

export const DEFAULT_CAPTURE_RULES: CaptureRules = buildCaptureRules();

/** The last extension of the file's base name: `invoice.pdf.exe` is an `exe`, which is what the OS will run. */
export function fileExtensionOf(filename: string): string | undefined {
  const base = filename.split(/[\\/]/).pop() ?? '';
  // Windows drops trailing dots and spaces when it opens a file, so `setup.exe. ` runs as `setup.exe`.
  const trimmed = base.replace(/[. ]+$/, '');
  const dot = trimmed.lastIndexOf('.');
  if (dot <= 0 || dot === trimmed.length - 1) return undefined;
  return trimmed.slice(dot + 1).toLowerCase();
}

export function normaliseMime(mime: string): string {
  return (mime.split(';')[0] ?? '').trim().toLowerCase();
}

export function shouldCapture(rules: CaptureRules, download: DownloadFacts): boolean {
  const ext = fileExtensionOf(download.filename);
  if (ext !== undefined && rules.fileExtensions.has(ext)) return true;
  return download.mime !== undefined && rules.mimeTypes.has(normaliseMime(download.mime));
}
