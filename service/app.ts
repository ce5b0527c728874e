import crypto from 'node:crypto';
import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import swaggerUi from 'swagger-ui-express';
import { accountRoutes } from './accounts/accounts.routes';
import { applicationRoutes } from './applications/applications.routes';
import { catalogueRoutes } from './catalogue/catalogue.routes';
import { certificateRoutes } from './certificates/certificates.routes';
import { complaintRoutes } from './complaints/complaints.routes';
import { ratingRoutes } from './ratings/ratings.routes';
import { decisionRoutes } from './decisions/decisions.routes';
import { documentRoutes } from './documents/documents.routes';
import { reviewRoutes } from './review/review.routes';
import { statsRoutes } from './stats/stats.routes';
import type { AppContext } from './context';
import { eligibilityRoutes } from './eligibility/eligibility.routes';
import { familyRoutes } from './families/families.routes';
import { ledgerRoutes } from './ledger/ledger.routes';
import { errorHandler, unknownRoute } from './lib/errors';
import { redactUrl } from './lib/logger';
import { buildOpenApi } from './lib/openapi';
import { mountRoutes, type RouteDef } from './lib/routes';
import { systemRoutes } from './system/system.routes';
import { webLayer } from './web/web';

const VERSION = '0.1.0';

/** Every capability's routes, in one list: the OpenAPI document is generated from it. */
export function allRoutes(ctx: AppContext): RouteDef[] {
  return [
    ...systemRoutes(ctx),
    ...accountRoutes(ctx),
    ...catalogueRoutes(ctx),
    ...eligibilityRoutes(ctx),
    ...applicationRoutes(ctx),
    ...documentRoutes(ctx),
    ...reviewRoutes(ctx),
    ...familyRoutes(ctx),
    ...ledgerRoutes(ctx),
    ...certificateRoutes(ctx),
    ...decisionRoutes(ctx),
    ...complaintRoutes(ctx),
    ...ratingRoutes(ctx),
    ...statsRoutes(ctx),
  ];
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Builds the Express app from its dependencies; it never listens (server.ts does). */
export function createApp(ctx: AppContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', ctx.config.trustProxyHops > 0 ? ctx.config.trustProxyHops : false);
  app.set('query parser', 'simple');

  app.use(
    pinoHttp({
      logger: ctx.logger,
      genReqId: (req, res) => {
        const incoming = req.headers['x-request-id'];
        const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: redactUrl(req.url) }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
    }),
  );

  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          'default-src': ["'self'"],
          'script-src': ["'self'"],
          'style-src': ["'self'"],
          'img-src': ["'self'", 'data:'],
          'object-src': ["'none'"],
          'base-uri': ["'none'"],
          'frame-ancestors': ["'none'"],
          'form-action': ["'self'"],
        },
      },
      strictTransportSecurity: { maxAge: 31536000, includeSubDomains: true },
      referrerPolicy: { policy: 'no-referrer' },
      crossOriginResourcePolicy: { policy: 'same-origin' },
      frameguard: { action: 'deny' },
    }),
  );

  const routes = allRoutes(ctx);
  const openapi = buildOpenApi(routes, VERSION);
  const router = express.Router();
  mountRoutes(router, routes, ctx.authenticate);
  router.get('/openapi.json', (_req, res) => void res.json(openapi));
  // Swagger UI ships inline styles; only its pages get that allowance.
  const docsCsp: RequestHandler = (_req, res, next) => {
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    );
    next();
  };
  router.use('/docs', docsCsp, swaggerUi.serve, swaggerUi.setup(openapi, { customSiteTitle: 'FPC API' }));
  const web = webLayer(ctx);
  app.use(web.pages);
  app.use(router);
  app.use(web.notFound);

  app.use(unknownRoute);
  app.use(errorHandler(ctx.logger));
  return app;
}
