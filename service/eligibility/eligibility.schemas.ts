/** An application form inside a request body; the type's form schema judges it (policy.ts). */
export const formInBody = {
  type: 'object',
  maxProperties: 30,
  description: "The application form of this type (see the type's form schema in the service guide)",
} as const;
