import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import type { Logger } from './logger';
import { pickLanguage, type Bilingual } from './i18n';

/**
 * The closed set of error codes a client may rely on. Each has its HTTP status and a title in
 * Chinese and English; `detail` may add a sentence about this particular occurrence.
 */
export const PROBLEMS = {
  malformed_json: { status: 400, zh: '请求内容不是有效的 JSON', en: 'The request body is not valid JSON' },
  validation_failed: { status: 400, zh: '提交的内容有误', en: 'The request has invalid fields' },
  bad_request: { status: 400, zh: '请求无效', en: 'The request is invalid' },
  unauthenticated: { status: 401, zh: '请先登录', en: 'Authentication is required' },
  invalid_token: { status: 401, zh: '登录凭证无效或已过期，请重新登录', en: 'The access token is invalid or expired' },
  invalid_code: { status: 400, zh: '短信验证码不正确或已失效，请重新获取', en: 'The SMS code is wrong, used or expired; ask for a new one' },
  invalid_credentials: { status: 401, zh: '账号或密码不正确', en: 'The credentials are not correct' },
  forbidden: { status: 403, zh: '无权进行此操作', en: 'You are not allowed to do this' },
  not_found: { status: 404, zh: '未找到', en: 'Not found' },
  method_not_allowed: { status: 405, zh: '不支持此请求方法', en: 'This method is not allowed here' },
  conflict: { status: 409, zh: '当前状态不允许此操作', en: 'The current state does not allow this' },
  already_exists: { status: 409, zh: '已存在', en: 'It already exists' },
  case_open: { status: 409, zh: '同类申请尚在办理中', en: 'A case of this type is already open for these people' },
  honour_held: { status: 409, zh: '已持有独生子女父母光荣证', en: "The couple already holds an only-child parents' honour certificate" },
  payload_too_large: { status: 413, zh: '提交的内容过大', en: 'The request is too large' },
  unsupported_media_type: { status: 415, zh: '不支持的内容类型', en: 'The content type is not supported' },
  not_a_party: { status: 422, zh: '只能申请本人作为当事人的证件', en: 'You may file only a case in which you are a party' },
  not_eligible: { status: 422, zh: '不符合申请条件', en: 'The application meets no eligibility ground' },
  missing_documents: { status: 422, zh: '缺少必需的材料', en: 'Required documents are missing' },
  malware_detected: { status: 422, zh: '文件未通过病毒扫描，已被拒收', en: 'The file was flagged by the malware scan and refused' },
  outside_county: { status: 422, zh: '居住地不在本县，不能在此申请', en: 'The residence is outside this county' },
  unprocessable: { status: 422, zh: '无法处理该请求', en: 'The request cannot be processed' },
  rate_limited: { status: 429, zh: '请求过于频繁，请稍后再试', en: 'Too many requests, try again later' },
  internal: { status: 500, zh: '服务内部错误', en: 'Internal server error' },
  sms_unavailable: { status: 503, zh: '短信暂时无法发送，请稍后再试', en: 'The text message could not be sent, try again later' },
  database_unavailable: { status: 503, zh: '数据库暂时不可用，请稍后再试', en: 'The database is unavailable, try again later' },
} as const satisfies Record<string, { status: number } & Bilingual>;

export type ProblemCode = keyof typeof PROBLEMS;

/** A problem with one field; the message is given in both languages and chosen per request. */
export interface FieldProblem {
  path: string;
  code: string;
  messages: Bilingual;
}

/** An answer lists at most this many field problems; one more line counts the rest. */
export const MAX_FIELD_PROBLEMS = 20;

export const moreProblems = (n: number): FieldProblem => ({
  path: '(more)',
  code: 'more',
  messages: { zh: `另有 ${n} 处问题未列出，请先改正以上各项`, en: `${n} more problems not listed; correct the ones above first` },
});

/** The first MAX_FIELD_PROBLEMS, and a count of the rest. */
export function capProblems(errors: FieldProblem[]): FieldProblem[] {
  if (errors.length <= MAX_FIELD_PROBLEMS + 1) return errors;
  return [...errors.slice(0, MAX_FIELD_PROBLEMS), moreProblems(errors.length - MAX_FIELD_PROBLEMS)];
}

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ProblemCode,
    readonly detail?: Bilingual,
    readonly errors?: FieldProblem[],
    readonly extra?: Record<string, unknown>,
  ) {
    super(detail?.en ?? PROBLEMS[code].en);
    this.name = 'AppError';
    this.status = PROBLEMS[code].status;
  }
}

