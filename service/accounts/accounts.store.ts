import type { Model, Types } from 'mongoose';
import type { AppContext } from '../context';
import { trustedFilter } from '../lib/database';
import { addKey, backfillKeys, findByKey, findOneByKey } from '../lib/keyindex';
import type { AccountDoc } from './accounts.model';

/**
 * The reads and writes of the accounts capability's collections (accounts, ended sessions, one-time
 * codes) that need more than a lookup by `_id`, as named operations.
 *
 * The accounts collection grows with every resident who registers, so on a request it is read by
 * `_id` only (the embedded database decodes the whole collection for any other filter): through
 * key documents (lib/keyindex.ts) written before the account.
 */
type Models = Pick<AppContext, 'models'>;

/** Key kind: a login key (`id:<keyed hash>` or `user:<name>`) → its account. */
export const LOGIN_KEY = 'login';
/** Key kind: one key, `staff:all`, listing every officer and admin (the admin pages' list). */
export const STAFF_KEY = 'staff';
const ALL_STAFF = 'all';
const STAFF_ROLES = ['officer', 'admin'];

const accounts = (ctx: Models): Model<AccountDoc> => ctx.models.Account as unknown as Model<AccountDoc>;

/** The account a login key opens (any role; the caller checks what it needs). */
export function accountByLoginKey(ctx: Models, loginKey: string): Promise<AccountDoc | null> {
  return findOneByKey<AccountDoc>(ctx.models, accounts(ctx), LOGIN_KEY, loginKey, { loginKey });
}

/** The enabled resident account of the ID number with this keyed hash (its login key is `id:<hash>`). */
export function applicantByIdHash(ctx: Models, idHash: string): Promise<AccountDoc | null> {
  return findOneByKey<AccountDoc>(ctx.models, accounts(ctx), LOGIN_KEY, `id:${idHash}`, { idHash, role: 'applicant', disabled: false });
}

/**
 * Stores a new account, its keys first (a key whose account write then fails finds nothing). A
 * taken login key fails with the driver's duplicate-key error (code 11000), as before.
 */
export async function insertAccount(ctx: Models, doc: { _id: Types.ObjectId; loginKey: string; role: 'applicant' | 'officer' | 'admin' } & Record<string, unknown>): Promise<void> {
  await addKey(ctx.models, LOGIN_KEY, doc.loginKey, doc._id);
  if (STAFF_ROLES.includes(doc.role)) await addKey(ctx.models, STAFF_KEY, ALL_STAFF, doc._id);
  await ctx.models.Account.create(doc);
}

/** Every officer and admin, read through the staff key by `_id`: never a scan of the residents' accounts. */
export function staffAccounts(ctx: Models): Promise<AccountDoc[]> {
  return findByKey<AccountDoc>(ctx.models, accounts(ctx), STAFF_KEY, ALL_STAFF, { role: { $in: STAFF_ROLES } });
}

/**
 * Start-up: adds the login keys and staff keys missing for accounts stored without them (made before
 * these keys existed, bulk-inserted, or a key lost). One scan of the accounts' ids, keys and roles.
 */
export async function backfillAccountKeys(ctx: Models): Promise<number> {
  const all = await ctx.models.Account.find({}, { _id: 1, loginKey: 1, role: 1 }).lean<Pick<AccountDoc, '_id' | 'loginKey' | 'role'>[]>();
  const staff = all.filter((a) => STAFF_ROLES.includes(a.role)).map((a): [string, Types.ObjectId] => [ALL_STAFF, a._id]);
  return (
    (await backfillKeys(ctx.models, LOGIN_KEY, all.map((a): [string, Types.ObjectId] => [a.loginKey, a._id]))) +
    (await backfillKeys(ctx.models, STAFF_KEY, staff))
  );
}

/** Housekeeping: forgets ended sessions whose tokens have expired anyway. */
export async function deleteExpiredEndedSessions(ctx: Pick<AppContext, 'models' | 'clock'>): Promise<number> {
  return (await ctx.models.EndedSession.deleteMany(trustedFilter({ until: { $lt: ctx.clock.now() } }))).deletedCount;
}

/**
 * Uses a one-time code: one conditional update on the record's `_id`, its code, expiry and tries
 * left, so two requests with the same code cannot both pass. True: this call used it.
 */
export async function takeCode(ctx: Models, _id: string, codeHash: string, now: Date, maxAttempts: number): Promise<boolean> {
  const used = await ctx.models.PhoneCode.findOneAndUpdate(
    trustedFilter({ _id, codeHash, expiresAt: { $gt: now }, attempts: { $lt: maxAttempts } }),
    { $set: { codeHash: null } },
  ).lean();
  return used !== null;
}

/** Counts a wrong guess against the record's live code (none once used). */
export async function countWrongGuess(ctx: Models, _id: string): Promise<void> {
  await ctx.models.PhoneCode.updateOne(trustedFilter({ _id, codeHash: { $ne: null } }), { $inc: { attempts: 1 } });
}

/** Housekeeping: records whose code has expired and whose last send is older than `sentBefore`. */
export async function deleteStalePhoneCodes(ctx: Models, now: Date, sentBefore: Date): Promise<number> {
  return (await ctx.models.PhoneCode.deleteMany(trustedFilter({ expiresAt: { $lt: now }, lastSentAt: { $lt: sentBefore } }))).deletedCount;
}
