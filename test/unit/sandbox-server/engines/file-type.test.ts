import { describe, expect, it } from 'vitest';
import { createFileTypeEngine, identifyFileType } from '#lab/engines/file-type.ts';
import { levelOf, runEngine } from './run-engine.ts';

function pe(opts: { dll?: boolean; plus?: boolean } = {}): Buffer {
  const b = Buffer.alloc(512);
  b.write('MZ', 0, 'latin1');
  b.writeUInt32LE(0x80, 0x3c);
  b.write('PE\0\0', 0x80, 'latin1');
  b.writeUInt16LE(opts.dll ? 0x2102 : 0x0102, 0x80 + 22);
  b.writeUInt16LE(opts.plus ? 0x20b : 0x10b, 0x80 + 24);
  return b;
}

function pdf(body: string): Buffer {
  return Buffer.from(`%PDF-1.7\n1 0 obj\n<< /Type /Catalog ${body} >>\nendobj\n${'% filler\n'.repeat(2000)}%%EOF\n`, 'latin1');
}

const ft = () => createFileTypeEngine();

describe('file-type engine', () => {
  it('identifies executables of each platform by their headers', () => {
    expect(identifyFileType(pe()).label).toBe('PE32 executable (Windows)');
    expect(identifyFileType(pe({ dll: true, plus: true })).label).toBe('PE32+ DLL (Windows)');
    expect(identifyFileType(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0])).kind).toBe('elf');
    expect(identifyFileType(Buffer.from([0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1])).label).toBe('Mach-O 64-bit');
    expect(identifyFileType(Buffer.from([0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2])).label).toBe('Mach-O universal');
  });

  it('does not mistake a Java class file for a universal Mach-O', () => {
    expect(identifyFileType(Buffer.from([0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 52])).kind).toBe('data');
  });

  it('identifies documents, archives and scripts', () => {
    expect(identifyFileType(pdf('')).kind).toBe('pdf');
    expect(identifyFileType(Buffer.from('d0cf11e0a1b11ae1' + '00'.repeat(8), 'hex')).kind).toBe('ole');
    expect(identifyFileType(Buffer.from('504b0304', 'hex'), undefined, false).kind).toBe('zip');
    expect(identifyFileType(Buffer.from('504b0304', 'hex'), undefined, true).kind).toBe('ooxml');
    expect(identifyFileType(Buffer.from('#!/bin/sh\necho hi\n')).label).toBe('script (/bin/sh)');
    expect(identifyFileType(Buffer.from('Write-Host hi'), 'setup.PS1').label).toBe('script (.ps1)');
    expect(identifyFileType(Buffer.from('plain words'), 'notes.txt').kind).toBe('text');
    expect(identifyFileType(Buffer.from([0, 1, 2, 3])).kind).toBe('data');
  });

  it('reports the type as an indicator and a PE as clean: identification alone is not a verdict', async () => {
    const f = await runEngine(ft(), pe());
    expect(levelOf(f)).toBe('clean');
    expect(f.indicators).toContainEqual({ type: 'file-type', value: 'PE32 executable (Windows)', source: 'file-type' });
  });

  it('calls a PDF with JavaScript suspicious with a low score, even when /JavaScript straddles two chunks', async () => {
    const doc = pdf('/Names << /JavaScript 5 0 R >>');
    const at = doc.indexOf('/JavaScript');
    const f = await runEngine(ft(), doc, { chunkSize: at + 4 });
    expect(levelOf(f)).toBe('suspicious');
    expect(f.threat).toBe('Heuristic.PDF.JavaScript');
    expect(f.score).toBeGreaterThan(0);
    expect(f.score).toBeLessThanOrEqual(50);
  });

  it('scores JavaScript run by /OpenAction higher than JavaScript alone, and leaves /OpenAction alone clean', async () => {
    const both = await runEngine(ft(), pdf('/OpenAction 7 0 R /JS (app.alert(1))'));
    const jsOnly = await runEngine(ft(), pdf('/JS (app.alert(1))'));
    expect(both.score).toBeGreaterThan(jsOnly.score);
    const openOnly = await runEngine(ft(), pdf('/OpenAction [3 0 R /Fit]'));
    expect(levelOf(openOnly)).toBe('clean');
    expect(openOnly.indicators).toContainEqual({ type: 'pdf-feature', value: '/OpenAction', source: 'file-type' });
  });

  it('flags a PDF /Launch action and Office macro projects as suspicious', async () => {
    expect((await runEngine(ft(), pdf('/OpenAction << /S /Launch /F (cmd.exe) >>'))).threat).toBe('Heuristic.PDF.Launch');
    const ole = Buffer.concat([Buffer.from('d0cf11e0a1b11ae1', 'hex'), Buffer.alloc(600), Buffer.from('_VBA_PROJECT', 'utf16le')]);
    expect((await runEngine(ft(), ole, { chunkSize: 611 })).threat).toBe('Heuristic.Office.Macro');
    const docm = Buffer.concat([Buffer.from('504b0304', 'hex'), Buffer.from('....[Content_Types].xml....word/vbaProject.bin')]);
    const f = await runEngine(ft(), docm);
    expect(f.indicators).toContainEqual({ type: 'file-type', value: 'Office Open XML document', source: 'file-type' });
    expect(f.threat).toBe('Heuristic.Office.Macro');
  });

  it('leaves a clean PDF clean', async () => {
    const f = await runEngine(ft(), pdf('/Pages 2 0 R'));
    expect(levelOf(f)).toBe('clean');
    expect(f.score).toBe(0);
  });
});
