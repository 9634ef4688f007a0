// Moved to @sandgate/shared/stix-pattern (issue 18: the console checks an uploaded hunt's patterns too). Kept one merge
// round for callers on other branches.
export { MAX_DEPTH, MAX_PATTERN_CHARS, parseStixPattern } from '@sandgate/shared/stix-pattern';
