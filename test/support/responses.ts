import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import express, { type Express, type Response } from 'express';

/**
 * Every JSON answer a test receives from a documented API route is checked against the schema the
 * OpenAPI document gives for that route and status, while the tests run: a response that drifts
 * from its documentation fails the test that received it (the root hook in hooks.ts), naming the
 * route and the first differences. Pages and routes without a JSON schema are not checked.
 */
type OpenApi = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: object }> }> }>>; components?: { schemas?: Record<string, object> } };

const documents = new WeakMap<Express, OpenApi>();
const validators = new WeakMap<object, ValidateFunction>();
const problems: string[] = [];

// Not the service's ajv: the published schemas use OpenAPI's vocabulary (and no private formats).
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);

/** The app's published document, read once per app (test/support/app.ts calls this). */
export function checkResponsesOf(app: Express, openapi: OpenApi): void {
  documents.set(app, openapi);
}

/** The document an app's answers are checked against (tests may change it to see a drift caught). */
export function responseDocument(app: Express): OpenApi | undefined {
  return documents.get(app);
}

/** The documented schema for one answer, or undefined when the route or status has none. */
export function documentedSchema(openapi: OpenApi, method: string, expressPath: string, status: number): object | undefined {
  const path = expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
  const responses = openapi.paths[path]?.[method.toLowerCase()]?.responses;
  const content = responses?.[String(status)]?.content;
  const schema = content?.['application/json']?.schema ?? content?.['application/problem+json']?.schema;
  if (schema && '$ref' in schema) return openapi.components?.schemas?.[String(schema.$ref).replace('#/components/schemas/', '')];
  return schema;
}

/** Differences between a body and its documented schema (empty when it matches). */
export function schemaProblems(schema: object, body: unknown): string[] {
  let validate = validators.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    validators.set(schema, validate);
  }
  if (validate(body)) return [];
  return (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '(body)'} ${e.message ?? e.keyword}`);
}

/** Problems seen since the last call, emptied (the root hook fails the test that caused them). */
export function takeResponseProblems(): string[] {
  return problems.splice(0);
}

const json = express.response.json;
express.response.json = function (this: Response, body?: unknown) {
  const openapi = documents.get(this.app as Express);
  const route = this.req.route as { path?: string } | undefined;
  if (openapi && typeof route?.path === 'string') {
    const schema = documentedSchema(openapi, this.req.method, route.path, this.statusCode);
    // The body as the client receives it (dates and ids as strings).
    const sent: unknown = body === undefined ? undefined : JSON.parse(JSON.stringify(body));
    const found = schema ? schemaProblems(schema, sent) : [];
    if (found.length) problems.push(`${this.req.method} ${route.path} ${this.statusCode} does not match its documented schema: ${found.join('; ')}`);
  }
  return json.call(this, body);
};
