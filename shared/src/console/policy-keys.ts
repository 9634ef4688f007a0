import { z } from 'zod';
import { policySchema } from '../config/policy-schema.ts';
import { groupActionsSchema } from './group-actions.ts';

/**
 * Every key of a group's policy document as the web console's editor explains it: its path, what it takes, its
 * default and its description, all read from the zod schemas themselves (`policySchema`, and the console-only
 * `groupActions` the same document may hold), through their JSON Schema. Nothing is written twice: a key added to a
 * schema appears here, and `test/contract/policy-key-descriptions.test.ts` fails while it has no description.
 * `GET /api/policy-schema` answers `{keys: policyKeys()}`. @since 1 (console policy editor, issue 17)
 */
export interface PolicyKey {
  /** Dotted path; `[]` marks each item of a list (`sandbox.servers[].url`), `*` any name of a map. */
  path: string;
  /** What the key takes, in words: `integer, 50 to 60000`, `one of sandgate, cape, cuckoo`, … */
  type: string;
  /** Whether a document that has the key's parent must have it. */
  required: boolean;
  /** The value the agent (or the console, for `groupActions`) uses when the key is left out. */
  default?: unknown;
  description: string;
}

type JsonSchema = {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
};

function range(lo: number | undefined, hi: number | undefined, unit = ''): string {
  if (lo === undefined && hi === undefined) return '';
  if (hi === undefined) return `, at least ${lo}${unit}`;
  if (lo === undefined) return `, at most ${hi}${unit}`;
  return `, ${lo} to ${hi}${unit}`;
}

function typeText(s: JsonSchema): string {
  if (s.anyOf) return [...new Set(s.anyOf.map(typeText))].join(', or ');
  if (s.enum) return `one of ${s.enum.map(String).join(', ')}`;
  if (s.const !== undefined) return JSON.stringify(s.const);
  switch (s.type) {
    case 'integer':
    case 'number':
      return `${s.type === 'integer' ? 'a whole number' : 'a number'}${
        s.exclusiveMinimum !== undefined && s.minimum === undefined ? ` above ${s.exclusiveMinimum}` : ''
      }${range(s.minimum, s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER ? s.maximum : undefined)}`;
    case 'boolean':
      return 'true or false';
    case 'string':
      return s.pattern ? `text matching ${s.pattern}` : 'text';
    case 'array':
      return `a list of ${s.items ? typeText(s.items) : 'values'}${range(s.minItems, s.maxItems, ' items')}`;
    case 'object':
      return s.properties ? 'an object' : 'a map';
    default:
      return 'a value';
  }
}

function walk(s: JsonSchema, path: string, required: boolean, out: Map<string, PolicyKey>): void {
  if (path && !out.has(path)) {
    out.set(path, {
      path,
      type: typeText(s),
      required,
      ...(s.default !== undefined ? { default: s.default } : {}),
      description: s.description ?? '',
    });
  }
  // A union of objects (the client certificate: pfx, or cert and key) lists the keys of every branch once.
  for (const branch of s.anyOf ?? []) walkChildren(branch, path, out);
  walkChildren(s, path, out);
}

function walkChildren(s: JsonSchema, path: string, out: Map<string, PolicyKey>): void {
  const at = (k: string) => (path ? `${path}.${k}` : k);
  for (const [k, child] of Object.entries(s.properties ?? {})) walk(child, at(k), (s.required ?? []).includes(k), out);
  if (typeof s.additionalProperties === 'object') walk(s.additionalProperties, at('*'), false, out);
  if (s.type === 'array' && s.items) walkChildren(s.items, `${path}[]`, out);
}

/** The keys of any zod object schema, under `prefix` (exported for the contract test's own drift check). */
export function schemaKeys(schema: z.ZodType, prefix = ''): PolicyKey[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const out = new Map<string, PolicyKey>();
  walk(json, prefix, false, out);
  return [...out.values()];
}

let cached: readonly PolicyKey[] | undefined;

/** The keys of a group policy document, the console-only `groupActions` last, each once. */
export function policyKeys(): readonly PolicyKey[] {
  cached ??= Object.freeze([...schemaKeys(policySchema), ...schemaKeys(groupActionsSchema, 'groupActions')]);
  return cached;
}
