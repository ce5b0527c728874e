import type { SchemaObject } from 'ajv';
import type { RouteDef } from './routes';

const problem = {
  type: 'object',
  description: 'RFC 9457 problem details',
  required: ['type', 'title', 'status', 'code'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    code: { type: 'string' },
    detail: { type: 'string' },
    message: { type: 'object', properties: { zh: { type: 'string' }, en: { type: 'string' } } },
    instance: { type: 'string' },
    requestId: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', properties: { path: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' } } },
    },
  },
};

/** JSON Schema for OpenAPI 3.1: our private $id and format names are dropped from copies. */
function publish(schema: SchemaObject): SchemaObject {
  const { $id: _id, ...rest } = schema;
  return rest;
}

export const toOpenApiPath = (expressPath: string): string => expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

export function buildOpenApi(defs: RouteDef[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const def of defs) {
    const p = toOpenApiPath(def.path);
    const params = [...def.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const queryParams = Object.entries((def.query?.properties ?? {}) as Record<string, SchemaObject>).map(([name, schema]) => ({
      name,
      in: 'query',
      required: ((def.query?.required ?? []) as string[]).includes(name),
      schema,
    }));
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(def.responses)) {
      responses[status] = {
        description: r.description,
        ...(r.schema || r.contentType ? { content: { [r.contentType ?? 'application/json']: { schema: r.schema ?? {} } } } : {}),
      };
    }
    responses.default = { description: 'Problem', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
    paths[p] ??= {};
    paths[p]![def.method] = {
      summary: def.summary,
      tags: def.tags,
      ...(params.length + queryParams.length ? { parameters: [...params, ...queryParams] } : {}),
      ...(def.body ? { requestBody: { required: true, content: { 'application/json': { schema: publish(def.body) } } } } : {}),
      ...(def.rawBody ? { requestBody: { required: true, content: { [def.rawBody.contentType]: { schema: def.rawBody.schema } } } } : {}),
      ...(def.auth ? { security: [{ bearer: [] }] } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Family-planning certificate service (计划生育证件网上办理)',
      version,
      description:
        'Residents apply online for the four family-planning certificates of a county bureau; township terminals file on their behalf; officers decide; certificates verify by QR code.',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { Problem: problem },
    },
    paths,
  };
}
