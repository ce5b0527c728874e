import { Types } from 'mongoose';
import type { HistoryEntry } from '../applications/applications.model';
import { actorOf, historyEntry, loadVisible } from '../applications/applications.service';
import { appendHistory } from '../applications/applications.store';
import { isAllowed } from '../applications/workflow';
import type { AppContext } from '../context';
import { inJurisdiction, residentSide } from '../lib/access';
import type { Principal } from '../lib/auth';
import { AppError, notFound } from '../lib/errors';
import { chinaDate, deadlineFor, type TimeLimit } from '../lib/workdays';
import { enqueueComplaintAnswered } from '../notifications/notifications.service';
import type { ComplaintDoc } from './complaints.model';
import { answeredComplaints, complaintById, complaintsOf, insertComplaint, openComplaints, storeAnswer } from './complaints.store';

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
  if ((await complaintsOf(ctx, app._id.toString())).length >= MAX_COMPLAINTS_PER_APPLICATION) {
    throw new AppError('rate_limited', {
      zh: `每件申请最多可投诉 ${MAX_COMPLAINTS_PER_APPLICATION} 次；请等待已提交投诉的答复，或拨打 12345 热线`,
      en: `At most ${MAX_COMPLAINTS_PER_APPLICATION} complaints per application; wait for the answers, or call the 12345 hotline`,
    });
  }
  const now = ctx.clock.now();
  const complaint = await insertComplaint(ctx, {
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
  return complaint;
}

/** A complaint is visible to whoever may see its application (owner, kiosk, officers of the area, admins). */
async function loadVisibleComplaint(ctx: Ctx, p: Principal, id: string): Promise<ComplaintDoc> {
  if (!Types.ObjectId.isValid(id)) throw missingComplaint();
  const complaint = await complaintById(ctx, new Types.ObjectId(id));
  if (!complaint) throw missingComplaint();
  await loadVisible(ctx, p, complaint.applicationId).catch(() => {
    throw missingComplaint();
  });
  return complaint;
}

export const getComplaint = loadVisibleComplaint;

export async function listForApplication(ctx: Ctx, p: Principal, applicationId: string): Promise<ComplaintDoc[]> {
  const app = await loadVisible(ctx, p, applicationId);
  return complaintsOf(ctx, app._id.toString());
}

/**
 * Officers' list of complaints about applications in their jurisdiction: the open ones earliest
 * response deadline first (all of them fit: open work is small), the answered ones last answered
 * first, a page at a time (`next` is the `before` of the next page).
 */
export async function listComplaints(ctx: Ctx, p: Principal, q: { status: 'open' | 'answered'; limit: number; before?: string }): Promise<{ items: ComplaintDoc[]; next: string | null }> {
  if (q.status === 'answered') return answeredComplaints(ctx, p, q);
  return { items: await openComplaints(ctx, p, q.limit), next: null };
}

/** An officer of the application's area answers once; the answer counts as on time up to the end of the deadline day. */
export async function answerComplaint(ctx: Ctx, p: Principal, id: string, text: string): Promise<ComplaintDoc> {
  if (!Types.ObjectId.isValid(id)) throw missingComplaint();
  const complaint = await complaintById(ctx, new Types.ObjectId(id));
  if (!complaint || !inJurisdiction(p, complaint.division)) throw missingComplaint();
  const now = ctx.clock.now();
  const answered = await storeAnswer(ctx, complaint, { text, by: actorOf(p), at: now }, chinaDate(now) <= complaint.responseDeadline);
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
