import { Schema, type Connection } from 'mongoose';

/** Shared rate-limit counters (RATE_LIMIT_STORE=database): one document per key and time window. */
const counterSchema = new Schema<{ _id: string; hits: number; expiresAt: Date }>(
  { _id: String, hits: Number, expiresAt: Date },
  { collection: 'rate_limits', versionKey: false },
);
counterSchema.index({ expiresAt: 1 });

export function rateLimitModels(conn: Connection) {
  return { RateCounter: conn.model('RateCounter', counterSchema) };
}
