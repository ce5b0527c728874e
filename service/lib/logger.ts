import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Paths that must never reach a log: credentials, tokens and personal data (ID numbers are high-risk
 * personal information under PIPL; health data is sensitive).
 */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.secret',
  '*.idNumber',
  '*.accessToken',
];

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'fpc' },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/** Query parameters whose values are personal data or secrets; they are masked in logged URLs. */
const SENSITIVE_QUERY = /^(idnumber|token|secret|phone|password|code|accesscode)$/i;

/**
 * The URL as it may be logged. The query is parsed (as the app parses it: `%69dNumber` is
 * `idNumber`) and every sensitive parameter's value replaced, so no spelling of a name escapes.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  const names = [...new Set(params.keys())];
  if (!names.some((name) => SENSITIVE_QUERY.test(name.trim()))) return url;
  const kept = new URLSearchParams();
  for (const [name, value] of params) kept.append(name, SENSITIVE_QUERY.test(name.trim()) ? '[redacted]' : value);
  return `${url.slice(0, q)}?${kept.toString()}`;
}
