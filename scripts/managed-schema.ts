/**
 * The extension's managed-storage schema (`extension/public/managed-schema.json`), generated from the shared zod
 * policy schema so that what administrators can set through browser policy is exactly what the agent's policy file
 * accepts.
 *
 *   npx node scripts/managed-schema.ts           # writes the file
 *   npx node scripts/managed-schema.ts --check   # exits 1 if the committed file differs from what would be written
 *
 * Chromium accepts only a subset of JSON Schema here, and an invalid schema stops the extension from loading
 * (platform-facts.md §2.3): `type` (exactly one), `properties`, `items`, `additionalProperties` (a schema, below the
 * top level), `enum`, `title`, `description`, `id`/`$ref`. Everything else zod emits (pattern, maxItems, maxLength,
 * required, default, propertyNames, additionalProperties: false) is dropped; the extension and the agent parse with the
 * zod schema anyway, so those limits still hold. Anything the subset cannot express (unions, nullable, tuples) makes
 * the generator fail rather than emit a schema that accepts something else.
 *
 * The words administrators read (title, description) are kept here, keyed by the property path; every property must
 * have a title and every title must name a property, so adding, renaming or removing a policy key without saying what
 * it means fails too.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { policySchema } from '@sandgate/shared';

export const MANAGED_SCHEMA_PATH = join(import.meta.dirname, '../extension/public/managed-schema.json');

/** The policy sections the extension reads from managed storage (`utils/capture-policy-source.ts`: `capture`). */
export const MANAGED_SECTIONS = { capture: true } as const;

export interface AdminText {
  title: string;
  description?: string;
}

export const ADMIN_TEXT: Record<string, AdminText> = {
  capture: {
    title: 'Capture rules',
    description:
      'Which completed downloads Sandgate sends to the agent. A list given here replaces the built-in defaults; the agent still decides by content.',
  },
  'capture.fileExtensions': {
    title: 'File-name extensions',
    description: 'Extensions without the dot, e.g. exe, pdf: 1 to 16 letters or digits each, at most 500. Case-insensitive.',
  },
  'capture.mimeTypes': {
    title: 'MIME types',
    description: 'MIME types captured whatever the file name, e.g. application/x-msdownload. At most 500.',
  },
  'capture.pendingVerdict': {
    title: 'Pending-verdict policy',
    description:
      'What a captured download may do while it is analysed. default: allow (it can be opened meanwhile) or hold (kept under a .sandgate-hold name until a clean verdict, quarantined on a malicious one). byExtension overrides default per extension. onUnavailable: keep (stay held) or release when no verdict can come (agent missing or stopped, no server reachable).',
  },
  'capture.pendingVerdict.default': { title: 'Default (allow or hold)' },
  'capture.pendingVerdict.byExtension': { title: 'Per file-name extension', description: 'e.g. {"exe": "hold", "pdf": "allow"}' },
  'capture.pendingVerdict.onUnavailable': { title: 'When no verdict can come (keep or release)' },
  'capture.downloadDirs': {
    title: 'Download folders (agent policy only)',
    description:
      'Absolute folders in which the browser side may name files. The agent reads this from its own policy file only; set here, through browser policy, it has no effect: the browser side cannot widen what it may touch.',
  },
};

/** A schema in Chromium's managed-storage subset. */
export interface ChromeSchema {
  title?: string;
  description?: string;
  type: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  enum?: (string | number)[];
  properties?: Record<string, ChromeSchema>;
  items?: ChromeSchema;
  additionalProperties?: ChromeSchema;
}

const TYPES = new Set<ChromeSchema['type']>(['object', 'array', 'string', 'integer', 'number', 'boolean']);
// Keywords that only narrow what is valid; dropping them makes the schema more lenient, never different in shape.
const DROPPED = new Set([
  '$schema',
  'pattern',
  'maxItems',
  'minItems',
  'maxLength',
  'minLength',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'required',
  'default',
  'propertyNames',
  'format',
  // The policy schema's own descriptions (`.describe()`, shown by the web console's policy editor): the words Chromium
  // shows administrators are ADMIN_TEXT's, written for that page.
  'description',
]);

