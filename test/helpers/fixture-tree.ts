import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Writers for a fake system tree below a root prefix (the collectors' test seam): `put` a file, `link` a symbolic
 * link, each creating the folders on the way. The root is read at each call, so it may be set in `beforeAll`.
 */
export function fixtureTree(root: () => string) {
  return {
    put(p: string, content: string | Buffer, mode?: number): void {
      mkdirSync(dirname(join(root(), p)), { recursive: true });
      writeFileSync(join(root(), p), content);
      if (mode) chmodSync(join(root(), p), mode);
    },
    link(target: string, p: string): void {
      mkdirSync(dirname(join(root(), p)), { recursive: true });
      symlinkSync(target, join(root(), p));
    },
  };
}
