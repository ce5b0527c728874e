import { Schema, type Connection, type Model, type Types } from 'mongoose';
import sift from 'sift';
import { trustedFilter } from './database';

/**
 * Key documents: small records whose `_id` is a natural key, `<kind>:<value>` (a certificate serial,
 * an application number, ...), listing the `_id`s of the documents that carry it.
 *
 * Why: a lookup by `_id` is the one query every backend answers from an index, the embedded
 * FerretDB over SQLite included (it pushes down nothing else and decodes the whole collection for
 * any other filter). On MongoDB the declared unique indexes would do; the same code runs on both.
 *
 * Consistency without transactions: a key is added before the document that carries the value is
 * written, so a key is never missing for a stored document; a key whose write of the document then
 * failed (or crashed) points at a document without that value, and every read checks the document
 * against the full filter in memory, so such a key finds nothing. Keys made before this existed are
 * filled in by `backfillKeys` at start-up.
 *
 * Any capability may register a kind: call `addKey` before writing, `findByKey` to read.
 */
export interface KeyDoc {
  _id: string;
  ids: Array<Types.ObjectId | string>;
}

const keySchema = new Schema({ _id: String, ids: { type: [Schema.Types.Mixed], default: [] } }, { collection: 'key_index', versionKey: false });

export function keyIndexModels(conn: Connection) {
  return { KeyIndex: conn.model<KeyDoc>('KeyIndex', keySchema) };
}

type Keys = { KeyIndex: Model<KeyDoc> };

const keyId = (kind: string, value: string): string => `${kind}:${value}`;

/** Records that the document `id` carries `value` under `kind`; idempotent. */
export async function addKey(models: Keys, kind: string, value: string, id: Types.ObjectId | string): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await models.KeyIndex.updateOne({ _id: keyId(kind, value) }, { $addToSet: { ids: id } }, { upsert: true });
      return;
    } catch (err) {
      // Two first-ever upserts of one key race on its _id; the loser simply adds to it.
      if ((err as { code?: number }).code !== 11000 || attempt >= 3) throw err;
    }
  }
}

/** The documents of `model` listed under the key that also match `filter` (checked in memory, with sift). */
export async function findByKey<T>(models: Keys, model: Model<T>, kind: string, value: string, filter: Record<string, unknown>): Promise<T[]> {
  const key = await models.KeyIndex.findById(keyId(kind, value)).lean<KeyDoc>();
  if (!key) return [];
  const docs = await Promise.all(key.ids.map((id) => model.findById(id).lean<T>()));
  const matches = sift(filter);
  return docs.filter((d): d is NonNullable<typeof d> => d !== null && matches(d)) as T[];
}

/** The ids listed under a key as strings, unchecked: for kinds whose ids are values themselves (the months a worklist has history in), or a caller that checks each document itself. */
export async function keyValues(models: Keys, kind: string, value: string): Promise<string[]> {
  const key = await models.KeyIndex.findById(keyId(kind, value)).lean<KeyDoc>();
  return key ? key.ids.map(String) : [];
}

export async function findOneByKey<T>(models: Keys, model: Model<T>, kind: string, value: string, filter: Record<string, unknown>): Promise<T | null> {
  return (await findByKey(models, model, kind, value, filter))[0] ?? null;
}

/**
 * Removes ids from a key whose documents exist but no longer carry what the key stands for, for
 * kinds whose membership ends (a draft that was submitted). Never an id whose document is missing:
 * its write may still be on its way (the key is written first).
 */
export async function pruneKey(models: Keys, kind: string, value: string, ids: Array<Types.ObjectId | string>): Promise<void> {
  if (ids.length) await models.KeyIndex.updateOne({ _id: keyId(kind, value) }, { $pullAll: { ids } });
}

/**
 * Adds the keys missing for `entries` ([value, id] pairs read from the documents), reading the
 * existing keys of the kind once: for data stored before a kind was keyed, or a key lost otherwise.
 */
export async function backfillKeys(models: Keys, kind: string, entries: Iterable<[string, Types.ObjectId | string]>): Promise<number> {
  const prefix = `${kind}:`;
  const existing = new Map<string, Set<string>>();
  const cursor = models.KeyIndex.find(trustedFilter({ _id: { $regex: `^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}` } })).lean<KeyDoc[]>().cursor();
  for await (const key of cursor as AsyncIterable<KeyDoc>) existing.set(key._id, new Set(key.ids.map(String)));
  let added = 0;
  for (const [value, id] of entries) {
    if (existing.get(keyId(kind, value))?.has(String(id))) continue;
    await addKey(models, kind, value, id);
    added += 1;
  }
  return added;
}
