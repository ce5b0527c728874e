import type { FromSchema } from 'json-schema-to-ts';

/** Request bodies of the ratings routes; the services take the types derived from them. */
export const ratingBody = {
  $id: 'urn:fpc:body:rating',
  type: 'object',
  additionalProperties: false,
  maxProperties: 2,
  required: ['score'],
  properties: {
    score: { type: 'integer', minimum: 1, maximum: 5, description: '1 非常不满意, 2 不满意, 3 基本满意, 4 满意, 5 非常满意' },
    comment: { type: 'string', minLength: 1, maxLength: 500, pattern: '\\S', description: 'optional' },
  },
} as const;

export type RatingInput = FromSchema<typeof ratingBody>;

export const followUpBody = {
  $id: 'urn:fpc:body:rating-follow-up',
  type: 'object',
  additionalProperties: false,
  maxProperties: 1,
  required: ['outcome'],
  properties: { outcome: { type: 'string', minLength: 1, maxLength: 2000, pattern: '\\S', description: 'what the follow-up found and what was put right' } },
} as const;

export type FollowUpInput = FromSchema<typeof followUpBody>;
