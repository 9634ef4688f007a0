import { SandgateError, stixBundleSchema, stixIndicatorSchema, type OpenIoc, type StixIndicator } from '@sandgate/shared';
import type { IocSource } from './compile-indicator-set.ts';
import type { UnsupportedTerm } from './indicator-set.ts';
import { parseStixPattern } from '@sandgate/shared/stix-pattern';
import { stixPatternToOpenIoc } from './stix-to-openioc.ts';
import { MAX_IOC_FILE_BYTES } from '@sandgate/shared/openioc-parse';

/**
 * Reads a STIX 2.1 JSON file (a bundle, or one `indicator` object) into OpenIOC-shaped sources for the common compiler,
 * plus what cannot be evaluated, by name:
 * - indicators whose `pattern_type` is not `stix` (sigma, yara, snort…; a YARA rule is given as its own file);
 * - indicators outside `valid_from` … `valid_until` at `now`, and revoked ones;
 * - patterns that do not parse (`STIX_PATTERN_INVALID`, with the position), and the parts of patterns the engine
 *   cannot evaluate (stix-to-openioc.ts).
 * A file that is not JSON, or not a bundle or indicator, is `STIX_PARSE_FAILED`; one whose every `stix` indicator has a
 * pattern that does not parse is `STIX_PATTERN_INVALID` (it would otherwise scan for nothing and say "no match").
 */

export interface StixLoad {
  sources: IocSource[];
  unsupported: UnsupportedTerm[];
  /** Indicators read (all pattern types), for the reports. */
  indicators: number;
  /** The bundle's id, or the indicator's for a single indicator. */
  id: string;
}

/** `file` names the file in reports; `shown` (default `file`) in errors, e.g. the path a person gave for a task's copy. */
export function loadStix(bytes: Uint8Array, file: string, now: Date = new Date(), shown = file): StixLoad {
  if (bytes.byteLength > MAX_IOC_FILE_BYTES) {
    throw new SandgateError(
      'IOC_FILE_TOO_LARGE',
      `${shown}: ${bytes.byteLength} bytes, more than the ${MAX_IOC_FILE_BYTES} an IOC file may have`,
      {
        params: { file, bytes: bytes.byteLength },
      },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new SandgateError('STIX_PARSE_FAILED', `${shown}: not valid UTF-8 JSON (${err instanceof Error ? err.message : String(err)})`, {
      params: { file },
    });
  }
  const { id, indicators } = indicatorsOf(json, shown);
  const out: StixLoad = { sources: [], unsupported: [], indicators: indicators.length, id };
  let invalid: SandgateError | undefined;
  let invalidCount = 0;
  let stixPatterns = 0;
  const seen = new Set<string>();
  for (const ind of indicators) {
    const skip = (term: string, reason: string) => out.unsupported.push({ file, itemId: ind.id, term, reason });
    if (ind.pattern_type !== 'stix') {
      skip(
        `pattern_type ${ind.pattern_type}`,
        `only STIX patterns are evaluated from a STIX file${ind.pattern_type === 'yara' ? ' (give YARA rules as a .yar file of their own)' : ''}`,
      );
      continue;
    }
    if (seen.has(ind.id)) continue; // several versions of one indicator in a bundle: the first one read is evaluated
    seen.add(ind.id);
    stixPatterns++;
    if (ind.revoked) {
      skip('revoked', 'the indicator is revoked by its producer; not evaluated');
      continue;
    }
    if (ind.valid_from && Date.parse(ind.valid_from) > now.getTime()) {
      skip('valid_from', `the indicator is not valid before ${ind.valid_from}; not evaluated`);
      continue;
    }
    if (ind.valid_until && Date.parse(ind.valid_until) <= now.getTime()) {
      skip('valid_until', `the indicator expired at ${ind.valid_until}; not evaluated`);
      continue;
    }
    let tree;
    try {
      tree = parseStixPattern(ind.pattern, `${shown} ${ind.id}`);
    } catch (err) {
      if (!(err instanceof SandgateError)) throw err;
      invalid ??= err;
      invalidCount++;
      skip('pattern', `${err.code}: ${err.message}`);
      continue;
    }
    const t = stixPatternToOpenIoc(tree, ind.id);
    for (const u of t.unsupported) skip(u.term, u.reason);
    if (!t.criteria) continue;
    const ioc: OpenIoc = {
      version: '1.1',
      id: ind.id,
      ...(ind.name ? { shortDescription: ind.name } : ind.description ? { shortDescription: ind.description.slice(0, 4096) } : {}),
      links: [],
      criteria: [t.criteria],
    };
    out.sources.push({ file, ioc });
  }
  if (invalid && invalidCount === stixPatterns) throw invalid;
  return out;
}

function indicatorsOf(json: unknown, file: string): { id: string; indicators: StixIndicator[] } {
  const type = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as { type?: unknown }).type : undefined;
  const fail = (message: string): never => {
    throw new SandgateError('STIX_PARSE_FAILED', `${file}: ${message}`, { params: { file } });
  };
  const check = (v: unknown, where: string): StixIndicator => {
    const r = stixIndicatorSchema.safeParse(v);
    if (!r.success) {
      const issue = r.error.issues[0];
      return fail(`${where} does not fit STIX 2.1 (${issue?.path.join('.') || 'object'}: ${issue?.message ?? 'invalid'})`);
    }
    return r.data;
  };
  if (type === 'indicator') {
    const one = check(json, 'the indicator');
    return { id: one.id, indicators: [one] };
  }
  if (type !== 'bundle') {
    // Valid JSON that is not STIX at all is none of the formats; a STIX object of another type is a STIX file we cannot use.
    const what = type === undefined ? 'JSON without a STIX "type"' : `a STIX "${String(type)}" object`;
    throw new SandgateError(
      type === undefined ? 'IOC_FORMAT_UNKNOWN' : 'STIX_PARSE_FAILED',
      `${file}: ${what}; a STIX file for a scan holds a bundle or an indicator`,
      { params: { file } },
    );
  }
  const bundle = stixBundleSchema.safeParse(json);
  if (!bundle.success) {
    const issue = bundle.error.issues[0];
    return fail(`the bundle does not fit STIX 2.1 (${issue?.path.join('.') || 'bundle'}: ${issue?.message ?? 'invalid'})`);
  }
  const objects = bundle.data.objects ?? [];
  return {
    id: bundle.data.id,
    indicators: objects.flatMap((o, i) => (o.type === 'indicator' ? [check(o, `objects[${i}] (${o.id ?? 'indicator'})`)] : [])),
  };
}
