// Moved to @sandgate/shared (issue 18: the console tells an uploaded hunt's format the same way). Kept one merge round
// for callers on other branches.
export { detectIocFormat } from '@sandgate/shared';
