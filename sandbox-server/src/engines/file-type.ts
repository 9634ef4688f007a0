import type { Indicator, LabEngineResult } from '@sandgate/shared';
import type { Engine, EngineFinding, ObjectInfo, ObjectScan } from './engine.ts';
import { StreamMatcher } from './stream-matcher.ts';

/** Coarse families; `label` carries the detail (PE32+, DLL, interpreter…). */
export type FileKind = 'pe' | 'mz' | 'elf' | 'mach-o' | 'pdf' | 'ole' | 'ooxml' | 'zip' | 'lnk' | 'script' | 'text' | 'data' | 'empty';

export interface FileType {
  kind: FileKind;
  label: string;
}

const HEAD_BYTES = 4096;
const SCRIPT_EXTENSIONS = new Set(['ps1', 'psm1', 'vbs', 'vbe', 'js', 'jse', 'wsf', 'wsh', 'hta', 'bat', 'cmd', 'sh', 'py', 'pl', 'rb']);

/**
 * Identifies the type from the first bytes (and the advisory file name for scripts, which have no magic). `zipNames`
 * says whether an OOXML part name was seen anywhere in the stream.
 */
export function identifyFileType(head: Buffer, fileName?: string, sawOoxmlPart = false): FileType {
  if (head.length === 0) return { kind: 'empty', label: 'empty' };
  const u32be = (o: number) => (head.length >= o + 4 ? head.readUInt32BE(o) : -1);
  if (head[0] === 0x4d && head[1] === 0x5a) {
    const peAt = head.length >= 0x40 ? head.readUInt32LE(0x3c) : -1;
    if (peAt > 0 && peAt + 26 <= head.length && head.readUInt32BE(peAt) === 0x50450000) {
      const dll = (head.readUInt16LE(peAt + 22) & 0x2000) !== 0;
      const magic = head.readUInt16LE(peAt + 24);
      const bits = magic === 0x20b ? 'PE32+' : 'PE32';
      return { kind: 'pe', label: `${bits} ${dll ? 'DLL' : 'executable'} (Windows)` };
    }
    return { kind: 'mz', label: 'MZ executable (DOS or PE with a far header)' };
  }
  if (u32be(0) === 0x7f454c46) return { kind: 'elf', label: `ELF ${head[4] === 2 ? '64' : '32'}-bit` };
  const m = u32be(0);
  if (m === 0xfeedface || m === 0xcefaedfe) return { kind: 'mach-o', label: 'Mach-O 32-bit' };
  if (m === 0xfeedfacf || m === 0xcffaedfe) return { kind: 'mach-o', label: 'Mach-O 64-bit' };
  // 0xCAFEBABE is both a fat Mach-O and a Java class; Java's version field (>= 45) sits where Mach-O counts archs.
  if (m === 0xcafebabe && u32be(4) >= 0 && u32be(4) < 45) return { kind: 'mach-o', label: 'Mach-O universal' };
  if (head.subarray(0, 1024).indexOf('%PDF-') >= 0) return { kind: 'pdf', label: 'PDF document' };
  if (u32be(0) === 0xd0cf11e0 && u32be(4) === 0xa1b11ae1) return { kind: 'ole', label: 'OLE compound document (legacy Office)' };
  if (u32be(0) === 0x504b0304) {
    return sawOoxmlPart ? { kind: 'ooxml', label: 'Office Open XML document' } : { kind: 'zip', label: 'ZIP archive' };
  }
  if (u32be(0) === 0x4c000000 && u32be(4) === 0x01140200) return { kind: 'lnk', label: 'Windows shortcut (LNK)' };
  const textual = !head.includes(0);
  if (textual && head[0] === 0x23 && head[1] === 0x21) {
    const line = head.subarray(2, Math.min(head.length, 130)).toString('latin1').split('\n')[0]!.trim();
    return { kind: 'script', label: `script (${line || 'shebang'})` };
  }
  const ext = fileName?.toLowerCase().match(/\.([a-z0-9]{1,5})$/)?.[1];
  if (textual && ext && SCRIPT_EXTENSIONS.has(ext)) return { kind: 'script', label: `script (.${ext})` };
  return textual ? { kind: 'text', label: 'text' } : { kind: 'data', label: 'data' };
}

