import type { FromSchema } from 'json-schema-to-ts';

/** Also the decision forms' rules on the officer pages (web/officer.tsx). */
export const decisionBody = {
  $id: 'urn:fpc:body:decision',
  type: 'object',
  additionalProperties: false,
  required: ['action'],
  properties: {
    action: { enum: ['approve', 'return', 'reject'] },
    reason: { type: 'string', minLength: 1, maxLength: 1000, pattern: '\\S' },
    missing: {
      type: 'array',
      minItems: 1,
      maxItems: 30,
      uniqueItems: true,
      items: { type: 'string', maxLength: 40, pattern: '^[a-z][a-z0-9-]*$' },
      description: "return: the document kinds of the type's catalogue to replace or add, stated once and completely (the reason says what is wrong with them)",
    },
  },
  allOf: [
    { if: { properties: { action: { const: 'reject' } } }, then: { required: ['reason'] } },
    { if: { properties: { action: { const: 'return' } } }, then: { required: ['reason', 'missing'] } },
  ],
} as const;

export type DecisionInput = FromSchema<typeof decisionBody>;