const jsonSchemaNode = z.record(z.string(), z.unknown());

function convert(node: unknown, path: string, text: Readonly<Record<string, AdminText>>, used: Set<string>): ChromeSchema {
  const s = jsonSchemaNode.parse(node);
  for (const key of Object.keys(s)) {
    if (!['type', 'enum', 'properties', 'items', 'additionalProperties'].includes(key) && !DROPPED.has(key)) {
      throw new Error(`${path || '(top)'}: "${key}" has no equivalent in Chromium's managed-storage schema`);
    }
  }
  const type = s['type'];
  if (typeof type !== 'string' || !TYPES.has(type as ChromeSchema['type'])) {
    throw new Error(`${path || '(top)'}: needs exactly one type, got ${JSON.stringify(type)}`);
  }
  const out: ChromeSchema = {} as ChromeSchema;
  const words = path && Object.hasOwn(text, path) ? text[path] : undefined;
  if (words) used.add(path);
  if (words?.title) out.title = words.title;
  if (words?.description) out.description = words.description;
  out.type = type as ChromeSchema['type'];
  if (s['enum'] !== undefined) out.enum = z.array(z.union([z.string(), z.number()])).parse(s['enum']);
  if (type === 'object') {
    const props = s['properties'] === undefined ? undefined : jsonSchemaNode.parse(s['properties']);
    if (props) {
      out.properties = {};
      for (const [k, v] of Object.entries(props)) {
        const childPath = path ? `${path}.${k}` : k;
        if (!Object.hasOwn(text, childPath))
          throw new Error(`${childPath}: no title for administrators (add it to ADMIN_TEXT in scripts/managed-schema.ts)`);
        out.properties[k] = convert(v, childPath, text, used);
      }
    }
    const extra = s['additionalProperties'];
    // `false` (zod's strict objects) cannot be said in the subset: Chromium drops unknown keys by itself.
    if (extra !== undefined && extra !== false) {
      if (!path) throw new Error('(top): Chromium forbids additionalProperties at the top level');
      out.additionalProperties = convert(extra, `${path}.*`, text, used);
    }
  } else if (type === 'array') {
    if (s['items'] === undefined) throw new Error(`${path}: an array needs items`);
    out.items = convert(s['items'], `${path}[]`, text, used);
  } else if (s['properties'] !== undefined || s['items'] !== undefined || s['additionalProperties'] !== undefined) {
    throw new Error(`${path}: properties or items on a ${type}`);
  }
  return out;
}

/** Converts a zod object schema to Chromium's subset, with `text` giving each property's title and description. */
export function toManagedSchema(source: z.ZodObject, text: Readonly<Record<string, AdminText>>): ChromeSchema {
  const json = z.toJSONSchema(source, { target: 'draft-7', io: 'input', unrepresentable: 'throw' });
  const used = new Set<string>();
  const schema = convert(json, '', text, used);
  const unused = Object.keys(text).filter((k) => !used.has(k));
  if (unused.length) throw new Error(`ADMIN_TEXT names keys the policy schema does not have: ${unused.join(', ')}`);
  return schema;
}

/** The managed-storage schema for the sections the extension reads, from the shared policy schema. */
export function managedStorageSchema(): ChromeSchema {
  return toManagedSchema(policySchema.pick(MANAGED_SECTIONS), ADMIN_TEXT);
}

/** The file as it is committed: two-space JSON and a final newline. */
export function renderManagedSchema(): string {
  return `${JSON.stringify(managedStorageSchema(), null, 2)}\n`;
}

if (import.meta.main) {
  const text = renderManagedSchema();
  if (process.argv.includes('--check')) {
    const current = readFileSync(MANAGED_SCHEMA_PATH, 'utf8');
    if (current !== text) {
      process.stderr.write(`${MANAGED_SCHEMA_PATH} is out of date: run npx node scripts/managed-schema.ts\n`);
      process.exit(1);
    }
    process.stdout.write(`${MANAGED_SCHEMA_PATH} is up to date\n`);
  } else {
    writeFileSync(MANAGED_SCHEMA_PATH, text);
    process.stdout.write(`wrote ${MANAGED_SCHEMA_PATH}\n`);
  }
}
