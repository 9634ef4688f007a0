/** The stamp of `roots` (absolute folders or files): file count, total size, newest change time. */
export function sourceStamp(roots: readonly string[]): string;
/** The compiled entry (a file URL) when the stamp file beside it matches the sources it names, else undefined. */
export function freshCompiled(compiledEntry: URL, stampFile: URL): URL | undefined;
