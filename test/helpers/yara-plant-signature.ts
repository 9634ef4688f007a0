/**
 * The Authenticode half of the YARA planter (test/helpers/yara-plant.ts): what a condition over `pe.signatures`
 * asks of one signature (texts its subject and issuer contain, its serial, bounds on `not_before`/`not_after`; the
 * first branch of an `or` that can be met), and a PE signed with a certificate that shows exactly that
 * (test/helpers/authenticode-forge.ts). Fields it cannot fill (a thumbprint, a whole subject compared with `==`, a
 * serial YARA-X would never print) are named, not guessed.
 */
import { serialBytes, signWithForge, type SignatureFields } from './authenticode-forge.ts';
import { makePeFile } from './pe-file.ts';
import type { Cond } from './yara-plant-condition.ts';

/** The signature a planted PE carries, and the earliest `not_after` the rule accepts (for decoys made beside it). */
export type PlantedSignature = SignatureFields & { notAfterMin: number };

/** What one Authenticode signature must show: texts its subject/issuer contain, its serial, bounds on its dates. */
export interface SigNeed {
  subject: string[];
  issuer: string[];
  serial?: string;
  /** Seconds since the epoch, inclusive. */
  notAfter: { min: number; max: number };
  notBefore: { min: number; max: number };
}

const ANY_TIME = { min: -Infinity, max: Infinity };

export const newSigNeed = (): SigNeed => ({ subject: [], issuer: [], notAfter: { ...ANY_TIME }, notBefore: { ...ANY_TIME } });

export function satisfySig(c: Cond, sig: SigNeed): SigNeed | { fail: string } {
  switch (c.k) {
    case 'true':
      return sig;
    case 'unplantable':
      return { fail: c.why };
    case 'and': {
      let s: SigNeed | { fail: string } = sig;
      for (const x of c.xs) {
        s = satisfySig(x, s);
        if ('fail' in s) return s;
      }
      return s;
    }
    case 'or': {
      let first: { fail: string } | undefined;
      for (const x of c.xs) {
        const s = satisfySig(x, cloneSig(sig));
        if (!('fail' in s)) return s;
        first ??= s;
      }
      return first!;
    }
    case 'sig':
      return sigTerm(c, sig);
    default:
      return { fail: `${c.k} inside a signature loop` };
  }
}

function sigTerm(c: Extract<Cond, { k: 'sig' }>, sig: SigNeed): SigNeed | { fail: string } {
  const { field, op, value } = c;
  if ((field === 'subject' || field === 'issuer') && op === 'contains' && typeof value === 'string') {
    sig[field].push(value);
    return sig;
  }
  if (field === 'serial' && op === '==' && typeof value === 'string') {
    if (serialBytes(value) === undefined) return { fail: 'pe.signatures[i].serial not as YARA-X prints one' };
    if (sig.serial !== undefined && sig.serial !== value) return { fail: 'two serials for one signature' };
    sig.serial = value;
    return sig;
  }
  if ((field === 'not_after' || field === 'not_before') && typeof value === 'number') {
    const b = field === 'not_after' ? sig.notAfter : sig.notBefore;
    if (op === '>=' || op === '==') b.min = Math.max(b.min, value);
    if (op === '>') b.min = Math.max(b.min, value + 1);
    if (op === '<=' || op === '==') b.max = Math.min(b.max, value);
    if (op === '<') b.max = Math.min(b.max, value - 1);
    if (op === '!=' || b.min > b.max) return { fail: `pe.signatures[i].${field} ${op} ${value}` };
    return sig;
  }
  if (field === 'verified' && op === 'is') return sig; // the planted signature is genuine
  return { fail: `pe.signatures[i].${field} ${op}` };
}

const cloneSig = (s: SigNeed): SigNeed => ({
  subject: [...s.subject],
  issuer: [...s.issuer],
  ...(s.serial !== undefined ? { serial: s.serial } : {}),
  notAfter: { ...s.notAfter },
  notBefore: { ...s.notBefore },
});

/** The dates a planted certificate gets when the rule leaves them free. */
const NOT_BEFORE = Date.UTC(2010, 0, 1) / 1000;
const NOT_AFTER = Date.UTC(2035, 0, 1) / 1000;

/**
 * A signed PE: `code` (the rule's strings) in its one section, the numbers the rule reads at fixed offsets checked
 * against the headers, the signature as `sig` says.
 */
export function signedSample(
  code: Buffer,
  ints: Array<{ offset: number; bytes: Buffer }>,
  sig: SigNeed,
): { bytes: Buffer; signature: PlantedSignature } | { fail: string } {
  const unsigned = makePeFile({ code });
  for (const i of ints) {
    if (!i.bytes.equals(unsigned.subarray(i.offset, i.offset + i.bytes.length))) {
      return { fail: 'uint() at an offset the signed PE already uses' };
    }
  }
  const clamp = (want: number, b: { min: number; max: number }) => Math.min(Math.max(want, b.min), b.max);
  const notAfter = clamp(NOT_AFTER, sig.notAfter);
  const notBefore = clamp(Math.min(NOT_BEFORE, notAfter), sig.notBefore);
  if (!Number.isFinite(notAfter) || !Number.isFinite(notBefore)) return { fail: 'signature dates out of range' };
  const fields: SignatureFields = {
    subjectCommonName: sig.subject.length ? sig.subject.join(' ') : 'Sandgate planted signature',
    ...(sig.issuer.length ? { issuerCommonName: sig.issuer.join(' ') } : {}),
    serial: sig.serial ?? '01:02:03:04',
    notBefore: new Date(notBefore * 1000),
    notAfter: new Date(notAfter * 1000),
  };
  return { bytes: signWithForge(unsigned, fields), signature: { ...fields, notAfterMin: sig.notAfter.min } };
}
