import { SandgateError, type YaraBinding, type YaraRules } from '@sandgate/shared';
import { DEFAULT_YARA_MAX_SCAN_BYTES, loadYaraBinding, yaraBindingError } from '@sandgate/shared/yara-x';
import type { FilePlan, IndicatorMatch, IndicatorSet, UnsupportedTerm } from './indicator-set.ts';
import type { DocumentName, Observation } from './observation.ts';
import { passesGate, splitByMagic, type MagicCheck } from './yara-magic-gate.ts';
import { splitYaraRules } from './yara-split.ts';
import { MAX_IOC_FILE_BYTES } from '@sandgate/shared/openioc-parse';

/**
 * YARA rules run by YARA-X (`@litko/yara-x`, loaded by `@sandgate/shared/yara-x` as sandgate-lab does). Each file is
 * compiled on its own; a file that does not compile is compiled again rule by rule, so one broken rule is reported with
 * the engine's message and the others still run. `include` is off (a rule file cannot make the agent read other files).
 *
 * Rules see a file's first `YARA_MAX_SCAN_BYTES` (as the lab: YARA-X scans buffers, not streams); a larger file is
 * scanned on that prefix and the scan's `notExamined` says how many were. YARA runs on every file the walk reaches
 * within the scope, after the cheaper OpenIOC and STIX checks of the same pass, and from the bytes that pass read;
 * when every rule demands a number at a fixed offset (`uint16(0) == 0x5A4D and …`), only on files that have one of
 * those numbers (yara-magic-gate.ts).
 */

export const YARA_MAX_SCAN_BYTES = DEFAULT_YARA_MAX_SCAN_BYTES;
/**
 * Files up to this size are scanned on the calling thread. The binding's async scan sets up a scanner for every call,
 * which costs more than the whole synchronous scan of a small file (bench/README.md, IOC formats, issue 18); a larger
 * file goes to the thread pool, so the event loop is held by one scan of at most 256 KiB at a time.
 */
const SYNC_SCAN_MAX_BYTES = 256 * 1024;
/** Strings listed per matched rule in a report. */
const MAX_STRINGS_SHOWN = 5;

export interface YaraSource {
  file: string;
  source: string;
}

interface CompiledRules {
  /** The rule file, or '' when several files were compiled together (each rule's file is then looked up by name). */
  file: string;
  rules: YaraRules;
  /** Rules that can only match a file with one of these numbers: other files are not given to them. */
  gate?: readonly MagicCheck[];
}

export interface YaraLoad {
  set: IndicatorSet | undefined;
  unsupported: UnsupportedTerm[];
  /** Rules compiled, over all files. */
  rules: number;
}

