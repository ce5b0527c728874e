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

/** Query parameters whose values are personal data; they are masked in logged URLs. */
const SENSITIVE_QUERY = /([?&](?:idNumber|token|secret|phone)=)[^&]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SENSITIVE_QUERY, '$1[redacted]');
}
