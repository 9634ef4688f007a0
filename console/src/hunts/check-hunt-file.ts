import { createHash } from 'node:crypto';
import {
  detectIocFormat,
  HUNT_MAX_FILE_BYTES,
  SandgateError,
  stixBundleSchema,
  stixIndicatorSchema,
  type HuntFile,
  type IocIndicator,
  type StixIndicator,
} from '@sandgate/shared';
import { parseOpenIoc } from '@sandgate/shared/openioc-parse';
import { parseStixPattern } from '@sandgate/shared/stix-pattern';
import { loadYaraBinding, yaraBindingError } from '@sandgate/shared/yara-x';

/** A hunt file the console accepted: what it found, and the text a group task delivers. */
export interface CheckedHunt {
  file: HuntFile;
  text: string;
}

/**
 * The console's own reading of an operator's hunt file, before anything is stored: the size first (no byte is parsed
 * past HUNT_MAX_FILE_BYTES), the format by content with the agents' detector, then that format's parser: OpenIOC with
 * the agents' parser, STIX 2.1 JSON with the shared schemas and pattern parser, YARA compiled by YARA-X. A file that is
 * none of them, does not parse, or holds nothing to run is a coded error and nothing is made. The agents parse the
 * text again themselves: this check is for the operator, not a trust the agents rely on.
 */
export function checkHuntFile(bytes: Uint8Array, name: string): CheckedHunt {
  if (bytes.byteLength > HUNT_MAX_FILE_BYTES) {
    throw new SandgateError(
      'CONSOLE_HUNT_FILE_TOO_LARGE',
      `${name}: ${bytes.byteLength} bytes; a group hunt's file may have at most ${HUNT_MAX_FILE_BYTES}`,
      { params: { bytes: bytes.byteLength, maxBytes: HUNT_MAX_FILE_BYTES } },
    );
  }
  const format = detectIocFormat(bytes, name);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw invalid(name, 'not UTF-8 text (a hunt file is delivered as text)');
  }
  // PostgreSQL text holds no NUL, and no IOC format needs one.
  if (text.includes('\u0000')) throw invalid(name, 'holds a NUL character');
  const indicators =
    format === 'openioc' ? openIocItems(bytes, name) : format === 'stix' ? stixIndicators(text, name) : yaraRules(text, name);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { file: { format, sha256, name, bytes: bytes.byteLength, indicators }, text };
}

function invalid(name: string, why: string): SandgateError {
  return new SandgateError('CONSOLE_HUNT_FILE_INVALID', `${name}: ${why}; nothing was created`, { params: { file: name } });
}

/** OpenIOC: parsed by the agents' parser (IOC_PARSE_FAILED with the line, IOC_UNSUPPORTED_VERSION); its items counted. */
function openIocItems(bytes: Uint8Array, name: string): number {
  const ioc = parseOpenIoc(bytes, name);
  let n = 0;
  const walk = (node: IocIndicator) => {
    for (const c of node.children) {
      if (c.kind === 'item') n++;
      else walk(c);
    }
  };
  for (const top of ioc.criteria) walk(top);
  if (n === 0) throw invalid(name, 'an OpenIOC file without a single IndicatorItem');
  return n;
}

/**
 * STIX 2.1: a bundle or one indicator (STIX_PARSE_FAILED otherwise), with at least one `pattern_type: "stix"`
 * indicator whose pattern parses. As on the agents, other pattern types and patterns that do not parse are reported
 * there by name; a file where no pattern parses is STIX_PATTERN_INVALID with the first parser message.
 */
function stixIndicators(text: string, name: string): number {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SandgateError('STIX_PARSE_FAILED', `${name}: not JSON (${err instanceof Error ? err.message : String(err)})`, {
      params: { file: name },
    });
  }
  const fail = (message: string): never => {
    throw new SandgateError('STIX_PARSE_FAILED', `${name}: ${message}`, { params: { file: name } });
  };
  const type = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as { type?: unknown }).type : undefined;
  const indicator = (v: unknown, where: string): StixIndicator => {
    const r = stixIndicatorSchema.safeParse(v);
    if (r.success) return r.data;
    const issue = r.error.issues[0];
    return fail(`${where} does not fit STIX 2.1 (${issue?.path.join('.') || 'object'}: ${issue?.message ?? 'invalid'})`);
  };
  let list: StixIndicator[];
  if (type === 'indicator') list = [indicator(json, 'the indicator')];
  else if (type === 'bundle') {
    const b = stixBundleSchema.safeParse(json);
    if (!b.success) fail(`the bundle does not fit STIX 2.1 (${b.error!.issues[0]?.path.join('.') || 'bundle'})`);
    list = (b.data!.objects ?? []).flatMap((o, i) => (o.type === 'indicator' ? [indicator(o, `objects[${i}]`)] : []));
  } else {
    throw new SandgateError(
      type === undefined ? 'IOC_FORMAT_UNKNOWN' : 'STIX_PARSE_FAILED',
      `${name}: ${type === undefined ? 'JSON without a STIX "type"' : `a STIX "${String(type)}" object`}; a hunt's STIX file holds a bundle or an indicator`,
      { params: { file: name } },
    );
  }
  let parsed = 0;
  let firstError: SandgateError | undefined;
  for (const ind of list) {
    if (ind.pattern_type !== 'stix' || ind.revoked === true) continue;
    try {
      parseStixPattern(ind.pattern, `${name}: ${ind.id}`);
      parsed++;
    } catch (err) {
      if (!(err instanceof SandgateError)) throw err;
      firstError ??= err;
    }
  }
  if (parsed === 0 && firstError) throw firstError;
  if (parsed === 0) throw invalid(name, 'no indicator with a STIX pattern (pattern_type "stix") that is not revoked');
  return parsed;
}

/** YARA: compiled by YARA-X (includes off, as on the agents); any compile error refuses the file with the engine's message. */
function yaraRules(text: string, name: string): number {
  const yara = loadYaraBinding();
  if (!yara)
    throw new SandgateError('YARA_UNAVAILABLE', `YARA-X cannot be loaded on the console's machine: ${yaraBindingError()}`, {
      params: { platform: `${process.platform}-${process.arch}` },
    });
  const { errors } = yara.validate(text, { enableIncludes: false });
  if (errors.length) {
    const first = errors[0]!;
    throw new SandgateError('YARA_COMPILE_FAILED', `${name}: ${first.message.split('\n')[0]!.slice(0, 500)}`, {
      params: { file: name, errors: errors.length, ...(first.line ? { line: first.line } : {}) },
    });
  }
  const rules = text.match(/^\s*(?:(?:private|global)\s+)*rule\s+[A-Za-z_]/gm)?.length ?? 0;
  if (rules === 0) throw invalid(name, 'YARA source without a rule');
  return rules;
}
