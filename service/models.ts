import type { Connection } from 'mongoose';
import { accountModels } from './accounts/accounts.model';
import { adminLogModels } from './accounts/adminlog.model';
import { applicationModels } from './applications/applications.model';
import { auditModels } from './audit/audit.model';
import { keyIndexModels } from './lib/keyindex';
import { rateLimitModels } from './lib/ratelimit.model';
import { certificateModels } from './certificates/certificates.model';
import { complaintModels } from './complaints/complaints.model';
import { decisionModels } from './decisions/decisions.model';
import { familyModels } from './families/families.model';
import { notificationModels } from './notifications/notifications.model';
import { ratingModels } from './ratings/ratings.model';
import { queueEntryModels } from './review/queue.store';
import { statsModels } from './stats/stats.model';
import { lifecycleModels } from './system/lifecycle';
import { webSessionModels } from './web/session.model';

/** Every capability's models, bound to one connection (tests and the two-instance test open several). */
export function createModels(conn: Connection) {
  return {
    ...accountModels(conn),
    ...adminLogModels(conn),
    ...applicationModels(conn),
    ...auditModels(conn),
    ...rateLimitModels(conn),
    ...certificateModels(conn),
    ...complaintModels(conn),
    ...decisionModels(conn),
    ...familyModels(conn),
    ...notificationModels(conn),
    ...ratingModels(conn),
    ...queueEntryModels(conn),
    ...statsModels(conn),
    ...keyIndexModels(conn),
    ...lifecycleModels(conn),
    ...webSessionModels(conn),
  };
}

export type Models = ReturnType<typeof createModels>;

/** Creates the indexes the code relies on (unique keys, queue order); safe to run at every start. */
export async function ensureIndexes(models: Models): Promise<void> {
  for (const model of Object.values(models)) await model.createIndexes();
}
