/**
 * The generated tree the IOC scan benchmarks run on (bench/ioc-scan.ts, bench/ioc-formats.ts): mostly small files of
 * spread sizes plus a few hundred 2–6 MiB ones, random content. Generated once into a temp folder and reused by later
 * runs (delete it and its .manifest.json beside it to regenerate).
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MiB = 1024 * 1024;

export interface TreeManifest {
  files: number;
  bytes: number;
  target: { path: string; size: number; sha256: string };
  sizes: number[];
}

export const defaultTreeDir = (files: number, gib: number): string => join(tmpdir(), `sg-bench-ioc-tree-${files}-${gib}`);

/** Random, incompressible bytes quickly: an AES-CTR keystream. */
const stream = createCipheriv('aes-128-ctr', randomBytes(16), randomBytes(16));
const zeros = Buffer.alloc(4 * MiB);
const randomContent = (n: number) => stream.update(zeros.subarray(0, n));

/** The path of file number `i` in a tree. */
export const treeFilePath = (tree: string, i: number): string =>
  join(tree, `d${String(Math.floor(i / 1000)).padStart(3, '0')}`, `e${Math.floor((i % 1000) / 100)}`, `f${i}.bin`);

function generate(tree: string, files: number, gib: number): TreeManifest {
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(tree, { recursive: true });
  const bigSize = 4 * MiB;
  const targetBytes = gib * 1024 * MiB;
  // About 60 % of the bytes in 2–6 MiB files, the rest in small files of log-spread sizes (256 B to ~46 KiB).
  const big = Math.max(1, Math.round((targetBytes * 0.6) / bigSize));
  const sizes: number[] = [];
  let bytes = 0;
  const started = performance.now();
  for (let i = 0; i < files; i++) {
    const path = treeFilePath(tree, i);
    if (i % 100 === 0) mkdirSync(join(path, '..'), { recursive: true });
    const size =
      i % Math.floor(files / big) === 0 ? Math.floor(bigSize / 2 + Math.random() * bigSize) : Math.floor(256 * 2 ** (Math.random() * 7.5));
    writeFileSync(path, randomContent(size));
    sizes.push(size);
    bytes += size;
    if (i % 10_000 === 0)
      process.stdout.write(
        `\rgenerating the tree: ${i} files, ${(bytes / 1024 / MiB).toFixed(2)} GiB, ${((performance.now() - started) / 1000).toFixed(0)} s`,
      );
  }
  const path = treeFilePath(tree, Math.floor(files * 0.4237));
  const content = readFileSync(path);
  const manifest: TreeManifest = {
    files,
    bytes,
    target: { path, size: content.length, sha256: createHash('sha256').update(content).digest('hex') },
    sizes,
  };
  writeFileSync(`${tree}.manifest.json`, JSON.stringify(manifest));
  process.stdout.write(
    `\rgenerated ${files} files, ${(bytes / 1024 / MiB).toFixed(2)} GiB in ${((performance.now() - started) / 1000).toFixed(0)} s into ${tree}\n`,
  );
  return manifest;
}

export function loadOrGenerateTree(tree: string, files: number, gib: number): TreeManifest {
  const f = `${tree}.manifest.json`;
  if (existsSync(f)) {
    const m = JSON.parse(readFileSync(f, 'utf8')) as TreeManifest;
    process.stdout.write(`reusing the tree in ${tree} (${m.files} files, ${(m.bytes / 1024 / MiB).toFixed(2)} GiB)\n`);
    return m;
  }
  return generate(tree, files, gib);
}
