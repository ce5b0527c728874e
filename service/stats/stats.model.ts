import type { Model } from 'mongoose';
import type { ApplicationDoc } from '../applications/applications.model';

/** Indexes the period queries use; created with the others at start-up. */
export async function ensureStatsIndexes(models: { Application: Model<ApplicationDoc> }): Promise<void> {
  // One createIndex per index, as Mongoose does: FerretDB drops the connection when a batched
  // createIndexes names indexes that already exist.
  const keys = [{ submittedAt: 1 }, { decidedAt: 1 }, { returnedAt: 1 }, { 'stages.decidedAt': 1 }, { status: 1, updatedAt: 1 }, { updatedAt: 1 }] as const;
  for (const key of keys) await models.Application.collection.createIndex({ ...key });
}
