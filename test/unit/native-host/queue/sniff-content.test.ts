import { describe, expect, it } from 'vitest';
import { sniffContent } from '#native-host/queue/sniff-content.ts';

const bytes = (...parts: Array<string | number[]>) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

describe('naming an object by its content', () => {
  it.each([
    ['setup.exe', bytes('MZ', [0x90, 0, 3, 0]), 'executable', 'pe'],
    ['tool', bytes([0x7f], 'ELF', [2, 1, 1]), 'executable', 'elf'],
    ['app', bytes([0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1]), 'executable', 'macho'],
    ['report.pdf', bytes('%PDF-1.7\n'), 'document', 'pdf'],
    ['old.doc', bytes([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), 'document', 'ole2'],
    ['letter.rtf', bytes('{\\rtf1\\ansi'), 'document', 'rtf'],
    ['book.xlsx', bytes('PK', [3, 4, 20, 0]), 'archive', 'zip'],
    ['a.7z', bytes([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0, 4]), 'archive', '7z'],
    ['a.rar', bytes('Rar!', [0x1a, 7, 1, 0]), 'archive', 'rar'],
    ['a.tgz', bytes([0x1f, 0x8b, 8, 0]), 'archive', 'gzip'],
    ['install.sh', bytes('#!/bin/sh\necho hi\n'), 'script', 'shebang'],
    ['shortcut.lnk', bytes([0x4c, 0, 0, 0, 1, 0x14, 2, 0, 0, 0]), 'executable', 'lnk'],
    ['photo.png', bytes([0x89], 'PNG\r\n', [0x1a], '\n'), 'media', 'png'],
    ['run.vbs', bytes('MsgBox "hello"\r\n'), 'text', 'text'],
    ['blob.bin', bytes([0, 1, 2, 3, 0xff, 0xfe]), 'unknown', 'unknown'],
    ['empty.exe', bytes(''), 'unknown', 'unknown'],
  ])('%s is %s (%s)', (name, head, kind, format) => {
    expect(sniffContent(head, name)).toMatchObject({ kind, format });
  });

  it('finds a PDF header that is not at the start, as PDF readers do', () => {
    expect(sniffContent(bytes('garbage before the header\n%PDF-1.4\n'), 'x.pdf')).toMatchObject({ kind: 'document', format: 'pdf' });
  });

  it('calls an executable or script named like a document or picture disguised', () => {
    expect(sniffContent(bytes('MZ', [0x90, 0]), 'invoice.pdf').disguised).toBe(true);
    expect(sniffContent(bytes('MZ', [0x90, 0]), 'Holiday.JPG').disguised).toBe(true);
    expect(sniffContent(bytes('#!/bin/sh\n'), 'notes.txt').disguised).toBe(true);
  });

  it('does not call an honest name disguised', () => {
    expect(sniffContent(bytes('MZ', [0x90, 0]), 'setup.exe').disguised).toBe(false);
    expect(sniffContent(bytes('%PDF-1.7'), 'invoice.pdf').disguised).toBe(false);
    // A document that is really a picture is odd, but not more dangerous than it claims.
    expect(sniffContent(bytes([0xff, 0xd8, 0xff, 0xe0]), 'scan.pdf').disguised).toBe(false);
  });

  it('keeps text that is cut mid-character at the end of the window as text', () => {
    const head = Buffer.concat([Buffer.from('echo "grüße" '.repeat(300)), Buffer.from('ü').subarray(0, 1)]);
    expect(sniffContent(head, 'a.ps1')).toMatchObject({ kind: 'text' });
  });
});
