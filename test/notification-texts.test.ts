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

  const written = (kind: 'approval' | 'refusal' | 'supplement', mark: string) => ({ kind, number: `桃卫许${mark}字〔2026〕第000012号` });

  it('returned: the missing documents by their Chinese names, the note, and the notice to download, each sentence ended once', () => {
    const returned = entry('return', { to: 'returned', missing: ['marriage-certificate', 'household-register'], reason: '请补交清晰的扫描件。' });
    const text = messageFor(ctx, app, returned, written('supplement', '补'))!.text;
    assertReadable(text);
    assert.match(text, /需要补正：结婚证、户口簿。说明：请补交清晰的扫描件。《补正材料通知书》（桃卫许补字〔2026〕第000012号）已出具，可登录本系统在“我的办件”中下载，或到乡镇便民服务中心领取。下一步：/);
    assert.equal(messageFor(ctx, app, returned), undefined, 'the message waits for its written notice');
  });

  it('rejected: the reason once, the decision by title and number, and the remedies', () => {
    const text = messageFor(ctx, app, entry('reject', { to: 'rejected', reason: '不符合再生育条件。' }), written('refusal', '不'))!.text;
    assertReadable(text);
    assert.match(text, /未获批准，理由：不符合再生育条件。《不予行政许可决定书》（桃卫许不字〔2026〕第000012号）已出具，可登录本系统在“我的办件”中下载/);
    assert.match(text, /六十日内申请行政复议、六个月内提起行政诉讼。$/);
  });

  it('rejected, the decision could not be written: the message still goes, naming the document without a number', () => {
    const text = messageFor(ctx, app, entry('reject', { to: 'rejected', reason: '不符合再生育条件' }), null)!.text;
    assertReadable(text);
    assert.match(text, /理由：不符合再生育条件。《不予行政许可决定书》可登录本系统在“我的办件”中下载/);
    assert.doesNotMatch(text, /字〔/);
  });

  it('approved: the certificate serial and the written decision', () => {
    const approvedEntry = entry('approve', { to: 'approved', certificateSerial: '430725-2026-RB-000007' });
    const text = messageFor(ctx, app, approvedEntry, written('approval', '准'))!.text;
    assertReadable(text);
    assert.match(text, /已批准，证件编号 430725-2026-RB-000007。《准予行政许可决定书》（桃卫许准字〔2026〕第000012号）已出具/);
    assert.equal(messageFor(ctx, app, approvedEntry), undefined, 'the message waits for its written decision');
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
