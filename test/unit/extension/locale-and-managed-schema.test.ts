import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { capturePolicySchema, pendingVerdictPolicySchema } from '@sandgate/shared';
import { MESSAGE_KEYS } from '../../../extension/utils/i18n.ts';
import { ADMIN_TEXT, managedStorageSchema, renderManagedSchema, toManagedSchema } from '../../../scripts/managed-schema.ts';
import { loadMessages } from './helpers/translate.ts';

const managedSchemaText = readFileSync(new URL('../../../extension/public/managed-schema.json', import.meta.url), 'utf8');
const managedSchema: unknown = JSON.parse(managedSchemaText);

const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);
const KEYWORDS = new Set(['type', 'enum', 'properties', 'items', 'additionalProperties', 'id', '$ref', 'title', 'description']);

/** Chromium's managed_schema rules (a draft-03 subset): an invalid schema makes the extension fail to load. */
function chromeSchemaProblems(schema: unknown, where: string, top: boolean): string[] {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return [`${where}: not an object`];
  const s = new Map(Object.entries(schema));
  const problems: string[] = [];
  for (const key of s.keys()) if (!KEYWORDS.has(key)) problems.push(`${where}: keyword ${key} is not supported`);
  const type = s.get('type');
  if (!s.has('$ref') && (typeof type !== 'string' || !TYPES.has(type))) problems.push(`${where}: needs exactly one type`);
  if (top && (type !== 'object' || s.has('additionalProperties')))
    problems.push(`${where}: top level must be an object without additionalProperties`);
  const props = s.get('properties');
  if (props !== undefined) {
    if (type !== 'object' || typeof props !== 'object' || props === null) problems.push(`${where}: properties on a non-object`);
    else for (const [k, v] of Object.entries(props)) problems.push(...chromeSchemaProblems(v, `${where}.${k}`, false));
  }
  if (s.has('items')) problems.push(...chromeSchemaProblems(s.get('items'), `${where}[]`, false));
  if (type === 'array' && !s.has('items')) problems.push(`${where}: array without items`);
  const extra = s.get('additionalProperties');
  if (extra !== undefined) problems.push(...chromeSchemaProblems(extra, `${where}.*`, false));
  const values = s.get('enum');
  if (
    values !== undefined &&
    (!Array.isArray(values) || values.length === 0 || !values.every((v) => (type === 'integer' ? Number.isInteger(v) : typeof v === type)))
  ) {
    problems.push(`${where}: enum must list values of its own type`);
  }
  return problems;
}

describe('message file', () => {
  it('has every message the code uses, and nothing the code does not', () => {
    expect(Object.keys(loadMessages()).sort()).toEqual([...MESSAGE_KEYS].sort());
  });

  it('declares every $PLACEHOLDER$ it uses', () => {
    for (const [key, entry] of Object.entries(loadMessages())) {
      for (const [, name] of entry.message.matchAll(/\$([A-Za-z0-9_]+)\$/g)) {
        expect(entry.placeholders?.[name!.toLowerCase()], `${key} uses $${name}$`).toBeDefined();
      }
    }
  });
});

describe('managed-storage schema', () => {
  it('is exactly what scripts/managed-schema.ts generates from the shared policy schema (regenerate with `npx node scripts/managed-schema.ts`)', () => {
    expect(managedSchemaText).toBe(renderManagedSchema());
  });

  it('gives administrators a title for every key, and lists the allowed words where the policy has a closed set', () => {
    const titled: string[] = [];
    const walk = (node: ReturnType<typeof managedStorageSchema>, path: string): void => {
      for (const [k, v] of Object.entries(node.properties ?? {})) {
        const p = path ? `${path}.${k}` : k;
        expect(v.title, p).toBeTruthy();
        titled.push(p);
        walk(v, p);
      }
    };
    const generated = managedStorageSchema();
    walk(generated, '');
    expect(titled.sort()).toEqual(Object.keys(ADMIN_TEXT).sort());
    const pending = generated.properties?.['capture']?.properties?.['pendingVerdict']?.properties;
    expect(pending?.['default']?.enum).toEqual(pendingVerdictPolicySchema.shape.default.unwrap().options);
    expect(pending?.['onUnavailable']?.enum).toEqual(pendingVerdictPolicySchema.shape.onUnavailable.unwrap().options);
    expect(pending?.['byExtension']?.additionalProperties?.enum).toEqual(['allow', 'hold']);
  });

  it('is the subset of JSON Schema Chromium accepts', () => {
    expect(chromeSchemaProblems(managedSchema, 'schema', true)).toEqual([]);
  });

  it('describes the same capture keys as the shared policy schema', () => {
    const shape = z.object({ properties: z.object({ capture: z.object({ properties: z.record(z.string(), z.unknown()) }) }) });
    const capture = shape.parse(managedSchema).properties.capture.properties;
    expect(Object.keys(capture).sort()).toEqual(Object.keys(capturePolicySchema.shape).sort());
    for (const key of ['fileExtensions', 'mimeTypes']) expect(capture[key]).toMatchObject({ type: 'array', items: { type: 'string' } });
    const pending = z.object({ properties: z.record(z.string(), z.unknown()) }).parse(capture['pendingVerdict']).properties;
    expect(Object.keys(pending).sort()).toEqual(Object.keys(pendingVerdictPolicySchema.shape).sort());
    expect(pending['byExtension']).toMatchObject({ type: 'object', additionalProperties: { type: 'string' } });
  });

  it('cannot drift silently: a new policy key without words for administrators, a stale title or a shape Chromium cannot express stops the generator', () => {
    const capture = z.strictObject({ fileExtensions: z.array(z.string()).optional() });
    const text = { capture: { title: 'Capture' }, 'capture.fileExtensions': { title: 'Extensions' } };
    expect(toManagedSchema(z.strictObject({ capture }), text).properties?.['capture']?.properties?.['fileExtensions']).toEqual({
      title: 'Extensions',
      type: 'array',
      items: { type: 'string' },
    });
    expect(() => toManagedSchema(z.strictObject({ capture: capture.extend({ blockAll: z.boolean().optional() }) }), text)).toThrow(
      /capture\.blockAll: no title/,
    );
    expect(() => toManagedSchema(z.strictObject({ capture: z.strictObject({}) }), text)).toThrow(/capture\.fileExtensions/);
    const union = z.strictObject({ capture: capture.extend({ limit: z.union([z.string(), z.number()]).optional() }) });
    expect(() => toManagedSchema(union, { ...text, 'capture.limit': { title: 'Limit' } })).toThrow(/capture\.limit/);
  });

  it('accepts every value of the shared pending-verdict policy (Chromium keeps only what the schema types allow)', () => {
    const sample = { default: 'hold', byExtension: { exe: 'hold', pdf: 'allow' }, onUnavailable: 'release' };
    expect(pendingVerdictPolicySchema.parse(sample)).toEqual(sample);
    expect(pendingVerdictPolicySchema.safeParse({ default: 'block' }).success).toBe(false);
  });
});
