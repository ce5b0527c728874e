import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import request from 'supertest';
import { createStaff } from '../service/accounts/accounts.service';
import { accessLog } from '../service/audit/audit.service';
import type { NotificationDoc } from '../service/notifications/notifications.model';
import { sweepMissedNotifications } from '../service/notifications/notifications.service';
import { checkPdfSignature } from '../service/pdf/signing';
import { couple, makeTestApp, registerAndLogin, staffLogin, type TestApp } from './support/app';
import { birthServiceForm, submittedApplication } from './support/forms';
import { Visitor } from './support/visitor';

const sha256 = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

/** Written decisions reach the resident: named in the message, listed on the case page, downloadable there and on the workbench. */
describe('written decisions: the message, the case page and the downloads', function () {
  this.timeout(120_000);
  let t: TestApp;
  let township: Awaited<ReturnType<typeof staffLogin>>;
  before(async () => {
    t = await makeTestApp();
    township = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
  });
  after(() => t.close());

  const post = (p: string, auth: string, body: object = {}) => request(t.app).post(p).set('Authorization', auth).send(body);

  /** A resident with a submitted case, signed in on the pages too. */
  async function residentWithCase() {
    const api = await registerAndLogin(t.app);
    const sub = await submittedApplication(t.app, api.auth, 'birth-service', couple(birthServiceForm()));
    const v = new Visitor(t.app);
    await v.get('/sign-in');
    assert.equal((await v.post('/sign-in', { idNumber: api.idNumber, password: 'correct horse' })).status, 303);
    return { api, sub, v };
  }

  async function decide(id: string, body: object) {
    await post(`/api/v1/applications/${id}/claim`, township.auth).expect(200);
    return post(`/api/v1/applications/${id}/decision`, township.auth, body).expect(200);
  }

  const outbox = (applicationId: string, event: NotificationDoc['event']) => t.ctx.models.Notification.findOne({ applicationId, event }).lean<NotificationDoc>();
  const decisionsOf = async (id: string, auth: string) => (await request(t.app).get(`/api/v1/applications/${id}/decisions`).set('Authorization', auth).expect(200)).body.items;

  async function staffPages() {
    const username = `d${crypto.randomBytes(5).toString('hex')}`;
    await createStaff(t.ctx, { username, password: 'officer-password-1', name: '王芳', role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    const v = new Visitor(t.app);
    await v.get('/officer/sign-in');
    assert.equal((await v.post('/officer/sign-in', { username, password: 'officer-password-1' })).status, 303);
    return v;
  }

  it('when an officer refuses, then the message names the refusal by title and number and says where to get it, and a lost message comes back the same', async () => {
    const { api, sub } = await residentWithCase();
    await decide(sub.id, { action: 'reject', reason: '婚姻登记信息与民政部门记录不一致' });
    const [refusal] = await decisionsOf(sub.id, api.auth);
    assert.equal(refusal.kind, 'refusal');
    const message = await outbox(sub.id, 'rejected');
    assert.ok(message, 'one message for the refusal');
    assert.ok(message.text.includes(`《不予行政许可决定书》（${refusal.number}）已出具`), message.text);
    assert.match(message.text, /可登录本系统在“我的办件”中下载，或到乡镇便民服务中心领取/);
    assert.equal(await t.ctx.models.Notification.countDocuments({ applicationId: sub.id, event: 'rejected' }), 1);

    // A crash lost the message: the catch-up sweep writes the same words, the number included.
    await t.ctx.models.Notification.deleteOne({ _id: message._id });
    await sweepMissedNotifications(t.ctx, new Date(Date.now() - 3_600_000));
    const restored = await outbox(sub.id, 'rejected');
    assert.equal(restored?.text, message.text);
  });

  it('when a case is returned, then the message names the supplement notice; when one is approved, the grant', async () => {
    const returned = await residentWithCase();
    await decide(returned.sub.id, { action: 'return', reason: '照片不清晰', missing: ['photo'] });
    const [notice] = await decisionsOf(returned.sub.id, returned.api.auth);
    assert.equal(notice.kind, 'supplement');
    assert.ok((await outbox(returned.sub.id, 'returned'))?.text.includes(`《补正材料通知书》（${notice.number}）已出具`));

    const approved = await residentWithCase();
    const done = await decide(approved.sub.id, { action: 'approve', reason: '材料齐全' });
    const [grant] = await decisionsOf(approved.sub.id, approved.api.auth);
    assert.equal(grant.kind, 'approval');
    const text = (await outbox(approved.sub.id, 'approved'))?.text ?? '';
    assert.ok(text.includes(`证件编号 ${done.body.certificateSerial}`) && text.includes(`《准予行政许可决定书》（${grant.number}）已出具`), text);

    // The resident's certificate as a signed PDF from the pages, and only theirs.
    const pdf = await approved.v.get(`/my/certificates/${done.body.certificateSerial}/certificate.pdf`, 'application/pdf');
    assert.equal(pdf.status, 200);
    assert.match(pdf.headers['content-type'], /application\/pdf/);
    assert.ok(approved.v.html === '' || !approved.v.html.includes('<html'), 'a file, not a page');
    const other = await residentWithCase();
    assert.equal((await other.v.get(`/my/certificates/${done.body.certificateSerial}/certificate.pdf`)).status, 404);
  });

  it('when the resident opens the refused case, then the refusal is listed and downloads as the signed file kept with the case; the officer downloads it from the workbench; another resident gets 404', async () => {
    const { api, sub, v } = await residentWithCase();
    await decide(sub.id, { action: 'reject', reason: '不符合条件' });
    const [refusal] = await decisionsOf(sub.id, api.auth);

    const page = await v.get(`/my/${sub.id}`);
    assert.equal(page.status, 200);
    const link = `/my/${sub.id}/decisions/${refusal.id}`;
    assert.ok(page.text.includes('不予行政许可决定书') && page.text.includes(refusal.number), 'the case page names the decision');
    assert.ok(page.text.includes(`href="${link}"`), 'and links its download');

    const binary = (path: string, visitor: Visitor) =>
      request(t.app)
        .get(path)
        .set('Cookie', [...visitor.cookies].map(([k, val]) => `${k}=${val}`).join('; '))
        .buffer(true)
        .parse((res, cb) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => cb(null, Buffer.concat(chunks)));
        });
    const mine = await binary(link, v);
    assert.equal(mine.status, 200);
    assert.match(mine.headers['content-type'], /application\/pdf/);
    assert.match(mine.headers['content-disposition'], /^attachment; filename="decision-refusal-/);
    assert.equal(mine.headers['cache-control'], 'no-store');
    assert.equal(sha256(mine.body as Buffer), refusal.sha256, 'the file kept with the case');
    const sig = checkPdfSignature(mine.body as Buffer, t.ctx.keys.pdf.fingerprints());
    assert.ok(sig.signed && sig.intact && sig.ours);

    const officer = await staffPages();
    const officerLink = `/officer/cases/${sub.id}/decisions/${refusal.id}`;
    const copy = await binary(officerLink, officer);
    assert.equal(copy.status, 200);
    assert.equal(sha256(copy.body as Buffer), refusal.sha256);
    const log = await accessLog(t.ctx, sub.id);
    assert.ok(log.some((e) => e.what === 'download:decision:refusal'), 'the officer’s download is in the access log');

    const stranger = await residentWithCase();
    assert.equal((await stranger.v.get(link)).status, 404, 'another resident: 404');
    assert.equal((await stranger.v.get(`/my/${stranger.sub.id}/decisions/${refusal.id}`)).status, 404, 'a decision of another case under one’s own: 404');
    assert.equal((await stranger.v.get(officerLink)).status, 404, 'a resident on the workbench route: 404');
    const nobody = new Visitor(t.app);
    const anonymous = await nobody.get(link);
    assert.equal(anonymous.status, 303);
    assert.match(anonymous.headers.location ?? '', /^\/sign-in/);
    const elsewhere = new Visitor(t.app);
    const username = `e${crypto.randomBytes(5).toString('hex')}`;
    await createStaff(t.ctx, { username, password: 'officer-password-1', name: '李四', role: 'officer', level: 'township', jurisdiction: ['430725102'] });
    await elsewhere.get('/officer/sign-in');
    await elsewhere.post('/officer/sign-in', { username, password: 'officer-password-1' });
    assert.equal((await elsewhere.get(officerLink)).status, 404, 'an officer of another township: 404');
  });
});
