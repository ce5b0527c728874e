import type { FromSchema } from 'json-schema-to-ts';

/** Why a certificate is revoked: a closed list, in the order the forms list it. */
const REVOKE_REASON_CODES = ['fraud', 'decision-error', 'superseded', 'other'] as const;
export type RevokeReason = (typeof REVOKE_REASON_CODES)[number];

/** Each reason with its legal footing. */
export const REVOKE_REASONS = {
  fraud: { zh: '以欺骗等不正当手段取得（《行政许可法》第六十九条第二款）', en: 'Obtained by deception or other improper means (Administrative Licensing Law art. 69(2))' },
  'decision-error': { zh: '审批决定错误（《行政许可法》第六十九条第一款）', en: 'The decision was wrong (Administrative Licensing Law art. 69(1))' },
  superseded: { zh: '已被新的证件取代', en: 'Superseded by a later certificate' },
  other: { zh: '其他原因', en: 'Other reason' },
} as const satisfies Record<RevokeReason, { zh: string; en: string }>;

export const revokeBody = {
  $id: 'urn:fpc:body:revoke',
  type: 'object',
  additionalProperties: false,
  maxProperties: 2,
  required: ['reason'],
  properties: {
    reason: { enum: REVOKE_REASON_CODES, description: 'fraud: obtained by deception; decision-error: the decision was wrong; superseded: replaced by a later certificate; other: say why in text' },
    text: { type: 'string', minLength: 2, maxLength: 500, pattern: '\\S', description: 'the particulars; required for other' },
  },
  if: { properties: { reason: { const: 'other' } } },
  then: { required: ['text'] },
} as const;

export type RevokeInput = FromSchema<typeof revokeBody>;
