// Moved to @sandgate/shared/openioc-parse (issue 18: the console parses uploaded hunts too). Kept one merge round for
// callers on other branches; import from the shared package.
export { parseOpenIoc } from '@sandgate/shared/openioc-parse';