export function compileYaraFiles(files: readonly YaraSource[], maxScanBytes = YARA_MAX_SCAN_BYTES): YaraLoad {
  if (files.length === 0) return { set: undefined, unsupported: [], rules: 0 };
  const yara = loadYaraBinding();
  if (!yara)
    throw new SandgateError('YARA_UNAVAILABLE', `YARA-X cannot be loaded here: ${yaraBindingError()}`, {
      params: { platform: `${process.platform}-${process.arch}` },
    });
  const unsupported: UnsupportedTerm[] = [];
  const good: YaraSource[] = [];
  const fileOfRule = new Map<string, string>();
  const ruleTexts: string[] = [];
  let count = 0;
  for (const f of files) {
    const bytes = Buffer.byteLength(f.source);
    if (bytes > MAX_IOC_FILE_BYTES) {
      throw new SandgateError('IOC_FILE_TOO_LARGE', `${f.file}: ${bytes} bytes, more than the ${MAX_IOC_FILE_BYTES} an IOC file may have`, {
        params: { file: f.file, bytes },
      });
    }
  }
  // Every file in one compilation gives one scanner per file scanned. Only when that fails is each file compiled on
  // its own, and a file that fails compiled rule by rule, to find and report what is broken.
  const together = files.length > 1 ? tryCompile(yara, files.map((f) => f.source).join('\n')) : undefined;
  for (const f of files) {
    const split = splitYaraRules(f.source);
    if (together && 'rules' in together) {
      good.push(f);
    } else {
      const whole = tryCompile(yara, f.source);
      if ('rules' in whole) good.push(f);
      else {
        // A rule may reference an earlier one: each is compiled with the rules before it that compiled, and with the
        // imports it uses only (a banned import must not take the file's other rules with it).
        for (const inc of split.header.split('\n').filter((h) => h.startsWith('include'))) {
          unsupported.push({
            file: f.file,
            itemId: f.file,
            term: inc,
            reason: 'YARA_COMPILE_FAILED: include statements are refused (a rule file may not make the agent read other files)',
          });
        }
        let kept = '';
        const imported = new Set<string>();
        const keptRules: typeof split.rules = [];
        for (const r of split.rules) {
          const imports = split.imports.filter((m) => !imported.has(m) && new RegExp(`\\b${m}\\.`).test(r.text));
          const prefix = imports.map((m) => `import "${m}" `).join('');
          // Padded so the rule sits on its own line number: the engine's message points into the file as written.
          const lines = r.line - 1 - newlines(kept);
          const pad = lines > 0 ? '\n'.repeat(lines) : kept ? '\n' : '';
          const attempt = tryCompile(yara, `${kept}${pad}${prefix}${r.text}`);
          if ('rules' in attempt) {
            kept += `${pad}${prefix}${r.text}`;
            for (const m of imports) imported.add(m);
            keptRules.push(r);
          } else
            unsupported.push({
              file: f.file,
              itemId: r.name,
              term: `YARA rule ${r.name} (line ${r.line})`,
              reason: `YARA_COMPILE_FAILED: ${attempt.error}`,
            });
        }
        if (split.rules.length === 0)
          unsupported.push({ file: f.file, itemId: f.file, term: 'YARA rules', reason: `YARA_COMPILE_FAILED: ${whole.error}` });
        if (keptRules.length) good.push({ file: f.file, source: kept });
        for (const r of keptRules) fileOfRule.set(r.name, f.file);
        ruleTexts.push(...keptRules.map((r) => r.text));
        count += keptRules.length;
        continue;
      }
    }
    for (const r of split.rules) if (!fileOfRule.has(r.name)) fileOfRule.set(r.name, f.file);
    ruleTexts.push(...split.rules.map((r) => r.text));
    count += split.rules.length;
  }
  // Everything compiled: the rules with a number at a fixed offset go apart from the others, where they can.
  const apart = unsupported.length === 0 && good.length === files.length ? gatedApart(yara, files, ruleTexts) : undefined;
  let compiled: CompiledRules[] = [];
  if (apart) compiled = apart;
  else if (together && 'rules' in together) compiled = [{ file: '', rules: together.rules }];
  else if (good.length) {
    const again = good.length > 1 ? tryCompile(yara, good.map((f) => f.source).join('\n')) : undefined;
    if (again && 'rules' in again) compiled = [{ file: '', rules: again.rules }];
    else {
      // Rule names repeated across files, say: keep one scanner per file.
      for (const f of good) {
        const r = tryCompile(yara, f.source);
        if ('rules' in r) compiled.push({ file: f.file, rules: r.rules });
      }
    }
  }
  const set = compiled.length ? new YaraRuleSet(compiled, fileOfRule, unsupported, count, maxScanBytes) : undefined;
  return { set, unsupported, rules: count };
}

/**
 * The rules with a number at a fixed offset compiled apart from the others (yara-magic-gate.ts), when all files compiled
 * together; undefined (one scanner for all) when no rule has one, or when the two halves do not compile on their own.
 */
function gatedApart(yara: YaraBinding, files: readonly YaraSource[], ruleTexts: readonly string[]): CompiledRules[] | undefined {
  const { gated, open, checks } = splitByMagic(ruleTexts);
  if (gated.length === 0) return undefined;
  const imports = [...new Set(files.flatMap((f) => splitYaraRules(f.source).imports))].map((m) => `import "${m}"\n`).join('');
  const g = tryCompile(yara, imports + gated.join('\n'));
  const o = open.length ? tryCompile(yara, imports + open.join('\n')) : undefined;
  if (!('rules' in g) || (o && !('rules' in o))) return undefined;
  return [{ file: '', rules: g.rules, gate: checks }, ...(o && 'rules' in o ? [{ file: '', rules: o.rules }] : [])];
}

function newlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * Modules that read something other than the file's bytes: in a scan they would have no data, and every condition on
 * them would be false without anyone being told. Importing one is a compile error, so the rule is reported by name.
 */
const BANNED_MODULES = [
  {
    name: 'cuckoo',
    errorTitle: 'the cuckoo module is not available in an IOC scan',
    errorMessage: 'it reads a sandbox report; a scan has the file only',
  },
  {
    name: 'vt',
    errorTitle: 'the vt module is not available in an IOC scan',
    errorMessage: 'it reads VirusTotal metadata; a scan has the file only',
  },
];