export const notFound = (what: Bilingual = { zh: '未找到', en: 'Not found' }): AppError => new AppError('not_found', what);

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: ProblemCode;
  detail: string;
  message: Bilingual;
  instance: string;
  requestId?: string;
  errors?: { path: string; code: string; message: string; messages: Bilingual }[];
  [extra: string]: unknown;
}

export function problemBody(req: Request, err: AppError): ProblemBody {
  const spec = PROBLEMS[err.code];
  const message = err.detail ?? { zh: spec.zh, en: spec.en };
  return {
    ...err.extra,
    type: `urn:fpc:problem:${err.code}`,
    title: spec.en,
    status: err.status,
    code: err.code,
    detail: pickLanguage(req, message),
    message,
    instance: req.originalUrl.split('?')[0] ?? req.originalUrl,
    requestId: req.id === undefined ? undefined : String(req.id),
    ...(err.errors
      ? { errors: capProblems(err.errors).map((e) => ({ path: e.path, code: e.code, message: pickLanguage(req, e.messages), messages: e.messages })) }
      : {}),
  };
}

/** Errors raised by libraries, translated to our closed set (pages use it too). */
export function translate(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { type?: string; status?: number; name?: string; code?: unknown; message?: string };
  // body-parser
  if (e.type === 'entity.parse.failed') return new AppError('malformed_json');
  if (e.type === 'entity.too.large') return new AppError('payload_too_large');
  if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') return new AppError('unsupported_media_type');
  if (e.type === 'request.aborted') return new AppError('bad_request', { zh: '请求被中断', en: 'The request was aborted' });
  // multer (limits) and busboy (malformed or truncated multipart)
  if (e.name === 'MulterError') {
    const tooMuch = ['LIMIT_FILE_SIZE', 'LIMIT_FILE_COUNT', 'LIMIT_PART_COUNT', 'LIMIT_FIELD_COUNT', 'LIMIT_FIELD_VALUE'];
    return tooMuch.includes(String(e.code))
      ? new AppError('payload_too_large', { zh: `上传超出限制（${String(e.code)}）`, en: `Upload limit exceeded (${String(e.code)})` })
      : new AppError('bad_request', { zh: `上传内容不符合要求（${String(e.code)}）`, en: `Unexpected upload content (${String(e.code)})` });
  }
  if (/^(Unexpected end of form|Malformed part header|Multipart: Boundary not found|Unexpected end of multipart data)/.test(e.message ?? '')) {
    return new AppError('bad_request', { zh: '上传内容不完整或格式错误', en: 'The multipart body is truncated or malformed' });
  }
  // mongoose / driver: the database is down or unreachable
  const name = e.name ?? '';
  if (
    name === 'MongoServerSelectionError' ||
    name === 'MongoNetworkError' ||
    name === 'MongoNetworkTimeoutError' ||
    name === 'MongoNotConnectedError' ||
    name === 'MongoTopologyClosedError' ||
    name === 'MongoPoolClearedError' ||
    (name === 'MongooseError' && /buffering|not connected|Connection.*closed/i.test(e.message ?? ''))
  ) {
    return new AppError('database_unavailable');
  }
  if (name === 'CastError') return new AppError('not_found');
  if (e.code === 11000) return new AppError('already_exists');
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500 && e.status !== 404) {
    return new AppError('bad_request');
  }
  return undefined;
}

/** The client went away mid-request (a closed tab, a dropped mobile connection): nothing went wrong here. */
function clientAborted(err: unknown): boolean {
  const e = err as { message?: string; code?: string; type?: string } | null;
  return !!e && (e.message === 'Request aborted' || e.message === 'Request closed' || e.code === 'ECONNABORTED' || e.type === 'request.aborted');
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    if (clientAborted(err) || (req.destroyed && (err as { code?: string })?.code === 'ECONNRESET')) {
      logger.info({ requestId: req.id }, 'client aborted the request');
      res.status(400).type('application/problem+json').json(problemBody(req, new AppError('bad_request', { zh: '请求被中断', en: 'The request was aborted' })));
      return;
    }
    const known = translate(err);
    const problem = known ?? new AppError('internal');
    if (!known) logger.error({ err, requestId: req.id }, 'unhandled error');
    else if (problem.code === 'database_unavailable') logger.warn({ requestId: req.id, err: String(err) }, 'database unavailable');
    if (problem.status === 405 && problem.extra?.allow) res.setHeader('Allow', String(problem.extra.allow));
    res.status(problem.status).type('application/problem+json').json(problemBody(req, problem));
  };
}

export const unknownRoute: RequestHandler = (req) => {
  throw new AppError('not_found', {
    zh: `没有这个地址：${req.method} ${req.path}`,
    en: `No such route: ${req.method} ${req.path}`,
  });
};
