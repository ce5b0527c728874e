import express, { type RequestHandler, type Router } from 'express';
import type { SchemaObject } from 'ajv';
import { requireRight, type Authenticator, type Right } from './auth';
import { AppError } from './errors';
import { validateBody, validateQuery } from './validation';

export type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';

/**
 * One route: its handlers and its description in the OpenAPI document, side by side, so that the
 * document cannot drift from what is served.
 */
export interface RouteDef {
  method: Method;
  /** Express path, e.g. /api/v1/applications/:id */
  path: string;
  summary: string;
  tags: string[];
  /** Middleware run before body parsing and validation (authentication, rate limits). */
  before?: RequestHandler[];
  /** JSON request body schema (validated; also published). */
  body?: SchemaObject;
  /** Query string schema (validated; also published). */
  query?: SchemaObject;
  /** The body is not JSON (multipart uploads); the route parses it itself. */
  rawBody?: { contentType: string; schema: SchemaObject };
  /** The right a bearer token must carry (`any`: any signed-in caller); absent: public. */
  auth?: Right | 'any';
  responses: Record<string, { description: string; contentType?: string; schema?: SchemaObject }>;
  handlers: RequestHandler[];
}

const jsonParser = express.json({ limit: '100kb', type: 'application/json' });

const requireJson: RequestHandler = (req, _res, next) => {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !req.is('application/json')) {
    throw new AppError('unsupported_media_type', {
      zh: '请求内容应为 application/json',
      en: 'The request body must be application/json',
    });
  }
  next();
};

/** Mounts the routes on one router; every path also answers other methods with 405 and Allow. */
export function mountRoutes(router: Router, defs: RouteDef[], authenticate: Authenticator): void {
  const byPath = new Map<string, RouteDef[]>();
  for (const def of defs) byPath.set(def.path, [...(byPath.get(def.path) ?? []), def]);
  for (const [path, group] of byPath) {
    const route = router.route(path);
    for (const def of group) {
      const chain: RequestHandler[] = [...(def.before ?? [])];
      if (def.auth) chain.push(requireRight(authenticate, def.auth));
      if (def.body) chain.push(requireJson, jsonParser, validateBody(def.body));
      if (def.query) chain.push(validateQuery(def.query));
      route[def.method](...chain, ...def.handlers);
    }
    const allow = [...new Set(group.map((d) => d.method.toUpperCase()).flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m])))].join(', ');
    route.all(() => {
      throw new AppError('method_not_allowed', undefined, undefined, { allow });
    });
  }
}
