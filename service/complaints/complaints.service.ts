import { Types } from 'mongoose';
import type { HistoryEntry } from '../applications/applications.model';
import { actorOf, historyEntry, loadVisible } from '../applications/applications.service';
import { appendHistory } from '../applications/applications.store';
import { isAllowed } from '../applications/workflow';
import type { AppContext } from '../context';
import { inJurisdiction, jurisdictionFilter, residentSide } from '../lib/access';
import type { Principal } from '../lib/auth';
import { trustedFilter } from '../lib/database';
import { AppError, notFound } from '../lib/errors';
import { chinaDate, deadlineFor, type TimeLimit } from '../lib/workdays';
import { enqueueComplaintAnswered } from '../notifications/notifications.service';
import type { ComplaintDoc } from './complaints.model';

type Ctx = Pick<AppContext, 'models' | 'clock' | 'policy' | 'logger' | 'config'>;

/**
 * How long the bureau gives itself to answer a complaint: 5 working days, day 1 being the first
 * working day after filing (the same counting as the application time limits). It is the county's
 * own service promise, not a statutory figure; change it here and the statistics follow.
 */
export const COMPLAINT_RESPONSE_LIMIT: TimeLimit = { value: 5, unit: 'working_days' };

const missingComplaint = () => notFound({ zh: '未找到该投诉', en: 'Complaint not found' });

export const MAX_COMPLAINTS_PER_APPLICATION = 5;

export async function fileComplaint(ctx: Ctx, p: Principal, applicationId: string, text: string): Promise<ComplaintDoc> {
  const app = await loadVisible(ctx, p, applicationId);
  if (!isAllowed('complain', app.status)) {
    throw new AppError('conflict', { zh: '草稿尚未提交，不能投诉', en: 'A draft that was never submitted cannot be complained about' }, undefined, { currentStatus: app.status });
  }
  // A complaint costs an officer's time and a legal deadline: a handful per case is plenty.
  if ((await ctx.models.Complaint.countDocuments({ applicationId: app._id.toString() })) >= MAX_COMPLAINTS_PER_APPLICATION) {
    throw new AppError('rate_limited', {
      zh: `每件申请最多可投诉 ${MAX_COMPLAINTS_PER_APPLICATION} 次；请等待已提交投诉的答复，或拨打 12345 热线`,
      en: `At most ${MAX_COMPLAINTS_PER_APPLICATION} complaints per application; wait for the answers, or call the 12345 hotline`,
    });
  }
  const now = ctx.clock.now();
  const complaint = await ctx.models.Complaint.create({
    applicationId: app._id.toString(),
    applicationNumber: app.number,
    type: app.type,
    division: app.division ?? '',
    recipient: app.applicantId ? { applicantId: app.applicantId } : { terminalId: app.terminal?.terminalId, township: app.terminal?.township },
    filedBy: actorOf(p),
    channel: p.channel,
    text,
    status: 'open',
    createdAt: now,
    responseDeadline: deadlineFor(now, COMPLAINT_RESPONSE_LIMIT),
  });
  const id = complaint._id.toString();
  await appendHistory(ctx, app._id.toString(), (status) => historyEntry(ctx, p, 'complain', status, status, { reason: text, complaintId: id } as Partial<HistoryEntry>));
  return complaint.toObject() as ComplaintDoc;
}

/** A complaint is visible to whoever may see its application (owner, kiosk, officers of the area, admins). */
async function loadVisibleComplaint(ctx: Ctx, p: Principal, id: string): Promise<ComplaintDoc> {
  if (!Types.ObjectId.isValid(id)) throw missingComplaint();
  const complaint = await ctx.models.Complaint.findById(new Types.ObjectId(id)).lean<ComplaintDoc>();
  if (!complaint) throw missingComplaint();
  await loadVisible(ctx, p, complaint.applicationId).catch(() => {
    throw missingComplaint();
  });
  return complaint;
}

export const getComplaint = loadVisibleComplaint;

export async function listForApplication(ctx: Ctx, p: Principal, applicationId: string): Promise<ComplaintDoc[]> {
  const app = await loadVisible(ctx, p, applicationId);
  return ctx.models.Complaint.find({ applicationId: app._id.toString() }).sort({ createdAt: 1 }).lean<ComplaintDoc[]>();
}

/** Officers' list: complaints about applications in their jurisdiction, earliest response deadline first. */
export async function listComplaints(ctx: Ctx, p: Principal, q: { status: 'open' | 'answered'; limit: number }): Promise<ComplaintDoc[]> {
  return ctx.models.Complaint.find(trustedFilter({ $and: [{ status: q.status }, jurisdictionFilter(p)] }))
    .sort({ status: 1, responseDeadline: 1, _id: 1 })
    .limit(q.limit)
    .lean<ComplaintDoc[]>();
}

/** An officer of the application's area answers once; the answer counts as on time up to the end of the deadline day. */
export async function answerComplaint(ctx: Ctx, p: Principal, id: string, text: string): Promise<ComplaintDoc> {
  if (!Types.ObjectId.isValid(id)) throw missingComplaint();
  const complaint = await ctx.models.Complaint.findById(new Types.ObjectId(id)).lean<ComplaintDoc>();
  if (!complaint || !inJurisdiction(p, complaint.division)) throw missingComplaint();
  const now = ctx.clock.now();
  const answered = await ctx.models.Complaint.findOneAndUpdate(
    { _id: complaint._id, status: 'open' },
    {
      $set: {
        status: 'answered',
        answer: { text, by: actorOf(p), at: now },
        answeredAt: now,
        answeredOnTime: chinaDate(now) <= complaint.responseDeadline,
      },
    },
    { returnDocument: 'after' },
  ).lean<ComplaintDoc>();
  if (!answered) throw new AppError('conflict', { zh: '该投诉已答复', en: 'The complaint was already answered' });
  await appendHistory(ctx, complaint.applicationId, (status) =>
    historyEntry(ctx, p, 'complaint-answered', status, status, { reason: text, complaintId: id } as Partial<HistoryEntry>),
  );
  await enqueueComplaintAnswered(ctx, answered);
  return answered;
}

/** What a caller sees: residents see the answer, not which officer wrote it. */
export function complaintView(ctx: Pick<AppContext, 'clock'>, c: ComplaintDoc, p: Principal) {
  const own = residentSide(p);
  return {
    id: c._id.toString(),
    applicationId: c.applicationId,
    applicationNumber: c.applicationNumber ?? null,
    type: c.type,
    status: c.status,
    text: c.text,
    filedBy: own ? { role: c.filedBy.role } : c.filedBy,
    createdAt: c.createdAt,
    responseDeadline: c.responseDeadline,
    overdue: c.status === 'open' && c.responseDeadline < chinaDate(ctx.clock.now()),
    answer: c.answer ? { text: c.answer.text, at: c.answer.at, by: own ? { role: c.answer.by.role } : c.answer.by } : null,
    answeredOnTime: c.answeredOnTime ?? null,
  };
}
