import type { AppContext } from '../context';
import { principalOf } from '../lib/auth';
import { limiter } from '../lib/ratelimit';
import type { RouteDef } from '../lib/routes';
import { REGISTRATION_ACCEPTED, registerApplicant, requestPhoneCode, resetPassword, signIn, signOut, terminalToken } from './accounts.service';
import { CODE_TTL_MS, RESEND_AFTER_MS } from './phone-codes';
import { loginBody, logoutBody, passwordResetBody, phoneCodeBody, registerBody, terminalBody } from './accounts.schemas';

/** The registration and reset pages (service/web) check the same bodies. */
export { passwordResetBody, phoneCodeBody, registerBody };

const accepted = { type: 'object', properties: { accepted: { const: true }, message: { type: 'object' } } };

const tokenResponse = {
  type: 'object',
  properties: {
    accessToken: { type: 'string' },
    tokenType: { const: 'Bearer' },
    expiresIn: { type: 'integer' },
    role: { enum: ['applicant', 'terminal', 'officer', 'admin'] },
  },
};

const FIFTEEN_MINUTES = 15 * 60 * 1000;

export function accountRoutes(ctx: AppContext): RouteDef[] {
  // Per address and login name: a mistyping neighbour at the same kiosk does not lock the village
  // out; per address overall: one address cannot guess through many accounts. No limit per login
  // name alone: it would let anyone lock a resident out by failing on purpose.
  const perAddressAndName = limiter({
    name: 'login',
    windowMs: FIFTEEN_MINUTES,
    limit: 10,
    keyOf: (req) => String(req.body?.idNumber ?? req.body?.username ?? req.body?.terminalId ?? ''),
  }, ctx.counterStores);
  const perAddress = limiter({ name: 'login-ip', windowMs: FIFTEEN_MINUTES, limit: 300 }, ctx.counterStores);
  const registerLimit = limiter({ name: 'register', windowMs: FIFTEEN_MINUTES, limit: 30 }, ctx.counterStores);
  // Per address; the per-number limit (one a minute, five an hour) lives with the codes themselves.
  const codeLimit = limiter({ name: 'phone-code', windowMs: FIFTEEN_MINUTES, limit: 30 }, ctx.counterStores);
  const resetLimit = limiter({ name: 'password-reset', windowMs: FIFTEEN_MINUTES, limit: 30 }, ctx.counterStores);

  return [
    {
      method: 'post',
      path: '/api/v1/auth/phone-code',
      summary: 'Send a one-time SMS code: to `phone` for registration, or to the phone on record of `idNumber` for a password reset (the answer is the same whether or not that account exists)',
      tags: ['accounts'],
      before: [codeLimit],
      body: phoneCodeBody,
      responses: {
        '202': { description: 'Code sent (valid 10 minutes, single use)', schema: { type: 'object', properties: { accepted: { const: true }, expiresIn: { type: 'integer' }, resendAfter: { type: 'integer' } } } },
        '429': { description: 'Too many codes for this number or address' },
      },
      handlers: [
        async (req, res) => {
          await requestPhoneCode(ctx, req.body);
          res.status(202).json({ accepted: true, expiresIn: CODE_TTL_MS / 1000, resendAfter: RESEND_AFTER_MS / 1000 });
        },
      ],
    },
    {
      method: 'post',
      path: '/api/v1/auth/register',
      summary: 'Register an applicant (resident) account with the code sent to the phone; the answer does not tell whether the ID number already had an account',
      tags: ['accounts'],
      before: [registerLimit],
      body: registerBody,
      responses: {
        '202': { description: 'Accepted: sign in with the ID number and password', schema: accepted },
        '400': { description: 'Invalid fields, or a wrong, used or expired code' },
      },
      handlers: [
        async (req, res) => {
          await registerApplicant(ctx, req.body);
          res.status(202).json({ accepted: true, message: REGISTRATION_ACCEPTED });
        },
      ],
    },
    {
      method: 'post',
      path: '/api/v1/auth/password-reset',
      summary: 'Set a new password with the code sent to the phone on record; every session of the account ends',
      tags: ['accounts'],
      before: [resetLimit],
      body: passwordResetBody,
      responses: { '204': { description: 'Password changed' }, '400': { description: 'Wrong, used or expired code' } },
      handlers: [
        async (req, res) => {
          await resetPassword(ctx, req.body);
          res.status(204).end();
        },
      ],
    },
    {
      method: 'post',
      path: '/api/v1/auth/login',
      summary: 'Sign in: applicants with ID number, officers and admins with user name',
      tags: ['accounts'],
      before: [perAddress],
      body: loginBody,
      responses: { '200': { description: 'Access token', schema: tokenResponse }, '401': { description: 'Wrong credentials' } },
      handlers: [
        perAddressAndName,
        async (req, res) => {
          res.setHeader('Cache-Control', 'no-store');
          res.json(await signIn(ctx, req.body));
        },
      ],
    },
    {
      method: 'post',
      path: '/api/v1/auth/logout',
      summary: 'Sign out: this token stops at once; `everywhere: true` stops every token of the account issued until now',
      tags: ['accounts'],
      auth: 'any',
      body: logoutBody,
      responses: { '204': { description: 'Signed out (Clear-Site-Data asks the browser to forget what it kept)' } },
      handlers: [
        async (req, res) => {
          await signOut(ctx, principalOf(req), req.body?.everywhere === true);
          res.setHeader('Clear-Site-Data', '"cache", "cookies", "storage"');
          res.status(204).end();
        },
      ],
    },
    {
      method: 'get',
      path: '/api/v1/auth/me',
      summary: 'Who the bearer token belongs to (role, name, level, jurisdiction or township)',
      tags: ['accounts'],
      auth: 'any',
      responses: { '200': { description: 'The signed-in caller' } },
      handlers: [
        (req, res) => {
          const { role, id, name, channel, level, jurisdiction, township } = principalOf(req);
          res.json({ role, id, name, channel, level, jurisdiction, township });
        },
      ],
    },
    {
      method: 'post',
      path: '/api/v1/auth/terminal-token',
      summary: 'Exchange a township terminal credential for a short-lived token',
      tags: ['accounts'],
      before: [perAddress],
      body: terminalBody,
      responses: { '200': { description: 'Access token', schema: tokenResponse }, '401': { description: 'Wrong credentials' } },
      handlers: [
        perAddressAndName,
        async (req, res) => {
          res.setHeader('Cache-Control', 'no-store');
          res.json(await terminalToken(ctx, req.body));
        },
      ],
    },
  ];
}
