import type { AppContext } from '../context';
import { principalOf } from '../lib/auth';
import { limiter } from '../lib/ratelimit';
import type { RouteDef } from '../lib/routes';
import { registerApplicant, signIn, signOut, terminalToken } from './accounts.service';

const password = { type: 'string', minLength: 8, maxLength: 128 } as const;

/** Also the registration page's rules (service/web). */
export const registerBody = {
  $id: 'urn:fpc:body:register',
  type: 'object',
  additionalProperties: false,
  required: ['idNumber', 'name', 'phone', 'password'],
  properties: {
    idNumber: { type: 'string', format: 'cn-id-number', description: '18-character resident ID number (GB 11643-1999)' },
    name: { type: 'string', minLength: 1, maxLength: 40, pattern: '\\S', format: 'display-text' },
    phone: { type: 'string', format: 'cn-mobile' },
    password,
  },
};

const logoutBody = {
  $id: 'urn:fpc:body:logout',
  type: 'object',
  additionalProperties: false,
  properties: { everywhere: { type: 'boolean', description: 'Also end every other session of this account' } },
};

const loginBody = {
  $id: 'urn:fpc:body:login',
  type: 'object',
  additionalProperties: false,
  required: ['password'],
  properties: {
    idNumber: { type: 'string', maxLength: 18, description: 'applicants' },
    username: { type: 'string', maxLength: 40, description: 'officers and admins' },
    password: { type: 'string', minLength: 1, maxLength: 128 },
  },
};

const terminalBody = {
  $id: 'urn:fpc:body:terminal-token',
  type: 'object',
  additionalProperties: false,
  required: ['terminalId', 'secret'],
  properties: {
    terminalId: { type: 'string', minLength: 1, maxLength: 64 },
    secret: { type: 'string', minLength: 1, maxLength: 128 },
  },
};

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

  return [
    {
      method: 'post',
      path: '/api/v1/auth/register',
      summary: 'Register an applicant (resident) account',
      tags: ['accounts'],
      before: [registerLimit],
      body: registerBody,
      responses: {
        '201': { description: 'Registered', schema: { type: 'object' } },
        '409': { description: 'ID number already registered' },
      },
      handlers: [
        async (req, res) => {
          const account = await registerApplicant(ctx, req.body);
          res.status(201).json(account);
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
