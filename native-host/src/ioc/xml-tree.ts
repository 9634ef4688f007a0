// Moved to @sandgate/shared/openioc-parse (issue 18). Kept one merge round for callers on other branches.
export { MAX_IOC_FILE_BYTES, MAX_XML_DEPTH } from '@sandgate/shared/openioc-parse';
