import { backfillComplaintKeys } from '../complaints/complaints.store';
import type { AppContext } from '../context';
import { backfillDecisionKeys } from '../decisions/decisions.store';
import { backfillFamilyKeys } from '../families/families.store';
import { addKey, keyValues } from '../lib/keyindex';
import { backfillRatingKeys } from '../ratings/ratings.store';

/** Marks a database whose case keys have been rebuilt once (a key document: `built:case-keys`). */
const BUILT = ['built', 'case-keys', 'v1'] as const;

export interface CaseKeysAdded {
  complaints: number;
  ratings: number;
  decisions: number;
  families: number;
}

/**
 * The keys through which a case's complaints, rating, decisions and family are read, and the
 * complaint and follow-up worklists: adds whatever is missing (data stored before the keys, or
 * bulk-inserted without them, or a key lost in a crash). One scan of each collection, compared in
 * memory with the existing keys. Run at start-up after an unclean stop, and by the bench after
 * seeding; with `onlyIfNeverBuilt` (after a clean stop) only on a database that has never had them
 * (null: skipped), so the first start of this version on older data lists its complaints too.
 */
export async function rebuildCaseKeys(ctx: Pick<AppContext, 'models'>, opts: { onlyIfNeverBuilt?: boolean } = {}): Promise<CaseKeysAdded | null> {
  if (opts.onlyIfNeverBuilt && (await keyValues(ctx.models, BUILT[0], BUILT[1])).includes(BUILT[2])) return null;
  const added = {
    complaints: await backfillComplaintKeys(ctx),
    ratings: await backfillRatingKeys(ctx),
    decisions: await backfillDecisionKeys(ctx),
    families: await backfillFamilyKeys(ctx),
  };
  await addKey(ctx.models, BUILT[0], BUILT[1], BUILT[2]);
  return added;
}
