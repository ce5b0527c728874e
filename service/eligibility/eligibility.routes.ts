import type { AppContext } from '../context';
import { formInBody } from './eligibility.schemas';
import { AppError } from '../lib/errors';
import { languageOf } from '../lib/i18n';
import { limiter } from '../lib/ratelimit';
import type { RouteDef } from '../lib/routes';
import { todayInChina } from '../lib/workdays';
import { evaluateApplication } from './eligibility.service';

/**
 * A form in a request body, bounded before its type's form schema looks at it (which is as strict
 * for the public pre-check as for a submission): the same fragment everywhere a form is sent.
 */

const checkBody = {
  $id: 'urn:fpc:body:eligibility-check',
  type: 'object',
  additionalProperties: false,
  maxProperties: 2,
  required: ['form'],
  properties: {
    form: formInBody,
    asOf: {
      type: 'string',
      format: 'date',
      maxLength: 10,
      description: 'Judge under the rules in force on this past date (e.g. the date of a birth, for a late application); the answer says so. Default: today',
    },
  },
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
    asOf: { type: 'object', description: 'Present when a past date was asked for: the date and a label saying the answer is for that date, not today' },
  },
};

export const ELIGIBILITY_CHECKS_PER_MINUTE = 60;

export function eligibilityRoutes(ctx: AppContext): RouteDef[] {
  const perAddress = limiter({ name: 'eligibility-check', windowMs: 60_000, limit: ELIGIBILITY_CHECKS_PER_MINUTE }, ctx.counterStores);
  return [
    {
      method: 'post',
      path: '/api/v1/certificate-types/:code/eligibility-check',
      summary: 'Pre-check a form against the rules in force today, or on a past date (asOf); stores nothing',
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
          const asOf = req.body.asOf as string | undefined;
          const today = todayInChina(ctx.clock);
          if (asOf !== undefined && asOf > today) {
            throw new AppError('validation_failed', undefined, [
              { path: 'asOf', code: 'range', messages: { zh: '预审日期不能晚于今天', en: 'asOf cannot be after today' } },
            ]);
          }
          // Noon in China: the day asked for, whatever the server's time zone.
          const at = asOf === undefined ? ctx.clock.now() : new Date(`${asOf}T12:00:00+08:00`);
          const outcome = evaluateApplication(ctx.policy, String(req.params.code), req.body.form, at, lang);
          if (outcome.errors.length) {
            throw new AppError(
              'validation_failed',
              undefined,
              outcome.errors.map((e) => ({ path: e.path ? `form.${e.path}` : 'form', code: e.code, messages: e.messages })),
            );
          }
          res.setHeader('Cache-Control', 'no-store');
          res.setHeader('Content-Language', lang);
          if (asOf === undefined || asOf === today) {
            res.json(outcome);
            return;
          }
          const label = {
            zh: `历史日期预审：按 ${asOf} 施行的规则（${outcome.regime.name.zh}），不是今天施行的规则`,
            en: `Past-date pre-check: judged under the rules in force on ${asOf} (${outcome.regime.name.en}), not under today's`,
          };
          res.json({ ...outcome, asOf: { day: asOf, pastDate: true, label: label[lang], labels: label } });
        },
      ],
    },
  ];
}
