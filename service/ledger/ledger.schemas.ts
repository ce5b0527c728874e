import type { FromSchema } from 'json-schema-to-ts';
import { TYPE_CODE } from '../catalogue/catalogue';
import { DATE_PATTERN } from '../lib/workdays';


/** A body, not a query string: ID numbers and names never travel in a URL (logs, proxies, history). */
export const searchBody = {
  $id: 'urn:fpc:body:search',
  type: 'object',
  additionalProperties: false,
  maxProperties: 3,
  properties: {
    number: { type: 'string', minLength: 1, maxLength: 32, description: 'application number, e.g. 430725-2026-000123' },
    accessCode: { type: 'string', minLength: 1, maxLength: 16, description: 'the access code on the receipt' },
    idNumber: { type: 'string', maxLength: 18, description: "either spouse's ID number (looked up by keyed hash)" },
    name: { type: 'string', minLength: 1, maxLength: 40, description: 'a name as written; spaces and full-width letters do not matter' },
    match: { enum: ['exact', 'prefix'], description: 'for `name`: the whole name (default) or its beginning' },
    limit: { type: 'integer', minimum: 1, maximum: 100 },
  },
} as const;

/** An officer's search, as the body schema above admits it. */
export type SearchQuery = FromSchema<typeof searchBody>;

export const ledgerQuery = {
  $id: 'urn:fpc:query:ledger',
  type: 'object',
  additionalProperties: false,
  properties: {
    from: { type: 'string', pattern: DATE_PATTERN, description: 'first decision day (China calendar, included); default: the first of the month of `to`' },
    to: { type: 'string', pattern: DATE_PATTERN, description: 'last decision day (included); default: today in China' },
    type: TYPE_CODE,
    township: { type: 'string', pattern: '^\\d{9}$', description: 'township division code (9 digits), inside your jurisdiction' },
    outcome: { enum: ['approved', 'rejected'] },
    page: { type: 'string', pattern: '^[1-9]\\d{0,5}$' },
    pageSize: { type: 'string', pattern: '^([1-9]|[1-9]\\d|1\\d\\d|200)$', description: '1–200, default 50' },
    format: { enum: ['json', 'csv'], description: '`csv`: the whole period as a CSV download (also with Accept: text/csv)' },
  },
} as const;
