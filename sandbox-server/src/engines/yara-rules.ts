import { createHash } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Indicator, LabEngineResult, YaraBinding, YaraRuleMatch, YaraRules } from '@sandgate/shared';
import { DEFAULT_YARA_MAX_SCAN_BYTES, loadYaraBinding, yaraBindingError } from '@sandgate/shared/yara-x';
import type { Logger } from '../log.ts';
import { cleanFinding, type Engine, type EngineFinding, type ObjectScan } from './engine.ts';

/** The binding's types live in shared (the agent's IOC scans use the same engine). */
export type { YaraRuleMatch };

export { DEFAULT_YARA_MAX_SCAN_BYTES, loadYaraBinding };

interface CompiledFile {
  file: string;
  rules: YaraRules;
}

/**
 * Administrator YARA rules: every `*.yar` / `*.yara` file in `rulesDir`, each compiled on its own so one broken file
 * is reported and skipped instead of disabling the rest. Recompiled when the folder's files change.
 *
 * Rule meta the lab reads: `threat` (name; default the rule name), `level` (`malicious` default, or `suspicious`),
 * `score` (0–100; default 90 for malicious, 50 for suspicious).
 */
export function createYaraEngine(opts: { rulesDir: string; log: Logger; maxScanBytes?: number }): Engine {
  const name = 'yara-x';
  const maxScanBytes = opts.maxScanBytes ?? DEFAULT_YARA_MAX_SCAN_BYTES;
  let stamp = '';
  let compiled: CompiledFile[] = [];
  // Of every file's name and content, broken ones included: fixing a broken file changes what is judged with.
  let fingerprint = '';

  async function reload(yara: YaraBinding): Promise<void> {
    const files = await listRuleFiles(opts.rulesDir);
    const next = files.map((f) => `${f.name}:${f.mtimeMs}:${f.size}`).join('|');
    if (next === stamp && fingerprint) return;
    const out: CompiledFile[] = [];
    const print = createHash('sha256');
    for (const f of files) {
      let source: string | undefined;
      try {
        const fh = await fsp.open(join(opts.rulesDir, f.name), constants.O_RDONLY | constants.O_NOFOLLOW);
        source = await fh.readFile('utf8').finally(() => fh.close());
        print.update(`${f.name}\0${createHash('sha256').update(source).digest('hex')}\n`);
        out.push({ file: f.name, rules: yara.compile(source) });
      } catch (err) {
        if (source === undefined) print.update(`${f.name}\0unreadable\n`);
        opts.log.warn('YARA rule file skipped', { file: f.name, err: err instanceof Error ? err.message : String(err) });
      }
    }
    compiled = out;
    fingerprint = print.digest('hex');
    stamp = next;
    opts.log.info('YARA rules loaded', { files: out.map((c) => c.file) });
  }

  return {
    name,
    async inputs() {
      const yara = loadYaraBinding();
      if (!yara) return 'unavailable';
      await reload(yara);
      return fingerprint;
    },
    async open(object): Promise<ObjectScan> {
      const yara = loadYaraBinding();
      if (!yara) {
        const finding: EngineFinding = {
          results: [{ engine: name, level: 'unknown', detail: `YARA-X unavailable on this platform: ${yaraBindingError()}` }],
          indicators: [],
          score: 0,
        };
        return { inputs: 'unavailable', update() {}, finish: () => finding };
      }
      await reload(yara);
      const rules = compiled;
      const inputs = fingerprint;
      if (rules.length === 0) return { inputs, update() {}, finish: () => cleanFinding(name, 'no rules loaded') };
      // One bounded buffer per object, filled as chunks pass: the lab's memory stays flat whatever the object's size.
      const buf = Buffer.allocUnsafe(Math.min(object.size, maxScanBytes));
      let filled = 0;
      return {
        inputs,
        update(chunk) {
          if (filled < buf.length) filled += chunk.copy(buf, filled, 0, Math.min(chunk.length, buf.length - filled));
        },
        async finish(): Promise<EngineFinding> {
          const data = buf.subarray(0, filled);
          const partial = object.size > filled ? `scanned the first ${filled} of ${object.size} bytes` : undefined;
          const matches: YaraRuleMatch[] = [];
          for (const c of rules) matches.push(...(await c.rules.scanAsync(data)));
          if (matches.length === 0) return cleanFinding(name, partial);
          return findingFromMatches(name, matches, partial);
        },
      };
    },
  };
}

export function findingFromMatches(engine: string, matches: YaraRuleMatch[], partial?: string): EngineFinding {
  const results: LabEngineResult[] = [];
  const indicators: Indicator[] = [];
  let best: { score: number; threat: string } | undefined;
  for (const m of matches) {
    const meta = m.meta ?? {};
    const level = meta.level === 'suspicious' ? 'suspicious' : 'malicious';
    const threat = typeof meta.threat === 'string' && meta.threat ? meta.threat : m.ruleIdentifier;
    const raw = typeof meta.score === 'number' ? meta.score : level === 'malicious' ? 90 : 50;
    const score = Math.max(0, Math.min(100, raw));
    const strings = [...new Set(m.matches.map((x) => x.identifier))].join(', ');
    const detail = [`rule ${m.namespace}.${m.ruleIdentifier}`, strings && `strings ${strings}`, partial].filter(Boolean).join('; ');
    results.push({ engine, level, name: threat, detail });
    indicators.push({ type: 'yara-rule', value: m.ruleIdentifier, source: engine });
    // Malicious outranks suspicious whatever the scores say, so map level into the comparison first.
    const rank = (level === 'malicious' ? 1000 : 0) + score;
    if (!best || rank > best.score) best = { score: rank, threat };
  }
  const score = best ? best.score % 1000 : 0;
  return { results, indicators, score, ...(best ? { threat: best.threat } : {}) };
}

async function listRuleFiles(dir: string): Promise<{ name: string; mtimeMs: number; size: number }[]> {
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).filter((n) => /\.(yar|yara)$/i.test(n) && !n.startsWith('.')).sort();
  } catch {
    return [];
  }
  const out: { name: string; mtimeMs: number; size: number }[] = [];
  for (const n of names) {
    // lstat: a symbolic link in the rules folder is skipped, never followed.
    const st = await fsp.lstat(join(dir, n)).catch(() => undefined);
    if (st?.isFile()) out.push({ name: n, mtimeMs: st.mtimeMs, size: st.size });
  }
  return out;
}
