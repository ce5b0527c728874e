import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { makeTestApp, type TestApp } from './support/app';
import { birthServiceForm } from './support/forms';

type Schema = Record<string, unknown>;

/** Every place in a schema that bounds work: objects, strings and arrays, with where they are. */
function unbounded(schema: Schema, at: string, out: string[]): string[] {
  const types = ([] as unknown[]).concat(schema.type ?? []);
  if ((types.includes('object') || schema.properties) && schema.maxProperties === undefined) out.push(`${at}: object without maxProperties`);
  if (types.includes('string') && schema.maxLength === undefined && schema.enum === undefined && schema.const === undefined) out.push(`${at}: string without maxLength`);
  if ((types.includes('array') || schema.items) && schema.maxItems === undefined) out.push(`${at}: array without maxItems`);
  for (const key of ['properties', '$defs'] as const) {
    for (const [name, sub] of Object.entries((schema[key] as Record<string, Schema> | undefined) ?? {})) unbounded(sub, `${at}/${key}/${name}`, out);
  }
  for (const key of ['items', 'not', 'if', 'then', 'else', 'additionalProperties'] as const) {
    const sub = schema[key];
    if (sub && typeof sub === 'object') unbounded(sub as Schema, `${at}/${key}`, out);
  }
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    ((schema[key] as Schema[] | undefined) ?? []).forEach((sub, i) => unbounded(sub, `${at}/${key}/${i}`, out));
  }
  return out;
}

/**
 * Objects are capped at 32 keys, above any form object's own, so that one stray key is reported once
 * (by additionalProperties) and a flood of keys hits the cap.
 */
describe('form schemas bound the work a request can cause', () => {
  const dir = path.join(__dirname, '../schemas/forms');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));

  it('when every form schema is walked, then each object has maxProperties, each string maxLength and each array maxItems', () => {
    assert.ok(files.length >= 5, 'the four forms and their common parts');
    const problems = files.flatMap((f) => unbounded(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Schema, f, []));
    assert.deepEqual(problems, []);
  });

  it('when the walker meets an unbounded object, string or array, then it names each (the check bites)', () => {
    const found = unbounded({ type: 'object', maxProperties: 2, properties: { a: { type: 'string' }, b: { type: 'array', items: { type: 'object', properties: {} } } } }, 'x', []);
    assert.deepEqual(found, ['x/properties/a: string without maxLength', 'x/properties/b: array without maxItems', 'x/properties/b/items: object without maxProperties']);
  });

  describe('over HTTP', () => {
    let t: TestApp;
    before(async () => {
      t = await makeTestApp();
    });
    after(() => t.close());

    it('when a form object carries 5,000 unknown keys, then 400 with maxProperties at that object', async () => {
      const form = birthServiceForm();
      form.husband = { ...(form.husband as object), ...Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i])) };
      const res = await request(t.app).post('/api/v1/certificate-types/birth-service/eligibility-check').send({ form }).expect(400);
      assert.ok(res.body.errors.some((e: { path: string; code: string }) => e.path === 'form.husband' && e.code === 'maxProperties'));
    });

    it('when a form field holds a 100 kB string where a date belongs, then 400 names the field and ajv never parses it as a date', async () => {
      const form = birthServiceForm();
      (form.marriage as Record<string, unknown>).date = '2'.repeat(100_000);
      const res = await request(t.app).post('/api/v1/certificate-types/birth-service/eligibility-check').send({ form }).expect(400);
      assert.ok(res.body.errors.some((e: { path: string; code: string }) => e.path === 'form.marriage.date' && e.code === 'maxLength'));
    });
  });
});