/** Byte patterns the heuristics look for; only consulted for the matching file kind. */
const PATTERNS = {
  pdfJavaScript: '/JavaScript',
  pdfJs: '/JS',
  pdfLaunch: '/Launch',
  pdfOpenAction: '/OpenAction',
  pdfAdditionalActions: '/AA',
  ooxmlContentTypes: '[Content_Types].xml',
  ooxmlVba: 'vbaProject.bin',
  // OLE directory entry names are UTF-16LE.
  oleVba: Buffer.from('_VBA_PROJECT', 'utf16le'),
};

interface Heuristic {
  name: string;
  score: number;
  detail: string;
}

/**
 * Static heuristics that are honest about their strength: they raise `suspicious` with a low score, never
 * `malicious`. /OpenAction alone is only reported: benign PDFs use it to set the opening view.
 */
export function pdfHeuristics(m: StreamMatcher): Heuristic[] {
  const out: Heuristic[] = [];
  const autoRun = m.has('pdfOpenAction') || m.has('pdfAdditionalActions');
  if (m.has('pdfJavaScript') || m.has('pdfJs')) {
    out.push({
      name: 'Heuristic.PDF.JavaScript',
      score: autoRun ? 50 : 30,
      detail: autoRun ? 'PDF with JavaScript and an automatic action (/OpenAction or /AA)' : 'PDF with JavaScript',
    });
  }
  if (m.has('pdfLaunch')) out.push({ name: 'Heuristic.PDF.Launch', score: 40, detail: 'PDF with a /Launch action (runs a program)' });
  return out;
}

export function createFileTypeEngine(): Engine {
  const name = 'file-type';
  return {
    name,
    open(object: ObjectInfo): ObjectScan {
      const headParts: Buffer[] = [];
      let headLen = 0;
      const matcher = new StreamMatcher(PATTERNS);
      // Once the head shows a kind no heuristic cares about, stop searching the rest of the stream.
      let searching = true;
      return {
        update(chunk) {
          if (headLen < HEAD_BYTES) {
            const part = Buffer.from(chunk.subarray(0, HEAD_BYTES - headLen));
            headParts.push(part);
            headLen += part.length;
            if (headLen >= HEAD_BYTES || headLen === object.size) {
              const kind = identifyFileType(Buffer.concat(headParts), object.fileName, true).kind;
              searching = kind === 'pdf' || kind === 'ole' || kind === 'ooxml';
            }
          }
          if (searching) matcher.update(chunk);
        },
        finish(): EngineFinding {
          const type = identifyFileType(Buffer.concat(headParts), object.fileName, matcher.has('ooxmlContentTypes'));
          const heuristics: Heuristic[] = [];
          if (type.kind === 'pdf') heuristics.push(...pdfHeuristics(matcher));
          if ((type.kind === 'ole' && matcher.has('oleVba')) || (type.kind === 'ooxml' && matcher.has('ooxmlVba'))) {
            heuristics.push({ name: 'Heuristic.Office.Macro', score: 25, detail: 'Office document with a VBA macro project' });
          }
          const indicators: Indicator[] = [{ type: 'file-type', value: type.label, source: name }];
          if (type.kind === 'pdf' && matcher.has('pdfOpenAction')) {
            indicators.push({ type: 'pdf-feature', value: '/OpenAction', source: name });
          }
          const results: LabEngineResult[] = [
            { engine: name, level: 'clean', name: type.label, detail: `static identification: ${type.kind}` },
          ];
          for (const h of heuristics) {
            results.push({ engine: name, level: 'suspicious', name: h.name, detail: h.detail });
            indicators.push({ type: 'signature', value: h.name, source: name });
          }
          const top = heuristics.reduce<Heuristic | undefined>((a, h) => (!a || h.score > a.score ? h : a), undefined);
          return { results, indicators, score: top?.score ?? 0, ...(top ? { threat: top.name } : {}) };
        },
      };
    },
  };
}
