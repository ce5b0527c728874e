import type { AppContext } from '../context';
import { TYPE_CODE } from './catalogue';
import { languageOf } from '../lib/i18n';
import type { RouteDef } from '../lib/routes';
import { listCertificateTypes, serviceGuide } from './catalogue.service';

export function catalogueRoutes(ctx: AppContext): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/api/v1/certificate-types',
      summary: 'The four certificate types with their documents, stages, time limits and fee',
      tags: ['catalogue'],
      responses: { '200': { description: 'The catalogue', schema: { type: 'object', properties: { items: { type: 'array' } } } } },
      handlers: [
        (req, res) => {
          const lang = languageOf(req);
          res.setHeader('Content-Language', lang);
          res.setHeader('Vary', 'Accept-Language');
          res.json(listCertificateTypes(ctx.policy, lang));
        },
      ],
    },
    {
      method: 'get',
      path: '/api/v1/certificate-types/:code',
      summary: 'Service guide: conditions under the rules in force today, documents, steps, time limits, fee',
      tags: ['catalogue'],
      responses: {
        '200': {
          description: 'The service guide',
          schema: {
            type: 'object',
            required: ['code', 'name', 'names', 'legalBasis', 'steps', 'form', 'conditions'],
            properties: { code: TYPE_CODE, name: { type: 'string' }, names: { type: 'object', required: ['zh', 'en'] }, steps: { type: 'array' }, form: { type: 'string', description: 'the form schema’s id' }, conditions: { type: ['object', 'null'] } },
          },
        }, '404': { description: 'No such certificate type' } },
      handlers: [
        (req, res) => {
          const lang = languageOf(req);
          res.setHeader('Content-Language', lang);
          res.setHeader('Vary', 'Accept-Language');
          res.json(serviceGuide(ctx.policy, String(req.params.code), ctx.clock.now(), lang));
        },
      ],
    },
  ];
}
