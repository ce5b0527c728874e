import path from 'node:path';
import type { TypeCode } from './catalogue/catalogue';
import { isUnifiedSocialCreditCode } from './certificates/elicence';
import { projectRoot } from './lib/paths';

export type Environment = 'development' | 'test' | 'production';

export interface Config {
  readonly env: Environment;
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly uploadsDir: string;
  readonly schemasDir: string;
  /** Keys folder: access/ and certificate/ signing keys, the ID-number hashing and encryption keys. */
  readonly keysDir: string;
  readonly mongodbUri: string | undefined;
  readonly logLevel: string;
  readonly publicBaseUrl: string;
  /** How many reverse-proxy hops to trust for the client address (0: use the socket address). */
  readonly trustProxyHops: number;
  readonly tokens: {
    readonly issuer: string;
    readonly audience: string;
    readonly accessTtlSeconds: number;
    readonly terminalTtlSeconds: number;
  };
  /** log2 of scrypt's cost parameter N for new password hashes. */
  readonly passwordCostLog2: number;
  readonly seedDemoData: boolean;
  /** Instance the PDF fonts in the background once listening (off by default in tests: the spawned test servers make no PDFs). */
  readonly pdfPrewarm: boolean;
  /** A `pending` idempotency record older than this belongs to a dead request; a retry takes it over. */
  readonly idempotencyTakeoverSeconds: number;
  /** How long a kiosk sees what it filed (list and case): long enough to finish the visit, at most an hour. */
  readonly terminalWindowSeconds: number;
  /** What one account (or kiosk) may hold and do: bounded work per person (QUALITY.md). */
  readonly quotas: {
    /** Unsubmitted drafts at once. */
    readonly openDrafts: number;
    /** Drafts created per hour. */
    readonly draftsPerHour: number;
    /** Complaints filed per day. */
    readonly complaintsPerDay: number;
  };
  /** Unreferenced uploads younger than this are left alone by the sweep (another instance may be storing them). */
  readonly uploadSweepGraceSeconds: number;
  /** Where rate-limit counters live: this process's memory, or the database (shared by all instances). */
  readonly rateLimitStore: 'memory' | 'database';
  /** Where notifications go (the SMS gateway's adapter); absent: they are written to the log. */
  readonly notifyWebhook: { url: string; secret: string } | undefined;
  /**
   * The national e-licence frame: each certificate type's 21-character type code, and each issuing
   * division's unified social credit code (the longest matching division-code prefix applies).
   */
  readonly eLicence: {
    readonly typeCodes: Readonly<Record<string, string>>;
    readonly issuerCodes: Readonly<Record<string, string>>;
  };
  /** Pages: a signed-in resident's session ends after this long without a request. */
  readonly webSessionIdleSeconds: number;
  /** Kiosk pages: the resident being served is cleared after this long without a touch (the terminal stays signed in). */
  readonly kioskIdleSeconds: number;
  /** clamd for malware scans: a unix socket path or host:port; absent → the built-in EICAR signature check. */
  readonly clamd: { socketPath: string } | { host: string; port: number } | undefined;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Parses the environment once, into a frozen object; every bad value is reported at once. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const root = projectRoot();

