import { Schema, type Connection, type Model, type Types } from 'mongoose';

/**
 * The statistics' own collections (stats.store.ts says how they are kept):
 *
 * - `stats_buckets`: one document per China calendar month and township, `_id` `<YYYY-MM>:<township>`
 *   (the township is the first 9 digits of the division), holding a slim fact per application,
 *   complaint, rating and certificate with an event in that month, keyed by its id, each one JSON
 *   string (stats.store.ts `encodeFact`); `open:<township>`
 *   holds the township's open work (applications waiting for an officer, unanswered complaints);
 *   `townships:<YYYY-MM>` and `townships:open` list the townships that have such a bucket.
 * - `stats_fact_homes`: per application (its `_id`), the fact last written and the buckets holding
 *   it, so that a write which changes nothing the statistics read costs one small read, and a fact
 *   leaving a month (a later return moves `returnedAt`) is removed from it.
 */
export interface StatsBucketDoc {
  _id: string;
  applications?: Record<string, unknown>;
  complaints?: Record<string, unknown>;
  ratings?: Record<string, unknown>;
  certificates?: Record<string, unknown>;
  codes?: string[];
}

export interface StatsFactHomeDoc {
  _id: Types.ObjectId;
  buckets: string[];
  fact: unknown;
  open: string | null;
  openFact: unknown;
}

// strict: false: the facts live under ids as field names (`applications.<id>`).
const bucketSchema = new Schema({ _id: String }, { collection: 'stats_buckets', versionKey: false, strict: false, minimize: false });
const homeSchema = new Schema(
  { _id: Schema.Types.ObjectId, buckets: { type: [String], default: [] }, fact: Schema.Types.Mixed, open: { type: String, default: null }, openFact: Schema.Types.Mixed },
  { collection: 'stats_fact_homes', versionKey: false, minimize: false },
);

export function statsModels(conn: Connection) {
  return {
    StatsBucket: conn.model<StatsBucketDoc>('StatsBucket', bucketSchema),
    StatsFactHome: conn.model<StatsFactHomeDoc>('StatsFactHome', homeSchema),
  };
}

export interface StatsModels {
  StatsBucket: Model<StatsBucketDoc>;
  StatsFactHome: Model<StatsFactHomeDoc>;
}