function tryCompile(yara: YaraBinding, source: string): { rules: YaraRules } | { error: string } {
  try {
    return { rules: yara.compile(source, { enableIncludes: false, bannedModules: BANNED_MODULES }) };
  } catch (err) {
    // The engine's own message, with its line and caret; the "Compilation error (E…):" wrapper adds nothing.
    return { error: (err instanceof Error ? err.message : String(err)).replace(/^Compilation error \(\w+\): /, '') };
  }
}

const FILE_ONLY: ReadonlySet<DocumentName> = new Set(['FileItem']);
const NO_HASHES: ReadonlySet<never> = new Set();

class YaraRuleSet implements IndicatorSet {
  readonly documents = FILE_ONLY;
  readonly unsupported: readonly UnsupportedTerm[];
  readonly termCounts: { evaluated: number; unsupported: number };
  private readonly compiled: CompiledRules[];
  private readonly fileOfRule: ReadonlyMap<string, string>;
  private readonly maxScanBytes: number;
  private prefixOnly = 0;
  private gatedOut = 0;

  constructor(
    compiled: CompiledRules[],
    fileOfRule: ReadonlyMap<string, string>,
    unsupported: UnsupportedTerm[],
    rules: number,
    maxScanBytes: number,
  ) {
    this.compiled = compiled;
    this.fileOfRule = fileOfRule;
    this.unsupported = unsupported;
    this.termCounts = { evaluated: rules, unsupported: unsupported.length };
    this.maxScanBytes = maxScanBytes;
  }

  plan(): FilePlan {
    return { possible: true, hashes: NO_HASHES, content: this.maxScanBytes };
  }

  async match(o: Observation): Promise<IndicatorMatch[]> {
    if (o.document !== 'FileItem' || !o.content) return [];
    const data = await o.content(this.maxScanBytes);
    if (o.size > data.length) this.prefixOnly++;
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let gatedOut = false;
    const out: IndicatorMatch[] = [];
    for (const c of this.compiled) {
      if (c.gate && !passesGate(c.gate, buf)) {
        gatedOut = true;
        continue;
      }
      for (const m of buf.length <= SYNC_SCAN_MAX_BYTES ? c.rules.scan(buf) : await c.rules.scanAsync(buf)) {
        const strings = m.matches.slice(0, MAX_STRINGS_SHOWN).map((s) => `${s.identifier} at offset ${s.offset}`);
        const more = m.matches.length > MAX_STRINGS_SHOWN ? [`… ${m.matches.length - MAX_STRINGS_SHOWN} more string match(es)`] : [];
        const description = typeof m.meta?.description === 'string' ? m.meta.description : undefined;
        out.push({
          format: 'yara',
          iocId: m.ruleIdentifier,
          file: c.file || (this.fileOfRule.get(m.ruleIdentifier) ?? ''),
          ...(description ? { description } : {}),
          terms: [
            ...(strings.length ? strings : ['condition true (no string matched)']),
            ...more,
            ...(m.tags.length ? [`tags: ${m.tags.join(', ')}`] : []),
          ],
        });
      }
    }
    if (gatedOut) this.gatedOut++;
    return out;
  }

  notes(): Array<{ area: string; what: string; reason: string }> {
    const out: Array<{ area: string; what: string; reason: string }> = [];
    const gates = this.compiled.filter((c) => c.gate);
    if (this.gatedOut > 0 && gates.length) {
      const checks = gates.flatMap((c) => c.gate ?? []);
      const magics = checks
        .slice(0, 3)
        .map((g) => `uint${g.bytes * 8}${g.bigEndian ? 'be' : ''}(${g.offset}) == 0x${g.value.toString(16).toUpperCase()}`);
      const all = this.compiled.length === gates.length;
      out.push({
        area: 'yara',
        what: `${this.gatedOut} file(s) not given to ${all ? 'YARA' : 'the rules that need a number at a fixed offset'}`,
        reason: `${all ? 'every rule requires' : 'those rules require'} a number at a fixed offset (${magics.join(', ')}${checks.length > 3 ? ', …' : ''}) that these files do not have${all ? '' : '; the other rules saw them'}`,
      });
    }
    if (this.prefixOnly === 0) return out;
    const n = this.maxScanBytes;
    const size = n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${n} bytes`;
    return [
      ...out,
      {
        area: 'yara',
        what: `${this.prefixOnly} file(s) larger than ${size}`,
        reason: `YARA rules ran on their first ${size} only (YARA-X scans a buffer; the rest was not read)`,
      },
    ];
  }
}
