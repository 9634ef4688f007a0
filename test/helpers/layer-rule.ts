import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

// The layer rule of native-host/README.md, read from its table and checked against the imports of the code. The
// table is the rule: a room's row names what it may import; the prose under it names the transport rooms and what
// every room may import.

export interface Rule {
  /** room → rooms it may import; `*` means anything. */
  allowed: Map<string, Set<string>>;
  /** Files every room may import (`clock.ts`, …). */
  everywhere: Set<string>;
  transport: Set<string>;
}

const ticked = (text: string) => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.replace(/\/$/, ''));

export function parseRule(readme: string): Rule {
  const allowed = new Map<string, Set<string>>();
  for (const m of readme.matchAll(/^\| `([a-z.-]+)\/?` \| .* \| (.*) \|$/gm)) {
    allowed.set(m[1]!, new Set(m[2]!.trim() === 'anything' ? ['*'] : ticked(m[2]!)));
  }
  const everywhere = /Every room may also import (.*?), and nothing of another/s.exec(readme)?.[1] ?? '';
  const transport = /Transport rooms: (.*?);/s.exec(readme)?.[1] ?? '';
  return {
    allowed,
    everywhere: new Set(ticked(everywhere).filter((n) => !n.startsWith('@'))),
    transport: new Set(ticked(transport)),
  };
}

/** What is wrong with the rule itself: a domain room allowed transport, a room allowed one that is not in the table, a cycle. */
export function ruleDefects(rule: Rule): string[] {
  const defects: string[] = [];
  for (const [room, may] of rule.allowed) {
    for (const other of may) {
      if (other === '*') {
        if (!rule.transport.has(room)) defects.push(`${room}: a domain room may not import "anything"`);
        continue;
      }
      if (!rule.allowed.has(other)) defects.push(`${room}: may import ${other}, which is not a room of the table`);
      if (!rule.transport.has(room) && rule.transport.has(other))
        defects.push(`${room}: a domain room is allowed the transport room ${other}`);
    }
  }
  const cycle = findCycle(new Map([...rule.allowed].map(([r, may]) => [r, [...may].filter((o) => o !== '*')])));
  if (cycle) defects.push(`the table allows a cycle: ${cycle.join(' → ')}`);
  return defects;
}

export function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'open') return [...path.slice(path.indexOf(n)), n];
    state.set(n, 'open');
    path.push(n);
    for (const next of graph.get(n) ?? []) {
      const found = visit(next);
      if (found) return found;
    }
    path.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of graph.keys()) {
    const found = visit(n);
    if (found) return found;
  }
  return undefined;
}

/** Every import, `export … from` and `import()` of a TypeScript source, as written. */
export function importsOf(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

/** The room of a file relative to the package's `src/`: its first folder, or the file itself at the top. */
export const roomOf = (relPath: string) => relPath.split('/')[0]!;

export interface SourceFile {
  /** Relative to the package's `src/`, with `/`. */
  path: string;
  imports: string[];
}

/** Imports of `files` (one package's src) that the rule does not allow, one line each. */
export function layerViolations(rule: Rule, files: readonly SourceFile[]): string[] {
  const out: string[] = [];
  for (const file of files) {
    const room = roomOf(file.path);
    // The files every room may import are the floor: they may import only each other.
    const may = rule.everywhere.has(room) ? new Set<string>() : rule.allowed.get(room);
    if (!may) {
      out.push(`${file.path}: the room ${room} is not in the table`);
      continue;
    }
    for (const spec of file.imports) {
      if (!spec.startsWith('.')) continue;
      const target = join(dirname(file.path), spec).split(sep).join('/');
      if (target.startsWith('..')) continue; // leaves src: the package rule's business
      const to = roomOf(target);
      if (to === room || may.has('*') || may.has(to) || rule.everywhere.has(to)) continue;
      out.push(`${file.path}: imports ${target} (${room} may not import ${to})`);
    }
  }
  return out;
}

/** Imports of a workspace's sources that reach another workspace: by package name or by a path out of the package. */
export function packageViolations(pkgDir: string, files: readonly SourceFile[], ownName: string): string[] {
  const out: string[] = [];
  for (const file of files) {
    for (const spec of file.imports) {
      const pkg = /^@sandgate\/([^/]+)/.exec(spec)?.[1];
      if (pkg && pkg !== 'shared' && pkg !== ownName) out.push(`${file.path}: imports ${spec}`);
      if (spec.startsWith('.')) {
        const target = resolve(pkgDir, dirname(file.path), spec);
        if (relative(pkgDir, target).startsWith('..')) out.push(`${file.path}: imports ${spec}, outside its package`);
      }
    }
  }
  return out;
}

/** The TypeScript sources under `dir`, paths relative to it. */
export function readSources(dir: string, skip: (rel: string) => boolean = () => false): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (sub: string) => {
    for (const e of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${e.name}` : e.name;
      if (e.name === 'node_modules' || e.name.startsWith('.') || skip(rel)) continue;
      if (e.isDirectory()) walk(rel);
      else if (/\.(ts|tsx|mts)$/.test(e.name) && !e.name.endsWith('.d.ts'))
        files.push({ path: rel, imports: importsOf(readFileSync(join(dir, rel), 'utf8')) });
    }
  };
  walk('');
  return files;
}
