import assert from 'node:assert/strict';
import path from 'node:path';
import { Types } from 'mongoose';
import type { ApplicationDoc, HistoryEntry } from '../service/applications/applications.model';
import { loadPolicy } from '../service/eligibility/policy';
import type { ComplaintDoc } from '../service/complaints/complaints.model';
import { complaintDraft, messageFor } from '../service/notifications/notifications.service';

/** One test per message template: what the resident reads on a phone, word for word where it matters. */
describe('Notification texts', () => {
  const ctx = { policy: loadPolicy(path.join(__dirname, '..', 'schemas')) };
  const stage = { id: 'township-review', level: 'township' as const, name: ctx.policy.type('rebirth-permit')!.stages[0]!.name, division: '430725101', committedDeadline: '2026-03-05', statutoryDeadline: '2026-03-12' };
  const app = {
    _id: new Types.ObjectId(),
    number: '430725-2026-000042',
    type: 'rebirth-permit',
    stages: [stage],
    stageIndex: 0,
    certificateSerial: '430725-2026-RB-000007',
  } as unknown as ApplicationDoc;
  const entry = (action: string, extra: Partial<HistoryEntry> = {}): HistoryEntry => ({
    at: new Date('2026-02-10T02:00:00Z'),
    actor: { id: 'o1', role: 'officer', name: '王芳' },
    channel: 'staff',
    action,
    from: 'in_review',
    to: 'pending',
    stage: stage.id,
    ...extra,
  });

  /** No doubled words or punctuation, no raw codes: the faults residents reported. */
  function assertReadable(text: string): void {
    assert.doesNotMatch(text, /审核审核|。。|：。|，。/);
    assert.doesNotMatch(text, /\b(pending|in_review|returned|marriage-certificate|township-review)\b/);
  }

  it('submitted: the number, the stage and the promised date', () => {
    const text = messageFor(ctx, app, entry('submit', { from: 'draft' }))!.text;
    assertReadable(text);
    assert.equal(text, '您的再生育证申请已受理，受理编号 430725-2026-000042。下一步：由乡镇（街道）审核环节办理，承诺于 2026-03-05 前办结；可凭受理编号和身份证号码（或查询码）查询进度。');
  });

  it('resubmitted', () => {
    const text = messageFor(ctx, app, entry('resubmit', { from: 'returned' }))!.text;
    assertReadable(text);
    assert.match(text, /^您补正后的再生育证申请（受理编号 430725-2026-000042）已重新提交。下一步：由乡镇（街道）审核环节办理，承诺于 2026-03-05 前办结。$/);
  });

  it('returned: the missing documents by their Chinese names and the note, each sentence ended once', () => {
    const text = messageFor(ctx, app, entry('return', { to: 'returned', missing: ['marriage-certificate', 'household-register'], reason: '请补交清晰的扫描件。' }))!.text;
    assertReadable(text);
    assert.match(text, /需要补正：结婚证、户口簿。说明：请补交清晰的扫描件。下一步：/);
  });

  it('rejected: the reason once, and the remedies', () => {
    const text = messageFor(ctx, app, entry('reject', { to: 'rejected', reason: '不符合再生育条件。' }))!.text;
    assertReadable(text);
    assert.match(text, /未获批准，理由：不符合再生育条件。下一步：如有异议/);
  });

  it('approved: the certificate serial', () => {
    const text = messageFor(ctx, app, entry('approve', { to: 'approved', certificateSerial: '430725-2026-RB-000007' }))!.text;
    assertReadable(text);
    assert.match(text, /已批准，证件编号 430725-2026-RB-000007。/);
    assert.equal(messageFor(ctx, app, entry('approve', { to: 'pending' })), undefined, 'a first-stage approval is not news yet');
  });

  it('deadline changed: both dates; unchanged dates send nothing', () => {
    const deadlines = { before: { committed: '2027-01-07' }, counted: { committed: '2027-01-08' }, after: { committed: '2027-01-08' } };
    const text = messageFor(ctx, app, entry('recompute-deadline', { deadlines }))!.text;
    assertReadable(text);
    assert.match(text, /由 2027-01-07 顺延至 2027-01-08。$/);
    const same = { before: { committed: '2027-01-07' }, counted: { committed: '2027-01-06' }, after: { committed: '2027-01-07' } };
    assert.equal(messageFor(ctx, app, entry('recompute-deadline', { deadlines: same })), undefined);
  });

  it('complaint answered: the answer once, and where to turn next', () => {
    const complaint = { _id: new Types.ObjectId(), type: 'rebirth-permit', applicationNumber: '430725-2026-000042', answer: { text: '已核实，材料已补齐。' } } as unknown as ComplaintDoc;
    const text = complaintDraft(ctx, complaint).text;
    assertReadable(text);
    assert.match(text, /投诉已答复：已核实，材料已补齐。下一步：/);
  });
});
