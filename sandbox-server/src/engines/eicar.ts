import { cleanFinding, type Engine, type EngineFinding, type ObjectScan } from './engine.ts';

/**
 * The EICAR anti-virus test file. Assembled from pieces so this source file is not itself the test string, which
 * would make anti-virus products quarantine the repository.
 */
export const EICAR_STRING = ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-', 'ANTIVIRUS-TEST-FILE!$H+H*'].join('');
export const EICAR_THREAT = 'EICAR-Test-File';

const EICAR = Buffer.from(EICAR_STRING, 'latin1');
/** The standard allows the string to be followed by whitespace as long as the file stays within 128 bytes. */
const MAX_EICAR_FILE = 128;
// Space, tab, CR, LF, and Ctrl-Z (DOS end-of-file) as editors and `copy con` leave them.
const TRAILING = new Set([0x20, 0x09, 0x0d, 0x0a, 0x1a]);

/**
 * True when `data` is the EICAR test file by the standard's definition: the 68-byte string at offset 0, then only
 * whitespace, 128 bytes at most. The string embedded elsewhere in a bigger file is deliberately not the test file,
 * as with every anti-virus product that follows the definition.
 */
export function isEicarTestFile(data: Buffer): boolean {
  if (data.length < EICAR.length || data.length > MAX_EICAR_FILE) return false;
  if (!data.subarray(0, EICAR.length).equals(EICAR)) return false;
  for (let i = EICAR.length; i < data.length; i++) if (!TRAILING.has(data[i]!)) return false;
  return true;
}

export function createEicarEngine(): Engine {
  const name = 'eicar';
  return {
    name,
    open(object): ObjectScan {
      // Anything longer than 128 bytes cannot be the test file: skip buffering entirely.
      const candidate = object.size >= EICAR.length && object.size <= MAX_EICAR_FILE;
      const parts: Buffer[] = [];
      let held = 0;
      return {
        update(chunk) {
          if (!candidate || held > MAX_EICAR_FILE) return;
          parts.push(chunk.subarray(0, MAX_EICAR_FILE + 1 - held));
          held += Math.min(chunk.length, MAX_EICAR_FILE + 1 - held);
        },
        finish(): EngineFinding {
          if (!candidate || !isEicarTestFile(Buffer.concat(parts))) return cleanFinding(name);
          return {
            results: [{ engine: name, level: 'malicious', name: EICAR_THREAT, detail: 'EICAR anti-virus test file (standard definition)' }],
            indicators: [{ type: 'signature', value: EICAR_THREAT, source: name }],
            score: 100,
            threat: EICAR_THREAT,
          };
        },
      };
    },
  };
}
