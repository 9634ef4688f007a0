/**
 * Orders two strings by UTF-16 code units, the order of ISO-8601 times, UUIDs and paths as bytes. Not
 * `localeCompare`: a locale's order is not what these keys mean, and the first call loads ICU's collator (2.7 MiB
 * more resident memory in a bare Node that sorts two strings once; the agent's lists and task store sorted with it).
 */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
