import type { FromSchema } from 'json-schema-to-ts';

/** Request bodies of the sign-in and registration routes; the services take the types derived from them. */
const password = { type: 'string', minLength: 8, maxLength: 128 } as const;

const code = { type: 'string', pattern: '^\\s*\\d{6}\\s*$', maxLength: 12, description: 'the six-digit code sent by SMS' } as const;

/** Also the registration page's rules (service/web). */
export const registerBody = {
  $id: 'urn:fpc:body:register',
  type: 'object',
  additionalProperties: false,
  required: ['idNumber', 'name', 'phone', 'password', 'code'],
  properties: {
    idNumber: { type: 'string', format: 'cn-id-number', description: '18-character resident ID number (GB 11643-1999)' },
    name: { type: 'string', minLength: 1, maxLength: 40, pattern: '\\S', format: 'display-text' },
    phone: { type: 'string', format: 'cn-mobile' },
    password,
    code,
  },
} as const;

/** Also the password-reset page's rules (service/web). */
export const phoneCodeBody = {
  $id: 'urn:fpc:body:phone-code',
  type: 'object',
  additionalProperties: false,
  required: ['purpose'],
  properties: {
    purpose: { enum: ['register', 'reset'], description: '`register`: give `phone`; `reset`: give `idNumber` (the code goes to the phone on record)' },
    phone: { type: 'string', format: 'cn-mobile' },
    idNumber: { type: 'string', maxLength: 18 },
  },
} as const;

export const passwordResetBody = {
  $id: 'urn:fpc:body:password-reset',
  type: 'object',
  additionalProperties: false,
  required: ['idNumber', 'code', 'password'],
  properties: { idNumber: { type: 'string', maxLength: 18 }, code, password },
} as const;

export const logoutBody = {
  $id: 'urn:fpc:body:logout',
  type: 'object',
  additionalProperties: false,
  properties: { everywhere: { type: 'boolean', description: 'Also end every other session of this account' } },
} as const;

export const loginBody = {
  $id: 'urn:fpc:body:login',
  type: 'object',
  additionalProperties: false,
  required: ['password'],
  properties: {
    idNumber: { type: 'string', maxLength: 18, description: 'applicants' },
    username: { type: 'string', maxLength: 40, description: 'officers and admins' },
    password: { type: 'string', minLength: 1, maxLength: 128 },
  },
} as const;

export const terminalBody = {
  $id: 'urn:fpc:body:terminal-token',
  type: 'object',
  additionalProperties: false,
  required: ['terminalId', 'secret'],
  properties: {
    terminalId: { type: 'string', minLength: 1, maxLength: 64 },
    secret: { type: 'string', minLength: 1, maxLength: 128 },
  },
} as const;

export type RegisterInput = FromSchema<typeof registerBody>;
export type PhoneCodeInput = FromSchema<typeof phoneCodeBody>;
export type PasswordResetInput = FromSchema<typeof passwordResetBody>;
export type LoginInput = FromSchema<typeof loginBody>;
export type TerminalTokenInput = FromSchema<typeof terminalBody>;
