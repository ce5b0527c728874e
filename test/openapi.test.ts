import assert from 'node:assert/strict';
import type { Express } from 'express';
import request from 'supertest';
import { toOpenApiPath } from '../service/lib/openapi';
import { makeTestApp, type TestApp } from './support/app';
import { responseDocument, takeResponseProblems } from './support/responses';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every method + path Express actually serves, read from its router (not from our route list). */
function servedRoutes(app: Express): string[] {
  const found: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const [method, on] of Object.entries(layer.route.methods)) {
          if (on && method !== '_all') found.push(`${method} ${layer.route.path}`);
        }
      } else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return found;
}

describe('OpenAPI document', () => {
  let t: TestApp;
  before(async () => {
    t = await makeTestApp();
  });
  after(() => t.close());

  it('when any route is served, then the document describes it (and nothing that is not served)', async () => {
    const doc = (await request(t.app).get('/openapi.json').expect(200)).body;
    assert.equal(doc.openapi, '3.1.0');
    // Pages for people (service/web) are not part of the API document; everything the API serves is.
    const api = / \/(api|v|healthz|readyz|\.well-known)(\/|$)/;
    const served = servedRoutes(t.app).filter((r) => !r.endsWith(' /openapi.json') && api.test(r));
    assert.ok(served.length >= 6);
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m} ${p}`),
    );
    const missing = served.map((r) => r.replace(/ (.*)$/, (_m, p: string) => ` ${toOpenApiPath(p)}`)).filter((r) => !documented.includes(r));
    assert.deepEqual(missing, [], 'routes served but not documented');
    for (const r of documented) assert.ok(served.some((s) => s.replace(/ (.*)$/, (_m, p: string) => ` ${toOpenApiPath(p)}`) === r), `documented but not served: ${r}`);
  });

  it('when a route takes a body, then its schema is published', async () => {
    const doc = (await request(t.app).get('/openapi.json').expect(200)).body;
    const schema = doc.paths['/api/v1/auth/register'].post.requestBody.content['application/json'].schema;
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(schema.required.sort(), ['code', 'idNumber', 'name', 'password', 'phone']);
  });

  it('when a route answers JSON, then the document gives that answer a real schema (not a bare object)', async () => {
    const doc = (await request(t.app).get('/openapi.json').expect(200)).body as {
      paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }> }>>;
    };
    const bare: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const [status, response] of Object.entries(op.responses)) {
          const schema = response.content?.['application/json']?.schema;
          if (!response.content?.['application/json']) continue;
          const described = schema && (schema.properties || schema.items || schema.enum || schema.const !== undefined || schema.oneOf || schema.anyOf);
          if (!described) bare.push(`${method} ${path} ${status}`);
        }
      }
    }
    assert.deepEqual(bare, []);
  });

  it('when an answer drifts from its documented schema, then the test that received it is told which route and field', async () => {
    const doc = responseDocument(t.app);
    assert.ok(doc, 'makeTestApp registers the document');
    await request(t.app).get('/api/v1/certificate-types/birth-service').expect(200);
    assert.deepEqual(takeResponseProblems(), [], 'the guide matches its schema as published');
    // Change the published schema the way a drift would: the document names a field the answer lacks.
    const content = doc.paths['/api/v1/certificate-types/{code}']!.get!.responses['200']!.content!['application/json']!;
    const published = content.schema as { required: string[] };
    content.schema = { ...published, required: [...published.required, 'serviceCode'] };
    try {
      await request(t.app).get('/api/v1/certificate-types/birth-service').expect(200);
      const problems = takeResponseProblems();
      assert.equal(problems.length, 1);
      assert.match(problems[0]!, /^GET \/api\/v1\/certificate-types\/:code 200 does not match its documented schema: .*serviceCode/);
    } finally {
      content.schema = published;
    }
  });

  it('serves browsable docs at /docs', async () => {
    const res = await request(t.app).get('/docs/').expect(200);
    assert.match(res.text, /swagger-ui/i);
  });
});
