import { Schema, type Connection, type Model } from 'mongoose';

/**
 * Whether the service stopped cleanly last time. The start-up repairs (queue entries, orphan files,
 * missing keys and register entries, lost notifications) read whole collections: on the embedded
 * database about a second per thousand applications each. They repair only what a crash can leave
 * behind, so after a clean stop they are skipped there. This is sound only where one process owns
 * the database, as on FerretDB (database.ts serialises writes in-process); with several instances
 * on MongoDB one instance's clean stop says nothing of another's crash, and the repairs always run
 * (there they read through indexes).
 */
interface LifecycleDoc {
  _id: string;
  clean: boolean;
  startedAt: Date;
  stoppedAt?: Date;
}

const lifecycleSchema = new Schema({ _id: String, clean: Boolean, startedAt: Date, stoppedAt: Date }, { collection: 'service_state', versionKey: false });

export function lifecycleModels(conn: Connection) {
  return { Lifecycle: conn.model<LifecycleDoc>('Lifecycle', lifecycleSchema) };
}

type Models = { Lifecycle: Model<LifecycleDoc> };
const ID = 'lifecycle';

/** Marks this run as started (not yet cleanly stopped); true when the previous run stopped cleanly. */
export async function beginRun(models: Models, now: Date): Promise<boolean> {
  const before = await models.Lifecycle.findOneAndUpdate({ _id: ID }, { $set: { clean: false, startedAt: now } }, { upsert: true, returnDocument: 'before' }).lean<LifecycleDoc>();
  return before?.clean === true;
}

/** Records a clean stop: called after the last request and job of this run. */
export async function endRun(models: Models, now: Date): Promise<void> {
  await models.Lifecycle.updateOne({ _id: ID }, { $set: { clean: true, stoppedAt: now } });
}
