import type { AppContext } from '../context';
import { AppError } from '../lib/errors';
import { languageOf } from '../lib/i18n';
import { limiter } from '../lib/ratelimit';
import type { RouteDef } from '../lib/routes';
import { evaluateApplication } from './eligibility.service';

/**
 * A form in a request body, bounded before its type's form schema looks at it (which is as strict
 * for the public pre-check as for a submission): the same fragment everywhere a form is sent.
 */
export const formInBody = {
  type: 'object',
  maxProperties: 30,
  description: "The application form of this type (see the type's form schema in the service guide)",
} as const;

const checkBody = {
  $id: 'urn:fpc:body:eligibility-check',
  type: 'object',
  additionalProperties: false,
  required: ['form'],
  properties: { form: formInBody },
};

const result = {
  type: 'object',
  properties: {
    eligible: { type: 'boolean' },
    type: { type: 'string' },
    regime: { type: 'object' },
    grounds: {
      type: 'array',
      items: {
        type: 'object',
        properties: { id: { type: 'string' }, kind: { enum: ['requirement', 'ground'] }, met: { type: 'boolean' }, citation: { type: 'string' }, message: { type: 'string' } },
      },
    },
    errors: { type: 'array' },
    requiredDocuments: { type: 'array' },
    ground: { type: 'string' },
    notice: { type: 'object' },
  },
};

export const ELIGIBILITY_CHECKS_PER_MINUTE = 60;

export function eligibilityRoutes(ctx: AppContext): RouteDef[] {
  const perAddress = limiter({ name: 'eligibility-check', windowMs: 60_000, limit: ELIGIBILITY_CHECKS_PER_MINUTE }, ctx.counterStores);
  return [
    {
      method: 'post',
      path: '/api/v1/certificate-types/:code/eligibility-check',
      summary: 'Pre-check a form against the rules in force today; stores nothing',
      tags: ['catalogue'],
      before: [perAddress],
      body: checkBody,
      responses: {
        '200': { description: 'The eligibility result (eligible or not, with each ground)', schema: result },
        '400': { description: 'The form has invalid fields; each is named under errors[] as form.<path>' },
        '404': { description: 'No such certificate type' },
      },
      handlers: [
        (req, res) => {
          const lang = languageOf(req);
          const outcome = evaluateApplication(ctx.policy, String(req.params.code), req.body.form, ctx.clock.now(), lang);
          if (outcome.errors.length) {
            throw new AppError(
              'validation_failed',
              undefined,
              outcome.errors.map((e) => ({ path: e.path ? `form.${e.path}` : 'form', code: e.code, messages: e.messages })),
            );
          }
          res.setHeader('Cache-Control', 'no-store');
          res.setHeader('Content-Language', lang);
          res.json(outcome);
        },
      ],
    },
  ];
}
