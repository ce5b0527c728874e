import type { FromSchema } from 'json-schema-to-ts';
import { TYPE_CODE } from '../catalogue/catalogue';
import { formInBody } from '../eligibility/eligibility.schemas';
import { STATUSES } from './workflow';

/**
 * The published shapes of what the application routes answer (OpenAPI; the tests check every
 * answer they receive against them, test/support/responses.ts). Optional fields are left out of
 * `required`: a field that is `undefined` is not sent.
 */
const id = { type: 'string', pattern: '^[0-9a-f]{24}$' } as const;
const text = { type: 'string' } as const;
const orNull = (type: string) => ({ type: [type, 'null'] }) as const;
const time = { type: 'string', format: 'date-time' } as const;
const timeOrNull = { type: ['string', 'null'], format: 'date-time' } as const;
const bilingual = { type: 'object', required: ['zh', 'en'], properties: { zh: text, en: text } } as const;

export const applicationView = {
  type: 'object',
  required: ['id', 'number', 'type', 'status', 'channel', 'resident', 'division', 'stage', 'stages', 'claim', 'missing', 'missingDocuments', 'decision', 'certificateSerial', 'documents', 'submittedAt', 'decidedAt', 'createdAt', 'updatedAt'],
  properties: {
    id,
    number: orNull('string'),
    accessCode: { type: 'string', description: 'The applicant (or the kiosk that filed) only' },
    type: TYPE_CODE,
    status: { enum: [...STATUSES] },
    channel: { enum: ['online', 'terminal', 'staff'] },
    resident: { type: 'object', required: ['name', 'idNumber'], properties: { name: text, idNumber: text } },
    terminal: { type: 'object', required: ['terminalId', 'township'], properties: { terminalId: text, township: text, operatorName: text, consent: { type: 'object' } } },
    form: { type: 'object', description: 'Staff see ID numbers masked; a terminal listing none' },
    division: orNull('string'),
    ruleSetVersion: orNull('string'),
    ground: { description: 'The eligibility ground the submission met, or null' },
    stage: { type: ['object', 'null'], properties: { index: { type: 'integer' }, id: text, level: { enum: ['township', 'county'] } } },
    stages: { type: 'array', items: { type: 'object', required: ['id', 'level'], properties: { id: text, level: { enum: ['township', 'county'] } } } },
    deadlineProvisional: { type: 'boolean' },
    caseDeadline: { type: ['string', 'null'], format: 'date' },
    claim: { type: ['object', 'null'], required: ['until'], properties: { officerId: text, officerName: text, role: { const: 'officer' }, until: time } },
    missing: { type: 'array', items: text },
    missingDocuments: { type: 'array', items: { type: 'object', required: ['kind', 'name'], properties: { kind: text, name: bilingual } } },
    decision: { type: ['object', 'null'], required: ['action', 'at', 'by'], properties: { action: text, reason: orNull('string'), at: time, by: { type: 'object' } } },
    certificateSerial: orNull('string'),
    documents: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'kind', 'fileName', 'mime', 'size', 'sha256', 'uploadedAt'],
        properties: { id: text, kind: text, fileName: text, mime: text, size: { type: 'integer' }, sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' }, uploadedAt: time },
      },
    },
    familyFlags: { type: 'array', description: 'Staff only: where the couple’s declarations across their cases disagree' },
    submittedAt: timeOrNull,
    decidedAt: timeOrNull,
    createdAt: time,
    updatedAt: time,
  },
} as const;

export const applicationPage = {
  type: 'object',
  required: ['items', 'next'],
  properties: { items: { type: 'array', items: applicationView }, next: { type: ['string', 'null'], description: 'cursor for `before`' } },
} as const;

export const historyPage = {
  type: 'object',
  required: ['id', 'number', 'items'],
  properties: {
    id,
    number: orNull('string'),
    items: {
      type: 'array',
      items: { type: 'object', required: ['at', 'actor', 'action'], properties: { at: time, actor: { type: 'object', required: ['role'], properties: { role: text } }, action: text, from: orNull('string'), to: text, reason: text } },
    },
  },
} as const;

export const accessLogPage = {
  type: 'object',
  required: ['id', 'number', 'items'],
  properties: { id, number: orNull('string'), items: { type: 'array', items: { type: 'object', required: ['at'], properties: { at: time } } } },
} as const;

export const publicStatusView = {
  type: 'object',
  required: ['number', 'type', 'status', 'resident'],
  properties: {
    number: text,
    type: TYPE_CODE,
    typeName: bilingual,
    status: { enum: [...STATUSES] },
    resident: { type: 'string', description: 'masked name' },
    stage: { type: 'object', required: ['id', 'level'], properties: { id: text, level: text, name: bilingual, committedDeadline: { type: 'string', format: 'date' }, provisional: { type: 'boolean' } } },
    caseDeadline: { type: 'string', format: 'date' },
    submittedAt: time,
    decidedAt: time,
    certificateSerial: text,
    certificateStatus: { enum: ['valid', 'revoked', 'expired'] },
  },
} as const;

/** A new draft (POST /api/v1/applications); `CreateInput` is its type. */
export const createBody = {
  $id: 'urn:fpc:body:create-application',
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: TYPE_CODE,
    form: formInBody,
    resident: {
      type: 'object',
      description: 'Terminals only: the resident the kiosk files for',
      additionalProperties: false,
      required: ['idNumber', 'name'],
      properties: { idNumber: { type: 'string', maxLength: 18 }, name: { type: 'string', minLength: 1, maxLength: 40, pattern: '\\S', format: 'display-text' } },
    },
    operatorName: { type: 'string', minLength: 1, maxLength: 40, pattern: '\\S', format: 'display-text', description: 'Terminals only: the staff member at the kiosk' },
    consent: {
      type: 'object',
      description: "Terminals only: how the resident consented to the kiosk filing on their behalf",
      additionalProperties: false,
      required: ['given', 'method'],
      properties: {
        given: { const: true },
        method: { enum: ['signature', 'fingerprint', 'paper-form', 'verbal-witnessed'] },
        reference: { type: 'string', maxLength: 80, description: 'e.g. the number of the signed paper consent form' },
      },
    },
  },
} as const;

export type CreateInput = FromSchema<typeof createBody>;

/** Also the case query page's rules (service/web). */
export const statusBody = {
  $id: 'urn:fpc:body:status',
  type: 'object',
  additionalProperties: false,
  required: ['number'],
  oneOf: [{ required: ['idNumber'] }, { required: ['accessCode'] }],
  properties: {
    number: { type: 'string', pattern: '^\\d{6}-\\d{4}-\\d{6}$', description: 'Application number, e.g. 430725-2026-000123' },
    idNumber: { type: 'string', maxLength: 18, description: 'ID number of the resident the application was filed for' },
    accessCode: { type: 'string', maxLength: 12, description: 'The access code on the receipt or confirmation, e.g. K7M3-Q9TD' },
  },
} as const;

export type StatusQuery = FromSchema<typeof statusBody>;
