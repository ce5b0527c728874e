import { Schema, type Connection } from 'mongoose';

export type DecisionKind = 'approval' | 'refusal' | 'supplement';

/** The decision each case action calls for (a non-final approval calls for none: see `pendingDecision`). */
export const KIND_OF_ACTION: Record<string, DecisionKind> = { approve: 'approval', reject: 'refusal', return: 'supplement' };

export const DECISION_TITLES: Record<DecisionKind, { zh: string; en: string; mark: string }> = {
  approval: { zh: '准予行政许可决定书', en: 'Decision to grant the licence', mark: '准' },
  refusal: { zh: '不予行政许可决定书', en: 'Decision to refuse the licence', mark: '不' },
  supplement: { zh: '补正材料通知书', en: 'Notice to supplement the application', mark: '补' },
};

/**
 * A written decision kept with its case: 准予许可决定书 (approval), 不予许可决定书 (refusal) or 补正通知书
 * (return for supplement). Its `_id` is derived from the application and the decision's instant, so
 * writing it again after a crash or a retry finds the same document. The signed PDF lives in
 * `decision_files` under the same `_id` (sealed), so that listing a case's decisions never reads the files.
 */
export interface DecisionDoc {
  _id: string;
  applicationId: string;
  applicationNumber: string;
  kind: DecisionKind;
  /** e.g. 桃卫许准字〔2026〕第000001号 */
  number: string;
  issuer: string;
  issuerDivision: string;
  decidedAt: Date;
  issuedAt: Date;
  sha256: string;
  size: number;
}

/** The PDF names the family and states reasons: sealed (AES-256-GCM with the data key) like the forms. */
export interface DecisionFileDoc {
  _id: string;
  pdfSealed: string;
}

const decisionSchema = new Schema(
  {
    _id: { type: String, required: true },
    // A case's decisions are read through its key document (decisions.store.ts), not by this field.
    applicationId: { type: String, required: true },
    applicationNumber: { type: String, required: true },
    kind: { type: String, required: true },
    number: { type: String, required: true, unique: true },
    issuer: { type: String, required: true },
    issuerDivision: { type: String, required: true },
    // The notification catch-up reads the decisions of its window by this.
    decidedAt: { type: Date, required: true, index: true },
    issuedAt: { type: Date, required: true },
    sha256: { type: String, required: true },
    size: { type: Number, required: true },
  },
  { collection: 'decisions', versionKey: false },
);

const decisionFileSchema = new Schema({ _id: { type: String, required: true }, pdfSealed: { type: String, required: true } }, { collection: 'decision_files', versionKey: false });

export function decisionModels(conn: Connection) {
  return {
    Decision: conn.model<DecisionDoc>('Decision', decisionSchema),
    DecisionFile: conn.model<DecisionFileDoc>('DecisionFile', decisionFileSchema),
  };
}
