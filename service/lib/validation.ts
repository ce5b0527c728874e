import Ajv2020, { type ErrorObject, type SchemaObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import localize from 'ajv-i18n';
import type { RequestHandler } from 'express';
import { AppError, MAX_FIELD_PROBLEMS, moreProblems, type FieldProblem } from './errors';
import { ID_PROBLEM_MESSAGES, parseIdNumber } from './idnumber';
import type { Bilingual } from './i18n';

/**
 * The service's one ajv instance (JSON Schema draft 2020-12). Request bodies, forms, the catalogue
 * and the eligibility rule sets are all compiled here, so formats and keywords mean the same
 * everywhere.
 */
export const ajv = new Ajv2020({
  allErrors: true,
  strict: true,
  // `if/then: {required: [...]}` names properties defined beside the `if`, which this check rejects.
  strictRequired: false,
  verbose: true,
  allowUnionTypes: true,
});
addFormats(ajv);

/**
 * Shape, date and check character. Whether the birth date lies in the future depends on the day of
 * the evaluation, which the injected clock gives: the services check that (facts, accounts), not ajv.
 */
const NO_LATER_THAN = '9999-12-31';

ajv.addFormat('cn-id-number', {
  type: 'string',
  validate: (value: string) => parseIdNumber(value, NO_LATER_THAN).ok,
});
/**
 * Text a person reads (names, file names): no control, format (bidirectional overrides, zero-width
 * characters), surrogate, private-use or unassigned code points, and at least one letter, so that
 * nothing invisible or misleading is shown to an officer as a name.
 */
export function isDisplayText(value: string): boolean {
  return /^[^\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}]*$/u.test(value) && /\p{L}/u.test(value);
}
ajv.addFormat('display-text', { type: 'string', validate: isDisplayText });

/** Administrative division code (GB/T 2260 with the statistical extension): 6, 9 or 12 digits. */
ajv.addFormat('division-code', /^(\d{6}|\d{9}|\d{12})$/);
/** Mainland mobile number. */
ajv.addFormat('cn-mobile', /^1[3-9]\d{9}$/);

function fieldPath(e: ErrorObject): string {
  const base = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'required') base.push(String(params.missingProperty));
  if (e.keyword === 'additionalProperties') base.push(String(params.additionalProperty));
  return base.join('.') || '(body)';
}

function specialMessage(e: ErrorObject): Bilingual | undefined {
  if (e.keyword === 'format' && (e.params as { format?: string }).format === 'cn-id-number' && typeof e.data === 'string') {
    const parsed = parseIdNumber(e.data, NO_LATER_THAN);
    if (!parsed.ok) return ID_PROBLEM_MESSAGES[parsed.problem];
  }
  if (e.keyword === 'additionalProperties') {
    const name = String((e.params as { additionalProperty?: string }).additionalProperty);
    return { zh: `不允许的字段：${name}`, en: `Field not allowed: ${name}` };
  }
  if (e.keyword === 'type' && typeof e.data === 'object' && e.data !== null) {
    return { zh: '此处应为简单值，不能是对象或数组', en: `Must be ${String((e.params as { type?: string }).type)}, not an object or array` };
  }
  return undefined;
}

/**
 * ajv errors as field problems, in both languages: the first `MAX_FIELD_PROBLEMS`, then one line
 * counting the rest, so that a body with thousands of bad keys costs neither a stalled event loop
 * (messages are made only for the ones listed) nor a megabyte of answer.
 */
export function toFieldProblems(errors: ErrorObject[] | null | undefined): FieldProblem[] {
  if (!errors) return [];
  const all = errors.filter((e) => e.keyword !== 'if' && e.keyword !== 'anyOf' && e.keyword !== 'oneOf');
  const listed = all.slice(0, MAX_FIELD_PROBLEMS);
  const zh = listed.map((e) => ({ ...e }));
  localize.zh(zh);
  const problems = listed
    .map((e, i) => {
      const special = specialMessage(e);
      const path = fieldPath(e);
      return {
        path,
        code: e.keyword === 'format' ? `format:${String((e.params as { format?: string }).format)}` : e.keyword,
        messages: special ?? { zh: `${path}：${zh[i]?.message ?? '无效'}`, en: `${path}: ${e.message ?? 'invalid'}` },
      };
    });
  const more = all.length - listed.length;
  if (more > 0) problems.push(moreProblems(more));
  return problems;
}

const compiled = new WeakMap<object, ValidateFunction>();

export function compile<T = unknown>(schema: SchemaObject): ValidateFunction<T> {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  return fn as ValidateFunction<T>;
}

/** Throws a 400 validation problem unless `data` matches `schema`. */
export function assertValid<T>(schema: SchemaObject, data: unknown): T {
  const validate = compile<T>(schema);
  if (!validate(data)) throw new AppError('validation_failed', undefined, toFieldProblems(validate.errors));
  return data;
}

export const validateBody = (schema: SchemaObject): RequestHandler => {
  const validate = compile(schema);
  return (req, _res, next) => {
    if (!validate(req.body ?? {})) throw new AppError('validation_failed', undefined, toFieldProblems(validate.errors));
    next();
  };
};

export const validateQuery = (schema: SchemaObject): RequestHandler => {
  const validate = compile(schema);
  return (req, _res, next) => {
    if (!validate({ ...(req.query as object) })) throw new AppError('validation_failed', undefined, toFieldProblems(validate.errors));
    next();
  };
};
