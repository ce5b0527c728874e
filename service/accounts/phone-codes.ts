import crypto from 'node:crypto';
import type { AppContext } from '../context';
import { AppError } from '../lib/errors';
import { countWrongGuess, deleteStalePhoneCodes, takeCode } from './accounts.store';

type Ctx = Pick<AppContext, 'models' | 'clock' | 'keys'>;

/** Registration proves the phone; a reset proves the phone on record of an account. */
export type CodePurpose = 'register' | 'reset';

export const CODE_TTL_MS = 10 * 60_000;
/** One code a minute and five an hour per number (or per account for a reset): an SMS costs money and annoys. */
export const RESEND_AFTER_MS = 60_000;
export const MAX_SENDS_PER_HOUR = 5;
/** Wrong guesses a code survives: five tries at a six-digit code is a one-in-200,000 chance. */
export const MAX_ATTEMPTS = 5;
const HOUR = 3_600_000;

const keyed = (ctx: Ctx, text: string): string => crypto.createHmac('sha256', ctx.keys.idHash).update(text).digest('base64url');
const recordId = (ctx: Ctx, purpose: CodePurpose, target: string): string => keyed(ctx, `phone-code:${purpose}:${target}`);
const codeHash = (ctx: Ctx, id: string, code: string): string => keyed(ctx, `phone-code-value:${id}:${code}`);

const tooSoon = (): AppError =>
  new AppError('rate_limited', {
    zh: `验证码发送过于频繁：每个号码每分钟一次、每小时最多 ${MAX_SENDS_PER_HOUR} 次，请稍后再试`,
    en: `Codes are sent at most once a minute and ${MAX_SENDS_PER_HOUR} times an hour per number; try again later`,
  });

/**
 * Makes a new code for (purpose, target), replacing any earlier one, within the per-number limit.
 * The limit is a compare-and-set on the record's last send, so two instances cannot both send.
 */
export async function issueCode(ctx: Ctx, purpose: CodePurpose, target: string): Promise<string> {
  const now = ctx.clock.now();
  const _id = recordId(ctx, purpose, target);
  const prev = await ctx.models.PhoneCode.findById(_id).lean<{ lastSentAt: Date; sends?: Date[] }>();
  const recent = (prev?.sends ?? []).filter((d) => now.getTime() - new Date(d).getTime() < HOUR);
  if ((prev && now.getTime() - new Date(prev.lastSentAt).getTime() < RESEND_AFTER_MS) || recent.length >= MAX_SENDS_PER_HOUR) throw tooSoon();
  const code = String(crypto.randomInt(0, 1_000_000)).padStart(6, '0');
  const set = { codeHash: codeHash(ctx, _id, code), expiresAt: new Date(now.getTime() + CODE_TTL_MS), attempts: 0, lastSentAt: now, sends: [...recent, now] };
  if (prev) {
    const r = await ctx.models.PhoneCode.updateOne({ _id, lastSentAt: prev.lastSentAt }, { $set: set });
    if (r.matchedCount !== 1) throw tooSoon();
  } else {
    try {
      await ctx.models.PhoneCode.create({ _id, ...set });
    } catch (err) {
      if ((err as { code?: number }).code === 11000) throw tooSoon();
      throw err;
    }
  }
  return code;
}

/** Takes the code back when it could not be sent, so the resident may ask again at once. */
export async function withdrawCode(ctx: Ctx, purpose: CodePurpose, target: string): Promise<void> {
  await ctx.models.PhoneCode.deleteOne({ _id: recordId(ctx, purpose, target) });
}

/**
 * Uses the code: true once for the right, unexpired code (one conditional update, so two requests
 * with the same code cannot both pass); a wrong guess counts against the code.
 */
export async function consumeCode(ctx: Ctx, purpose: CodePurpose, target: string, code: string): Promise<boolean> {
  const now = ctx.clock.now();
  const _id = recordId(ctx, purpose, target);
  if (await takeCode(ctx, _id, codeHash(ctx, _id, code.trim()), now, MAX_ATTEMPTS)) return true;
  await countWrongGuess(ctx, _id);
  return false;
}

export const invalidCode = (): AppError => new AppError('invalid_code');

/** Records past their code and their hour of sends are forgotten. */
export async function purgePhoneCodes(ctx: Pick<AppContext, 'models' | 'clock'>): Promise<number> {
  const now = ctx.clock.now();
  return deleteStalePhoneCodes(ctx, now, new Date(now.getTime() - HOUR));
}
