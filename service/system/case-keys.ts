import { backfillComplaintKeys } from '../complaints/complaints.store';
import type { AppContext } from '../context';
import { backfillDecisionKeys } from '../decisions/decisions.store';
import { backfillFamilyKeys } from '../families/families.store';
import { backfillRatingKeys } from '../ratings/ratings.store';

/**
 * The keys through which a case's complaints, rating, decisions and family are read, and the
 * complaint and follow-up worklists: adds whatever is missing (data stored before the keys, or
 * bulk-inserted without them, or a key lost in a crash). One scan of each collection, compared in
 * memory with the existing keys. Run at start-up after an unclean stop, and by the bench after seeding.
 */
export async function rebuildCaseKeys(ctx: Pick<AppContext, 'models'>): Promise<{ complaints: number; ratings: number; decisions: number; families: number }> {
  return {
    complaints: await backfillComplaintKeys(ctx),
    ratings: await backfillRatingKeys(ctx),
    decisions: await backfillDecisionKeys(ctx),
    families: await backfillFamilyKeys(ctx),
  };
}
