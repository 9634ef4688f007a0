import { describe, expect, it } from 'vitest';
import { buildCaptureRules, fileExtensionOf, shouldCapture, DEFAULT_CAPTURE_RULES } from '../../../../extension/utils/capture-rules.ts';

describe('capture rules', () => {
  it.each([
    // [file name, browser MIME, captured?]
    ['/home/ann/Downloads/setup.exe', 'application/x-msdownload', true],
    ['/home/ann/Downloads/SETUP.EXE', undefined, true],
    ['/home/ann/Downloads/report final.pdf', 'application/pdf', true],
    ['/home/ann/Downloads/invoice.pdf.exe', 'application/octet-stream', true],
    ['C:\\Users\\ann\\Downloads\\macro.docm', undefined, true],
    ['/home/ann/Downloads/archive.tar.gz', undefined, true],
    ['/home/ann/Downloads/setup.exe. ', undefined, true],
    ['/home/ann/Downloads/photo.png', 'image/png', false],
    ['/home/ann/Downloads/notes.txt', 'text/plain; charset=utf-8', false],
    ['/home/ann/Downloads/README', undefined, false],
    ['/home/ann/Downloads/.bashrc', undefined, false],
    // a renamed executable is still caught by its MIME type
    ['/home/ann/Downloads/cat.jpg', 'application/x-ms-dos-executable', true],
    ['/home/ann/Downloads/blob', 'Application/PDF; name=x', true],
  ])('%s (%s) → captured: %s', (filename, mime, captured) => {
    expect(shouldCapture(DEFAULT_CAPTURE_RULES, { filename, mime })).toBe(captured);
  });

  it('a policy list of extensions replaces the defaults, case- and dot-insensitively', () => {
    const rules = buildCaptureRules({ fileExtensions: ['.EXE', 'Png'] });
    expect(shouldCapture(rules, { filename: '/d/photo.png' })).toBe(true);
    expect(shouldCapture(rules, { filename: '/d/setup.exe' })).toBe(true);
    expect(shouldCapture(rules, { filename: '/d/report.pdf' })).toBe(false);
    // MIME types were not overridden, so the default MIME list still applies
    expect(shouldCapture(rules, { filename: '/d/report.bin2', mime: 'application/pdf' })).toBe(true);
  });

  it('an empty policy MIME list turns MIME matching off', () => {
    const rules = buildCaptureRules({ mimeTypes: [] });
    expect(shouldCapture(rules, { filename: '/d/blob', mime: 'application/pdf' })).toBe(false);
    expect(shouldCapture(rules, { filename: '/d/report.pdf', mime: 'application/pdf' })).toBe(true);
  });

  it.each([
    ['/a/b.c/file', undefined],
    ['/a/file.', undefined],
    ['/a/file.TXT', 'txt'],
    ['name.7z', '7z'],
  ])('extension of %s is %s', (name, ext) => {
    expect(fileExtensionOf(name)).toBe(ext);
  });
});
