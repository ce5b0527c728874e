import assert from 'node:assert/strict';
import request from 'supertest';
import { Types } from 'mongoose';
import { accessLog } from '../service/audit/audit.service';
import { trustedFilter } from '../service/lib/database';
import { dispatchDue } from '../service/notifications/notifications.service';
import { makeTestApp, registerAndLogin, staffLogin, terminalLogin, uniqueIdNumber, type TestApp } from './support/app';
import { asParty, birthServiceForm, draft, honourForm, migrantForm, personId, readyBirthService, rebirthPermitForm, submittedApplication, terminalFiling, upload } from './support/forms';

type Form = Record<string, unknown>;
const idOf = (person: unknown): string => (person as { idNumber: string }).idNumber;
/** The same couple in another form. */
const sameCouple = (form: Form, from: Form): Form => ({ ...form, husband: { ...(form.husband as Form), idNumber: idOf(from.husband) }, wife: { ...(form.wife as Form), idNumber: idOf(from.wife) } });

describe('People and families: only parties file, one open case per couple, honour certificates, flags', () => {
  let t: TestApp;
  let township: Awaited<ReturnType<typeof staffLogin>>;
  let county: Awaited<ReturnType<typeof staffLogin>>;
  before(async () => {
    t = await makeTestApp();
    township = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    county = await staffLogin(t, { role: 'officer', level: 'county', jurisdiction: ['430725'] });
  });
  after(() => t.close());

  const post = (path: string, auth: string, body: object = {}) => request(t.app).post(path).set('Authorization', auth).send(body);
  const approve = async (id: string, twoStages = false) => {
    await post(`/api/v1/applications/${id}/claim`, township.auth).expect(200);
    const first = await post(`/api/v1/applications/${id}/decision`, township.auth, { action: 'approve', reason: '同意' }).expect(200);
    if (!twoStages) return first.body as { certificateSerial: string };
    await post(`/api/v1/applications/${id}/claim`, county.auth).expect(200);
    return (await post(`/api/v1/applications/${id}/decision`, county.auth, { action: 'approve', reason: '同意' }).expect(200)).body as { certificateSerial: string };
  };
  const counts = async () => ({
    applications: await t.ctx.models.Application.countDocuments(),
    openCases: await t.ctx.models.OpenCase.countDocuments(),
    families: await t.ctx.models.Family.countDocuments(),
  });

  describe('who may file', () => {
    it('when a resident files for a couple they are not part of, then 422 not_a_party in both languages and nothing is stored', async () => {
      const applicant = await registerAndLogin(t.app);
      const before = await counts();
      const res = await request(t.app).post('/api/v1/applications').set('Authorization', applicant.auth).set('Accept-Language', 'en').send({ type: 'birth-service', form: birthServiceForm() }).expect(422);
      assert.equal(res.body.code, 'not_a_party');
      assert.match(res.body.message.zh, /丈夫或妻子的身份证号码须为办理人本人/);
      assert.match(res.body.detail, /couple you belong to/);
      assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.deepEqual(await counts(), before);
    });

    it('when a draft is edited so the resident is no longer a spouse, then 422 and the draft is unchanged; a draft without ID numbers yet may wait', async () => {
      const applicant = await registerAndLogin(t.app);
      const partial = birthServiceForm();
      delete (partial.husband as Form).idNumber;
      delete (partial.wife as Form).idNumber;
      const created = await draft(t.app, applicant.auth, 'birth-service', partial);
      const stored = () => t.ctx.models.Application.findById(created.id).lean();
      const before = await stored();
      const res = await request(t.app).patch(`/api/v1/applications/${created.id}`).set('Authorization', applicant.auth).send({ form: birthServiceForm() }).expect(422);
      assert.equal(res.body.code, 'not_a_party');
      assert.deepEqual(await stored(), before);
    });

    it('when a kiosk files for a resident who is not in the form, then 422 and nothing is stored', async () => {
      const kiosk = await terminalLogin(t);
      const before = await counts();
      const res = await post('/api/v1/applications', kiosk.auth, { type: 'birth-service', form: birthServiceForm(), ...terminalFiling(personId('female', '1991-01-01')) }).expect(422);
      assert.equal(res.body.code, 'not_a_party');
      assert.deepEqual(await counts(), before);
    });

    it('when a man files the migrant certificate for a woman, then 422: only the woman herself files it', async () => {
      const man = await registerAndLogin(t.app);
      const res = await post('/api/v1/applications', man.auth, { type: 'migrant-marriage', form: migrantForm() }).expect(422);
      assert.equal(res.body.code, 'not_a_party');
      assert.match(res.body.message.zh, /本人申请/);
      const woman = await registerAndLogin(t.app, { idNumber: uniqueIdNumber('female', 1990) });
      await draft(t.app, woman.auth, 'migrant-marriage', migrantForm());
    });
  });

  describe('kiosk cases reach the resident', () => {
    it('when a kiosk files for a resident with an account, then the case is in their list and view with its history, and messages go to their phone, not the kiosk', async () => {
      const resident = await registerAndLogin(t.app, { idNumber: uniqueIdNumber('female', 1985) });
      const kiosk = await terminalLogin(t);
      const sub = await submittedApplication(t.app, kiosk.auth, 'birth-service', birthServiceForm(), terminalFiling(resident.idNumber));
      const list = await request(t.app).get('/api/v1/applications').set('Authorization', resident.auth).expect(200);
      assert.ok(list.body.items.some((i: { id: string }) => i.id === sub.id), 'the kiosk case is in the resident’s own list');
      const view = await request(t.app).get(`/api/v1/applications/${sub.id}`).set('Authorization', resident.auth).expect(200);
      assert.equal(view.body.channel, 'terminal');
      assert.equal(view.body.resident.idNumber, resident.idNumber);
      const history = await request(t.app).get(`/api/v1/applications/${sub.id}/history`).set('Authorization', resident.auth).expect(200);
      const actions = history.body.items.map((h: { action: string }) => h.action);
      assert.equal(actions[0], 'create');
      assert.equal(actions.at(-1), 'submit');
      const outbox = await t.ctx.models.Notification.find({ applicationId: sub.id }).lean();
      assert.equal(outbox.length, 1);
      assert.deepEqual(outbox[0]!.recipient, { applicantId: resident.id });
      await dispatchDue(t.ctx, { limit: 1000 });
      // Delivered to the resident's account: the gateway adapter sends it to the phone on record (test/notify-webhook).
      assert.ok(t.sms.sent.some((m) => m.recipient.applicantId === resident.id && m.text.includes(sub.number)), 'the resident got the message');
      assert.ok(!t.sms.sent.some((m) => m.recipient.terminalId === kiosk.terminalId && m.text.includes(sub.number)), 'the kiosk did not');
      const other = await registerAndLogin(t.app);
      await request(t.app).get(`/api/v1/applications/${sub.id}`).set('Authorization', other.auth).expect(404);
    });

    it('when the resident has no account yet, then the message goes to the kiosk, and the case appears once they register', async () => {
      const idNumber = uniqueIdNumber('male', 1982);
      const kiosk = await terminalLogin(t);
      const sub = await submittedApplication(t.app, kiosk.auth, 'birth-service', birthServiceForm(), terminalFiling(idNumber));
      const outbox = await t.ctx.models.Notification.find({ applicationId: sub.id }).lean();
      assert.equal(outbox[0]!.recipient.terminalId, kiosk.terminalId);
      const resident = await registerAndLogin(t.app, { idNumber });
      const list = await request(t.app).get('/api/v1/applications').set('Authorization', resident.auth).expect(200);
      assert.deepEqual(list.body.items.map((i: { id: string }) => i.id), [sub.id]);
    });
  });

  describe('one open case per couple and type', () => {
    it('when the couple already has an open case of the type, then 409 naming its number, online and at the kiosk; once withdrawn, a new one opens', async () => {
      const husband = await registerAndLogin(t.app);
      const form = asParty('birth-service', birthServiceForm(), husband.idNumber);
      const first = await submittedApplication(t.app, husband.auth, 'birth-service', form);
      const second = await readyBirthService(t.app, husband.auth, form);
      const before = await counts();
      const refused = await post(`/api/v1/applications/${second.id}/submit`, husband.auth).set('Accept-Language', 'en').expect(409);
      assert.equal(refused.body.code, 'case_open');
      assert.equal(refused.body.existingNumber, first.number);
      assert.match(refused.body.message.zh, new RegExp(`受理编号 ${first.number}`));
      assert.match(refused.body.detail, new RegExp(first.number));
      assert.equal((await t.ctx.models.Application.findById(second.id).lean())!.status, 'draft');
      assert.deepEqual(await counts(), before);

      // The wife at the kiosk, for the same couple (spouses in the other order do not make another couple).
      const kiosk = await terminalLogin(t);
      const atKiosk = await draft(t.app, kiosk.auth, 'birth-service', form, terminalFiling(idOf(form.wife)));
      for (const kind of ['marriage-certificate', 'id-card-husband', 'id-card-wife', 'household-register', 'photo']) await upload(t.app, kiosk.auth, atKiosk.id, kind).expect(201);
      const kioskRefused = await post(`/api/v1/applications/${atKiosk.id}/submit`, kiosk.auth).expect(409);
      assert.equal(kioskRefused.body.existingNumber, first.number);

      await post(`/api/v1/applications/${first.id}/withdraw`, husband.auth, { reason: '重新填写' }).expect(200);
      assert.equal(await t.ctx.models.OpenCase.countDocuments({ applicationId: first.id }), 0, 'the key is released when the case ends');
      const reopened = await post(`/api/v1/applications/${second.id}/submit`, husband.auth).expect(200);
      assert.equal(reopened.body.status, 'pending');
      // Another type for the same couple is another key.
      const honour = { ...sameCouple(honourForm(), form), marriage: form.marriage, children: [{ sex: 'male', birthDate: '2015-10-10', alive: true, origin: 'joint' }] };
      await submittedApplication(t.app, husband.auth, 'only-child-honour', honour);
    });

    it('when a rejected case ends, then the couple may file again', async () => {
      const husband = await registerAndLogin(t.app);
      const form = asParty('birth-service', birthServiceForm(), husband.idNumber);
      const first = await submittedApplication(t.app, husband.auth, 'birth-service', form);
      await post(`/api/v1/applications/${first.id}/claim`, township.auth).expect(200);
      await post(`/api/v1/applications/${first.id}/decision`, township.auth, { action: 'reject', reason: '材料虚假' }).expect(200);
      await submittedApplication(t.app, husband.auth, 'birth-service', form);
    });

    it('when a crash left the key with a case that has ended, then the next submission takes it over', async () => {
      const husband = await registerAndLogin(t.app);
      const form = asParty('birth-service', birthServiceForm(), husband.idNumber);
      const first = await submittedApplication(t.app, husband.auth, 'birth-service', form);
      const key = (await t.ctx.models.Application.findById(first.id).lean())!.openCaseKey!;
      // The case ended but the release never ran.
      await t.ctx.models.Application.updateOne({ _id: new Types.ObjectId(first.id) }, { $set: { status: 'withdrawn' } });
      assert.equal(await t.ctx.models.OpenCase.countDocuments({ _id: key }), 1);
      const next = await submittedApplication(t.app, husband.auth, 'birth-service', form);
      assert.equal((await t.ctx.models.OpenCase.findById(key).lean())!.applicationId, next.id);
    });

    it('when 8 submissions for one couple and type race (online and kiosk), then exactly one case opens and one number is taken', async () => {
      for (let round = 0; round < 2; round += 1) {
        const husband = await registerAndLogin(t.app);
        const kiosk = await terminalLogin(t);
        const form = asParty('birth-service', birthServiceForm(), husband.idNumber);
        const drafts: { id: string; auth: string }[] = [];
        for (let i = 0; i < 4; i += 1) drafts.push({ id: (await readyBirthService(t.app, husband.auth, form)).id, auth: husband.auth });
        const template = await t.ctx.models.Application.findById(drafts[0]!.id).lean();
        for (let i = 0; i < 4; i += 1) {
          const filed = await draft(t.app, kiosk.auth, 'birth-service', form, terminalFiling(idOf(form.wife)));
          await t.ctx.models.Application.updateOne({ _id: new Types.ObjectId(filed.id) }, { $set: { documents: template!.documents, documentCount: template!.documents.length } });
          drafts.push({ id: filed.id, auth: kiosk.auth });
        }
        const counter = async () => ((await t.ctx.models.Counter.findById(`application:430725:${new Date().getUTCFullYear()}`).lean()) as { seq?: number } | null)?.seq ?? 0;
        const seq = await counter();
        const results = await Promise.all(drafts.map((d) => post(`/api/v1/applications/${d.id}/submit`, d.auth)));
        const statuses = results.map((r) => r.status).sort();
        assert.deepEqual(statuses, [200, 409, 409, 409, 409, 409, 409, 409], JSON.stringify(results.map((r) => r.body.code)));
        const winner = results.find((r) => r.status === 200)!.body as { id: string; number: string };
        for (const r of results.filter((x) => x.status === 409)) {
          assert.equal(r.body.code, 'case_open');
          assert.equal(r.body.existingNumber === null || r.body.existingNumber === winner.number, true);
        }
        const ids = drafts.map((d) => new Types.ObjectId(d.id));
        assert.equal(await t.ctx.models.Application.countDocuments(trustedFilter({ _id: { $in: ids }, status: 'pending' })), 1);
        assert.equal(await counter(), seq + 1, 'one number taken');
        assert.equal(await t.ctx.models.OpenCase.countDocuments(trustedFilter({ applicationId: { $in: drafts.map((d) => d.id) } })), 1);
      }
    });
  });

  describe('honour certificates and the family record', () => {
    it('when the couple holds an honour certificate, then a second honour application is 409 honour_held and nothing changes', async () => {
      const husband = await registerAndLogin(t.app, { idNumber: uniqueIdNumber('male', 1975) });
      const form = asParty('only-child-honour', honourForm(), husband.idNumber);
      const first = await submittedApplication(t.app, husband.auth, 'only-child-honour', form);
      const { certificateSerial } = await approve(first.id);
      const again = await readyHonour(husband.auth, form);
      const before = await counts();
      const res = await post(`/api/v1/applications/${again}/submit`, husband.auth).expect(409);
      assert.equal(res.body.code, 'honour_held');
      assert.equal(res.body.existingSerial, certificateSerial);
      assert.match(res.body.message.zh, /不能重复申领/);
      assert.match(res.body.message.en, /no second/);
      assert.deepEqual(await counts(), before);
    });

    it('when the couple is later granted a re-birth permit, then the honour certificate is superseded on both sides, its case records it and the holder is told; the family record links all', async () => {
      const husband = await registerAndLogin(t.app, { idNumber: uniqueIdNumber('male', 1975) });
      const honour = asParty('only-child-honour', honourForm(), husband.idNumber);
      const h = await submittedApplication(t.app, husband.auth, 'only-child-honour', honour);
      const { certificateSerial: honourSerial } = await approve(h.id);
      const permit = sameCouple(rebirthPermitForm(), honour);
      const r = await submittedApplication(t.app, husband.auth, 'rebirth-permit', permit);
      const { certificateSerial: permitSerial } = await approve(r.id, true);

      const honourCert = await t.ctx.models.Certificate.findOne({ serial: honourSerial }).lean();
      assert.equal(honourCert!.status, 'revoked');
      assert.equal(honourCert!.supersededBy, permitSerial);
      assert.deepEqual((await t.ctx.models.Certificate.findOne({ serial: permitSerial }).lean())!.supersedes, [honourSerial]);
      const honourApp = await t.ctx.models.Application.findById(h.id).lean();
      const entry = honourApp!.history.at(-1)!;
      assert.equal(entry.action, 'certificate-superseded');
      assert.equal(entry.certificateSerial, permitSerial);
      const told = await t.ctx.models.Notification.findOne({ applicationId: h.id, event: 'certificate-superseded' }).lean();
      assert.ok(told, 'the holder is told');
      assert.match(told.text, new RegExp(`${honourSerial}.*${permitSerial}`));
      assert.deepEqual(told.recipient, { applicantId: husband.id });

      const family = await request(t.app).get(`/api/v1/applications/${r.id}/family`).set('Authorization', county.auth).expect(200);
      assert.deepEqual(family.body.applications.map((a: { number: string }) => a.number), [h.number, r.number]);
      const certs = Object.fromEntries(family.body.certificates.map((c: { serial: string }) => [c.serial, c]));
      assert.equal(certs[honourSerial].supersededBy, permitSerial);
      assert.deepEqual(certs[permitSerial].supersedes, [honourSerial]);
      const record = await t.ctx.models.Family.findById((await t.ctx.models.Application.findById(r.id).lean())!.familyKey).lean();
      assert.deepEqual(record!.applications.map((a) => a.number), [h.number, r.number]);
      assert.deepEqual(record!.certificates.map((c) => c.serial), [honourSerial, permitSerial]);
      assert.ok(!JSON.stringify(record).includes(husband.idNumber), 'the family record holds no ID number');
      const log = (await accessLog(t.ctx, r.id)).filter((e) => e.what === 'view:family');
      assert.equal(log.length, 1);
    });

    it('when a birth-service certificate for a second child is issued under the three-child regime, then the honour certificate is superseded too', async () => {
      const husband = await registerAndLogin(t.app, { idNumber: uniqueIdNumber('male', 1975) });
      const honour = asParty('only-child-honour', honourForm(), husband.idNumber);
      const h = await submittedApplication(t.app, husband.auth, 'only-child-honour', honour);
      const { certificateSerial: honourSerial } = await approve(h.id);
      const second = sameCouple(birthServiceForm(), honour);
      const b = await submittedApplication(t.app, husband.auth, 'birth-service', second);
      const { certificateSerial } = await approve(b.id);
      const cert = await t.ctx.models.Certificate.findOne({ serial: honourSerial }).lean();
      assert.equal(cert!.status, 'revoked');
      assert.equal(cert!.supersededBy, certificateSerial);
    });

    it('when a re-birth form declares three children minutes after an honour form declared one, then the officer sees the flag with both numbers; the resident does not', async () => {
      const husband = await registerAndLogin(t.app, { idNumber: uniqueIdNumber('male', 1975) });
      const honour = asParty('only-child-honour', honourForm(), husband.idNumber);
      const h = await submittedApplication(t.app, husband.auth, 'only-child-honour', honour);
      const permit = { ...sameCouple(rebirthPermitForm(), honour), marriage: honour.marriage };
      const r = await submittedApplication(t.app, husband.auth, 'rebirth-permit', permit);
      const view = await request(t.app).get(`/api/v1/applications/${r.id}`).set('Authorization', township.auth).expect(200);
      assert.equal(view.body.familyFlags.length, 1, JSON.stringify(view.body.familyFlags));
      const flag = view.body.familyFlags[0];
      assert.equal(flag.code, 'children-count');
      assert.equal(flag.otherNumber, h.number);
      assert.match(flag.message.zh, new RegExp(`${r.number} / ${h.number}`));
      assert.match(flag.message.zh, /共同子女 3 个.*申报 1 个/);
      const other = await request(t.app).get(`/api/v1/applications/${h.id}`).set('Authorization', township.auth).expect(200);
      assert.equal(other.body.familyFlags[0].otherNumber, r.number, 'flagged on both cases');
      const own = await request(t.app).get(`/api/v1/applications/${r.id}`).set('Authorization', husband.auth).expect(200);
      assert.equal(own.body.familyFlags, undefined);
      // Not a refusal: both cases stay open.
      assert.equal(view.body.status, 'pending');
    });

    it('when a child was born between two filings, then the counts differ but no flag is raised', async () => {
      const husband = await registerAndLogin(t.app, { idNumber: uniqueIdNumber('male', 1975) });
      const honour = asParty('only-child-honour', honourForm(), husband.idNumber);
      const h = await submittedApplication(t.app, husband.auth, 'only-child-honour', honour);
      // Arranged: the honour form was filed in 2024; a daughter was born in 2025.
      await t.ctx.models.Application.updateOne({ _id: new Types.ObjectId(h.id) }, { $set: { submittedAt: new Date('2024-01-10T02:00:00Z') } });
      const later = { ...sameCouple(birthServiceForm(), honour), marriage: honour.marriage, children: [...(honour.children as Form[]), { sex: 'female', birthDate: '2025-06-01', alive: true, origin: 'joint' }] };
      const b = await submittedApplication(t.app, husband.auth, 'birth-service', later);
      const view = await request(t.app).get(`/api/v1/applications/${b.id}`).set('Authorization', township.auth).expect(200);
      assert.deepEqual(view.body.familyFlags, []);
    });
  });

  async function readyHonour(auth: string, form: Form): Promise<string> {
    const created = await draft(t.app, auth, 'only-child-honour', form);
    const check = await request(t.app).post('/api/v1/certificate-types/only-child-honour/eligibility-check').send({ form }).expect(200);
    for (const doc of check.body.requiredDocuments as { kind: string }[]) await upload(t.app, auth, created.id, doc.kind).expect(201);
    return created.id;
  }
});
