import { Types, type Model } from 'mongoose';
import type { AppContext } from '../context';
import type { Principal } from '../lib/auth';
import { addKey, backfillKeys, findByKey } from '../lib/keyindex';
import { backfillWorklist, enlist, enterHistory, historyPage, leaveOpen, openItems, type Page, type Worklist } from '../lib/worklist';
import type { ComplaintDoc } from './complaints.model';

/**
 * The complaints collection, read by `_id` only (it grows with the county's history): an
 * application's complaints through a key document (lib/keyindex.ts), the officers' inbox through the
 * open complaints' worklist and the answered ones through month buckets (lib/worklist.ts). Each key
 * is written before the document it lists; each read checks every document in memory.
 */
type Store = Pick<AppContext, 'models'>;

/** Key documents: an application's id → its complaints. */
export const APPLICATION_COMPLAINTS_KEY = 'complaint-application';

const worklist = (ctx: Store): Worklist<ComplaintDoc> => ({
  name: 'complaint',
  model: ctx.models.Complaint as unknown as Model<ComplaintDoc>,
  isOpen: (c) => c.status === 'open',
  doneAt: (c) => (c.status === 'answered' && c.answeredAt ? new Date(c.answeredAt) : null),
});

/** Files a complaint: its keys (application, open list) first, then the document. */
export async function insertComplaint(ctx: Store, doc: Omit<ComplaintDoc, '_id'>): Promise<ComplaintDoc> {
  const _id = new Types.ObjectId();
  await addKey(ctx.models, APPLICATION_COMPLAINTS_KEY, doc.applicationId, _id);
  await enlist(ctx.models, 'complaint', doc.division, _id);
  const created = await ctx.models.Complaint.create({ ...doc, _id });
  return created.toObject() as ComplaintDoc;
}

/** The complaints about one application, oldest first. */
export async function complaintsOf(ctx: Store, applicationId: string): Promise<ComplaintDoc[]> {
  const found = await findByKey<ComplaintDoc>(ctx.models, worklist(ctx).model, APPLICATION_COMPLAINTS_KEY, applicationId, { applicationId });
  return found.sort((a, b) => new Date(a.createdAt).getTime() - new Date(b.createdAt).getTime() || a._id.toString().localeCompare(b._id.toString()));
}

export async function complaintById(ctx: Store, id: Types.ObjectId): Promise<ComplaintDoc | null> {
  return ctx.models.Complaint.findById(id).lean<ComplaintDoc>();
}

/**
 * Records the answer once (null: it was answered already). The complaint enters the answered
 * history of the month first, then its document changes, then it leaves the open list.
 */
export async function storeAnswer(ctx: Store, complaint: ComplaintDoc, answer: NonNullable<ComplaintDoc['answer']>, onTime: boolean): Promise<ComplaintDoc | null> {
  await enterHistory(ctx.models, 'complaint', complaint.division, complaint._id, answer.at);
  const answered = await ctx.models.Complaint.findOneAndUpdate(
    { _id: complaint._id, status: 'open' },
    { $set: { status: 'answered', answer, answeredAt: answer.at, answeredOnTime: onTime } },
    { returnDocument: 'after' },
  ).lean<ComplaintDoc>();
  if (answered) await leaveOpen(ctx.models, 'complaint', complaint.division, complaint._id);
  return answered;
}

/** The open complaints in the caller's jurisdiction, earliest response deadline first. */
export async function openComplaints(ctx: Store, p: Principal, limit: number): Promise<ComplaintDoc[]> {
  const byDeadline = (a: ComplaintDoc, b: ComplaintDoc): number => a.responseDeadline.localeCompare(b.responseDeadline) || a._id.toString().localeCompare(b._id.toString());
  return (await openItems(ctx.models, worklist(ctx), p, { status: 'open' }, byDeadline)).slice(0, limit);
}

/** A page of the answered complaints in the caller's jurisdiction, last answered first. */
export function answeredComplaints(ctx: Store, p: Principal, q: { limit: number; before?: string }): Promise<Page<ComplaintDoc>> {
  return historyPage(ctx.models, worklist(ctx), p, { status: 'answered' }, q);
}

/** Start-up (and the bench after seeding raw documents): the keys missing for stored complaints, from one scan. */
export async function backfillComplaintKeys(ctx: Store): Promise<number> {
  const all = await ctx.models.Complaint.find({}, { applicationId: 1, division: 1, status: 1, answeredAt: 1 }).lean<ComplaintDoc[]>();
  return (
    (await backfillKeys(ctx.models, APPLICATION_COMPLAINTS_KEY, all.map((c): [string, Types.ObjectId] => [c.applicationId, c._id]))) +
    (await backfillWorklist(ctx.models, worklist(ctx), all))
  );
}