  const str = (name: string, fallback: string): string => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? fallback : v.trim();
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    if (!/^\d+$/.test(raw.trim())) {
      problems.push(`${name} must be a whole number, got "${raw}"`);
      return fallback;
    }
    const n = Number(raw);
    if (n < min || n > max) problems.push(`${name} must be between ${min} and ${max}, got ${n}`);
    return n;
  };

  const rawEnv = str('NODE_ENV', 'development');
  let environment: Environment = 'development';
  if (rawEnv === 'development' || rawEnv === 'test' || rawEnv === 'production') environment = rawEnv;
  else problems.push(`NODE_ENV must be development, test or production, got "${rawEnv}"`);

  const dataDir = path.resolve(root, str('DATA_DIR', './data'));
  const mongodbUri = env.MONGODB_URI?.trim() || undefined;
  if (mongodbUri && !/^mongodb(\+srv)?:\/\//.test(mongodbUri)) {
    problems.push('MONGODB_URI must start with mongodb:// or mongodb+srv://');
  }
  const keysDir = path.resolve(root, str('KEYS_DIR', path.join(dataDir, 'keys')));
  const port = int('PORT', 3000, 0, 65535);
  const publicBaseUrl = str('PUBLIC_BASE_URL', `http://localhost:${port}`);
  try {
    new URL(publicBaseUrl);
  } catch {
    problems.push(`PUBLIC_BASE_URL must be an absolute URL, got "${publicBaseUrl}"`);
  }

  const clamdRaw = env.CLAMD_ADDRESS?.trim();
  let clamd: Config['clamd'];
  if (clamdRaw) {
    const hostPort = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(clamdRaw);
    if (clamdRaw.startsWith('/')) clamd = { socketPath: clamdRaw };
    else if (hostPort) clamd = { host: hostPort[1]!, port: Number(hostPort[2]) };
    else problems.push(`CLAMD_ADDRESS must be a socket path or host:port, got "${clamdRaw}"`);
  }

  const rateLimitStore = str('RATE_LIMIT_STORE', 'memory');
  if (rateLimitStore !== 'memory' && rateLimitStore !== 'database') problems.push(`RATE_LIMIT_STORE must be memory or database, got "${rateLimitStore}"`);

  const webhookUrl = env.NOTIFY_WEBHOOK_URL?.trim() || undefined;
  if (webhookUrl) {
    if (!/^https?:\/\//.test(webhookUrl)) problems.push('NOTIFY_WEBHOOK_URL must be an http(s) URL');
    if ((env.NOTIFY_WEBHOOK_SECRET ?? '').length < 16) problems.push('NOTIFY_WEBHOOK_SECRET (16+ characters) is required with NOTIFY_WEBHOOK_URL');
  }

  const pairs = (name: string, fallback: Record<string, string>, key: RegExp, value: (v: string) => boolean, what: string): Record<string, string> => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const out: Record<string, string> = {};
    for (const item of raw.split(',')) {
      const [k, v] = item.split('=').map((x) => x.trim());
      if (!k || !v || !key.test(k) || !value(v)) problems.push(`${name}: "${item}" must be <key>=<${what}>`);
      else out[k] = v;
    }
    return out;
  };
  // Development placeholders (marked DEV / MB000000…): a bureau sets its real codes.
  const eLicence = {
    typeCodes: pairs(
      'ELICENCE_TYPE_CODES',
      { 'birth-service': 'DEV0000000000000000BS', 'rebirth-permit': 'DEV0000000000000000RB', 'only-child-honour': 'DEV0000000000000000OH', 'migrant-marriage': 'DEV0000000000000000MM' } satisfies Record<TypeCode, string>,
      /^[a-z][a-z-]{1,40}$/,
      (v) => /^[0-9A-Z]{21}$/.test(v),
      '21 characters 0-9A-Z',
    ),
    issuerCodes: pairs('ELICENCE_ISSUER_CODES', { '430725': '11430725MB0000000K' }, /^\d{6}(\d{3})?$/, isUnifiedSocialCreditCode, 'unified social credit code'),
  };

  if (environment === 'production') {
    if (!mongodbUri) problems.push('MONGODB_URI is required in production');
    if (!env.KEYS_DIR) problems.push('KEYS_DIR is required in production (it holds the signing keys)');
    if (!env.PUBLIC_BASE_URL) problems.push('PUBLIC_BASE_URL is required in production (it goes into QR codes)');
  }

  const config: Config = {
    env: environment,
    port,
    host: str('HOST', '0.0.0.0'),
    dataDir,
    // Under DATA_DIR by default: two instances started from one checkout with their own DATA_DIR must
    // not share (and sweep) one folder of uploads.
    uploadsDir: path.resolve(root, str('UPLOADS_DIR', path.join(dataDir, 'uploads'))),
    schemasDir: path.resolve(root, str('SCHEMAS_DIR', './schemas')),
    keysDir,
    mongodbUri,
    logLevel: str('LOG_LEVEL', environment === 'test' ? 'silent' : 'info'),
    publicBaseUrl: publicBaseUrl.replace(/\/+$/, ''),
    trustProxyHops: int('TRUST_PROXY_HOPS', 0, 0, 10),
    tokens: {
      issuer: str('TOKEN_ISSUER', 'fpc.taoyuan.gov.cn'),
      audience: str('TOKEN_AUDIENCE', 'fpc-api'),
      accessTtlSeconds: int('ACCESS_TOKEN_TTL', 3600, 60, 86400),
      terminalTtlSeconds: int('TERMINAL_TOKEN_TTL', 900, 60, 3600),
    },
    passwordCostLog2: int('PASSWORD_COST_LOG2', environment === 'test' ? 12 : 15, 10, 20),
    seedDemoData: environment === 'development' && str('SEED_DEMO', 'true') !== 'false',
    pdfPrewarm: str('PDF_PREWARM', environment === 'test' ? 'false' : 'true') !== 'false',
    clamd,
    webSessionIdleSeconds: int('WEB_SESSION_IDLE_SECONDS', 1200, 60, 86400),
    kioskIdleSeconds: int('KIOSK_IDLE_SECONDS', 120, 2, 3600),
    uploadSweepGraceSeconds: int('UPLOAD_SWEEP_GRACE_SECONDS', 900, 0, 86400),
    quotas: {
      openDrafts: int('QUOTA_OPEN_DRAFTS', 8, 1, 1000),
      draftsPerHour: int('QUOTA_DRAFTS_PER_HOUR', 30, 1, 100000),
      complaintsPerDay: int('QUOTA_COMPLAINTS_PER_DAY', 20, 1, 100000),
    },
    idempotencyTakeoverSeconds: int('IDEMPOTENCY_TAKEOVER_SECONDS', 120, 1, 3600),
    terminalWindowSeconds: int('TERMINAL_WINDOW_SECONDS', 3600, 60, 3600),
    rateLimitStore: rateLimitStore === 'database' ? 'database' : 'memory',
    notifyWebhook: webhookUrl ? { url: webhookUrl, secret: env.NOTIFY_WEBHOOK_SECRET ?? '' } : undefined,
    eLicence,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}
