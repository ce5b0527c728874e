import { Schema, Types, type Connection } from 'mongoose';
import { factsFollow, syncRatingFacts } from '../stats/stats.store';
import type { Actor } from '../applications/applications.model';
import type { Channel } from '../lib/auth';

/**
 * The resident's rating of a finished case (好差评, 国办发〔2019〕51号): once per case, five levels.
 * A bad rating (1 or 2) opens a follow-up for the township, with a deadline and a recorded outcome.
 */
export interface RatingDoc {
  _id: Types.ObjectId;
  /** Unique: a case is rated once. */
  applicationId: string;
  applicationNumber?: string;
  /** Copied from the application: statistics and the officers' list filter on them. */
  type: string;
  division: string;
  /** 1 (非常不满意) to 5 (非常满意). */
  score: number;
  comment?: string;
  channel: Channel;
  ratedBy: Actor;
  createdAt: Date;
  followUp: { status: 'open' | 'done'; deadline: string; outcome?: string; by?: Actor; at?: Date; onTime?: boolean } | null;
}

const actor = { id: String, role: String, name: String };

const ratingSchema = new Schema(
  {
    applicationId: { type: String, required: true, unique: true },
    applicationNumber: String,
    type: { type: String, required: true },
    division: { type: String, required: true },
    score: { type: Number, required: true },
    comment: String,
    channel: { type: String, required: true },
    ratedBy: actor,
    createdAt: { type: Date, required: true },
    followUp: { type: Schema.Types.Mixed, default: null },
  },
  { collection: 'ratings', versionKey: false },
);
// No other index: a case's rating, the follow-up lists and the statistics are read by _id (key documents,
// worklists, period buckets); the unique applicationId above refuses a second rating in a race.

// Its facts in the statistics' period buckets (stats/stats.store.ts).
factsFollow(ratingSchema, (stats, Rating, id) => syncRatingFacts({ ...stats, Rating }, id));

export function ratingModels(conn: Connection) {
  return { Rating: conn.model<RatingDoc>('Rating', ratingSchema) };
}
