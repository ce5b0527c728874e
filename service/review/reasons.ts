import fs from 'node:fs';
import path from 'node:path';
import type { Bilingual } from '../lib/i18n';
import { projectRoot } from '../lib/paths';
import { compile } from '../lib/validation';

/** Common reasons for a rejection, kept as data (`schemas/codes/reject-reasons.json`), checked at load. */
export interface RejectReason extends Bilingual {
  id: string;
}

const shape = {
  type: 'object',
  required: ['$id', 'reasons'],
  properties: {
    reasons: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'zh', 'en'],
        properties: { id: { type: 'string', pattern: '^[a-z][a-z0-9-]*$' }, zh: { type: 'string', minLength: 1, maxLength: 200 }, en: { type: 'string', minLength: 1, maxLength: 200 } },
      },
    },
  },
};

function load(): readonly RejectReason[] {
  const file = path.join(projectRoot(), 'schemas/codes/reject-reasons.json');
  const data = JSON.parse(fs.readFileSync(file, 'utf8')) as { reasons: RejectReason[] };
  const validate = compile(shape);
  if (!validate(data)) throw new Error(`${file}: ${JSON.stringify(validate.errors)}`);
  const ids = data.reasons.map((r) => r.id);
  if (new Set(ids).size !== ids.length) throw new Error(`${file}: reason ids repeat`);
  return Object.freeze(data.reasons);
}

export const REJECT_REASONS = load();

/**
 * The reason the decision records: a chosen common reason (its Chinese text, the notice's language),
 * the officer's own words, or the chosen reason with the officer's particulars after it.
 */
export function rejectReason(chosen: string | undefined, written: string | undefined): string | undefined {
  const common = REJECT_REASONS.find((r) => r.id === chosen)?.zh;
  if (common && written) return `${common}：${written}`;
  return common ?? written;
}
