import assert from 'node:assert/strict';
import { Types } from 'mongoose';
import request from 'supertest';
import { trustedFilter } from '../service/lib/database';
import { FixedClock } from '../service/lib/clock';
import { formOf } from '../service/applications/applications.service';
import { purgeIdempotencyKeys } from '../service/applications/idempotency';
import { makeTestApp, registerAndLogin, staffLogin, terminalLogin, uniqueIdNumber, type TestApp } from './support/app';
import {
  asParty,
  BIRTH_SERVICE_KINDS,
  birthServiceForm,
  draft,
  filesUnder,
  ineligibleBirthServiceForm,
  readyBirthService,
  terminalFiling,
  upload,
} from './support/forms';

interface HistoryItem {
  action: string;
  from: string | null;
  to: string;
  channel: string;
  actor: { id?: string; role: string; name?: string };
  reason?: string;
}

const NUMBER = /^(\d{6})-(\d{4})-(\d{6})$/;
const sequenceOf = (number: string): number => Number(NUMBER.exec(number)![3]);

describe('Applications: drafts, both channels, submission, numbers and deadlines', function () {
  this.timeout(60_000);
  // Tuesday 2026-02-10, 10:00 in China: regime D is in force and every deadline is inside the calendar data.
  const clock = new FixedClock('2026-02-10T02:00:00Z');
  let t: TestApp;
  before(async () => {
    t = await makeTestApp({ clock });
  });
  after(() => t.close());

  const get = (path: string, auth: string) => request(t.app).get(path).set('Authorization', auth);
  const post = (path: string, auth: string, body: object = {}) => request(t.app).post(path).set('Authorization', auth).send(body);
  const stored = (id: string) => t.ctx.models.Application.findById(id).lean();
  const counter = async (name = 'application:430725:2026') => ((await t.ctx.models.Counter.findById(name).lean()) as { seq?: number } | null)?.seq ?? 0;

  describe('both channels, end to end', () => {
    it('when an applicant drafts, uploads and submits online, then it is pending with a number and the history names who did what', async () => {
      const applicant = await registerAndLogin(t.app);
      const created = await draft(t.app, applicant.auth, 'birth-service', birthServiceForm());
      assert.equal(created.status, 'draft');
      assert.equal(created.channel, 'online');
      assert.equal(created.number, null);
      assert.deepEqual(created.resident, { name: '李明', idNumber: applicant.idNumber });

      for (const kind of BIRTH_SERVICE_KINDS) await upload(t.app, applicant.auth, created.id, kind).expect(201);
      const submitted = await post(`/api/v1/applications/${created.id}/submit`, applicant.auth).expect(200);
      assert.equal(submitted.body.status, 'pending');
      assert.match(submitted.body.number, /^430725-2026-\d{6}$/);
      assert.equal(submitted.body.stage.id, 'township-registration');
      assert.equal(submitted.body.stage.division, '430725101');
      assert.equal(submitted.body.documents.length, BIRTH_SERVICE_KINDS.length);

      const read = await get(`/api/v1/applications/${created.id}`, applicant.auth).expect(200);
      assert.equal(read.body.status, 'pending');
      assert.equal(read.body.number, submitted.body.number);
      const list = await get('/api/v1/applications', applicant.auth).expect(200);
      assert.deepEqual(list.body.items.map((i: { id: string }) => i.id), [created.id]);

      const db = await stored(created.id);
      assert.equal(db?.status, 'pending');
      assert.equal(db?.applicantId, applicant.id);
      assert.equal(db?.queueDivision, '430725101');
      assert.equal(db?.documentCount, BIRTH_SERVICE_KINDS.length);
      assert.ok(!JSON.stringify(db?.resident).includes(applicant.idNumber), 'the resident ID number is stored encrypted only');

      const history = await get(`/api/v1/applications/${created.id}/history`, applicant.auth).expect(200);
      const items = history.body.items as HistoryItem[];
      assert.deepEqual(items.map((h) => h.action), ['create', ...BIRTH_SERVICE_KINDS.map(() => 'upload'), 'submit']);
      for (const h of items) {
        // The history keeps a resident's name masked (it is stored sealed everywhere else).
        assert.deepEqual(h.actor, { id: applicant.id, role: 'applicant', name: '李*' });
        assert.equal(h.channel, 'online');
      }
      assert.deepEqual([items[0]!.from, items[0]!.to], [null, 'draft']);
      assert.deepEqual([items[1]!.from, items[1]!.to], ['draft', 'draft']);
      assert.deepEqual([items.at(-1)!.from, items.at(-1)!.to], ['draft', 'pending']);
    });

    it('when a township terminal files for a resident with the operator and consent, then it is pending in the terminal channel and the terminal reads it back', async () => {
      const terminal = await terminalLogin(t);
      const residentId = uniqueIdNumber('female');
      const created = await draft(t.app, terminal.auth, 'birth-service', birthServiceForm(), terminalFiling(residentId));
      assert.equal(created.channel, 'terminal');
      assert.deepEqual(created.resident, { name: '李秀英', idNumber: residentId });
      const kiosk = created.terminal as { terminalId: string; township: string; operatorName: string; consent: { given: boolean; method: string } };
      assert.equal(kiosk.terminalId, terminal.terminalId);
      assert.equal(kiosk.township, '430725101');
      assert.equal(kiosk.operatorName, '陈干事');
      assert.equal(kiosk.consent.given, true);
      assert.equal(kiosk.consent.method, 'paper-form');

      for (const kind of BIRTH_SERVICE_KINDS) await upload(t.app, terminal.auth, created.id, kind).expect(201);
      const submitted = await post(`/api/v1/applications/${created.id}/submit`, terminal.auth).expect(200);
      assert.equal(submitted.body.status, 'pending');
      assert.match(submitted.body.number, /^430725-2026-\d{6}$/);

      const read = await get(`/api/v1/applications/${created.id}`, terminal.auth).expect(200);
      assert.equal(read.body.status, 'pending');
      const list = await get('/api/v1/applications', terminal.auth).expect(200);
      assert.deepEqual(list.body.items.map((i: { id: string }) => i.id), [created.id]);

      const db = await stored(created.id);
      assert.equal(db?.channel, 'terminal');
      assert.equal(db?.applicantId, undefined);
      assert.equal(db?.terminal?.terminalId, terminal.terminalId);
      assert.equal(db?.terminal?.consent.method, 'paper-form');
      assert.ok(!JSON.stringify(db?.resident).includes(residentId));

      const history = await get(`/api/v1/applications/${created.id}/history`, terminal.auth).expect(200);
      const items = history.body.items as HistoryItem[];
      assert.deepEqual(items.map((h) => h.action), ['create', ...BIRTH_SERVICE_KINDS.map(() => 'upload'), 'submit']);
      for (const h of items) {
        assert.equal(h.actor.id, terminal.terminalId);
        assert.equal(h.actor.role, 'terminal');
        assert.equal(h.channel, 'terminal');
      }
      assert.deepEqual([items.at(-1)!.from, items.at(-1)!.to], ['draft', 'pending']);
    });

    it('when a terminal files without the resident, the operator or the consent, then 400 naming each and nothing is created', async () => {
      const terminal = await terminalLogin(t);
      const before = await t.ctx.models.Application.countDocuments();
      const res = await post('/api/v1/applications', terminal.auth, { type: 'birth-service', form: birthServiceForm() }).expect(400);
      assert.deepEqual(res.body.errors.map((e: { path: string }) => e.path).sort(), ['consent', 'operatorName', 'resident']);
      assert.equal(await t.ctx.models.Application.countDocuments(), before);
    });
  });

  describe('who may see and change what', () => {
    it("when another applicant or another terminal reads, edits, uploads to, downloads from or deletes from an application, then 404 and nothing changes", async () => {
      const owner = await registerAndLogin(t.app);
      const kioskOwner = await terminalLogin(t);
      const online = await draft(t.app, owner.auth, 'birth-service', birthServiceForm());
      const filed = await draft(t.app, kioskOwner.auth, 'birth-service', birthServiceForm(), terminalFiling(uniqueIdNumber()));
      const onlineDoc = (await upload(t.app, owner.auth, online.id, 'photo').expect(201)).body.id as string;
      const filedDoc = (await upload(t.app, kioskOwner.auth, filed.id, 'photo').expect(201)).body.id as string;

      const stranger = await registerAndLogin(t.app);
      const otherKiosk = await terminalLogin(t);
      const snapshot = async () => ({
        apps: await t.ctx.models.Application.find(trustedFilter({ _id: { $in: [online.id, filed.id].map((id) => new Types.ObjectId(id)) } })).sort({ _id: 1 }).lean(),
        files: filesUnder(t.ctx.config.uploadsDir),
      });
      const before = await snapshot();

      const cases: Array<[string, string, string]> = [
        [stranger.auth, online.id, onlineDoc],
        [otherKiosk.auth, online.id, onlineDoc],
        [stranger.auth, filed.id, filedDoc],
        [otherKiosk.auth, filed.id, filedDoc],
      ];
      for (const [auth, id, docId] of cases) {
        const attempts: Array<[string, request.Test]> = [
          ['read', get(`/api/v1/applications/${id}`, auth)],
          ['history', get(`/api/v1/applications/${id}/history`, auth)],
          ['edit', request(t.app).patch(`/api/v1/applications/${id}`).set('Authorization', auth).send({ form: birthServiceForm('430725102202') })],
          ['submit', post(`/api/v1/applications/${id}/submit`, auth)],
          ['withdraw', post(`/api/v1/applications/${id}/withdraw`, auth)],
          ['upload', upload(t.app, auth, id, 'marriage-certificate')],
          ['download', get(`/api/v1/applications/${id}/documents/${docId}`, auth)],
          ['delete', request(t.app).delete(`/api/v1/applications/${id}/documents/${docId}`).set('Authorization', auth)],
        ];
        for (const [what, attempt] of attempts) {
          const res = await attempt;
          assert.equal(res.status, 404, what);
          assert.equal(res.body.code, 'not_found', what);
        }
      }
      const mine = await get('/api/v1/applications', stranger.auth).expect(200);
      assert.deepEqual(mine.body.items, []);
      assert.deepEqual(await snapshot(), before);
    });

    it('when an hour has passed since a terminal filed, then the terminal no longer sees it (404, not listed) and the filing itself is untouched', async () => {
      const windowClock = new FixedClock('2026-02-10T02:00:00Z');
      const w = await makeTestApp({ clock: windowClock, database: 'window' });
      try {
        const kiosk = await terminalLogin(w);
        const filed = await draft(w.app, kiosk.auth, 'birth-service', birthServiceForm(), terminalFiling(uniqueIdNumber()));
        await request(w.app).get(`/api/v1/applications/${filed.id}`).set('Authorization', kiosk.auth).expect(200);

        // The kiosk token lives 15 minutes, so the kiosk signs in again each time, as it would.
        const signIn = async () => {
          const res = await request(w.app).post('/api/v1/auth/terminal-token').send({ terminalId: kiosk.terminalId, secret: kiosk.secret }).expect(200);
          return `Bearer ${res.body.accessToken}`;
        };
        windowClock.advance(3600_000 - 60_000);
        await request(w.app).get(`/api/v1/applications/${filed.id}`).set('Authorization', await signIn()).expect(200);

        windowClock.advance(2 * 60_000);
        const laterAuth = await signIn();
        const res = await request(w.app).get(`/api/v1/applications/${filed.id}`).set('Authorization', laterAuth).expect(404);
        assert.equal(res.body.code, 'not_found');
        await request(w.app).get(`/api/v1/applications/${filed.id}/history`).set('Authorization', laterAuth).expect(404);
        const list = await request(w.app).get('/api/v1/applications').set('Authorization', laterAuth).expect(200);
        assert.deepEqual(list.body.items, []);
        await upload(w.app, laterAuth, filed.id, 'photo').expect(404);
        assert.equal((await w.ctx.models.Application.findById(filed.id).lean())?.status, 'draft', 'the filing itself is untouched');
      } finally {
        await w.close();
      }
    });

    it('when an officer or an admin tries to create an application, then 403 and nothing is created', async () => {
      const officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
      const admin = await staffLogin(t, { role: 'admin' });
      const before = await t.ctx.models.Application.countDocuments();
      for (const auth of [officer.auth, admin.auth]) {
        const res = await post('/api/v1/applications', auth, { type: 'birth-service', form: birthServiceForm() }).expect(403);
        assert.equal(res.body.code, 'forbidden');
      }
      assert.equal(await t.ctx.models.Application.countDocuments(), before);
    });
  });

  describe('mass assignment', () => {
    const smuggled: Array<[string, object]> = [
      ['status', { status: 'approved' }],
      ['applicantId', { applicantId: new Types.ObjectId().toString() }],
      ['number', { number: '430725-2026-000001' }],
    ];

    it('when a create body carries status, applicantId, number or __proto__, then 400 and nothing is created', async () => {
      const applicant = await registerAndLogin(t.app);
      const before = await t.ctx.models.Application.countDocuments();
      for (const [field, extra] of smuggled) {
        const res = await post('/api/v1/applications', applicant.auth, { type: 'birth-service', form: birthServiceForm(), ...extra }).expect(400);
        assert.equal(res.body.code, 'validation_failed', field);
        assert.deepEqual(res.body.errors.map((e: { path: string; code: string }) => [e.path, e.code]), [[field, 'additionalProperties']]);
      }
      const proto = `{"type":"birth-service","form":${JSON.stringify(birthServiceForm())},"__proto__":{"status":"approved"}}`;
      const res = await request(t.app).post('/api/v1/applications').set('Authorization', applicant.auth).set('Content-Type', 'application/json').send(proto).expect(400);
      assert.deepEqual(res.body.errors.map((e: { path: string }) => e.path), ['__proto__']);
      assert.equal(await t.ctx.models.Application.countDocuments(), before);
    });

    it('when a patch body carries status, applicantId, number or __proto__, then 400 and the draft is unchanged', async () => {
      const applicant = await registerAndLogin(t.app);
      const created = await draft(t.app, applicant.auth, 'birth-service', birthServiceForm());
      const before = await stored(created.id);
      const patch = (body: object | string) =>
        request(t.app).patch(`/api/v1/applications/${created.id}`).set('Authorization', applicant.auth).set('Content-Type', 'application/json').send(body);
      for (const [field, extra] of smuggled) {
        const res = await patch({ form: birthServiceForm(), ...extra }).expect(400);
        assert.equal(res.body.code, 'validation_failed', field);
        assert.deepEqual(res.body.errors.map((e: { path: string }) => e.path), [field]);
      }
      const res = await patch(`{"form":${JSON.stringify(birthServiceForm())},"__proto__":{"status":"approved"}}`).expect(400);
      assert.deepEqual(res.body.errors.map((e: { path: string }) => e.path), ['__proto__']);
      assert.deepEqual(await stored(created.id), before);
    });
  });

  describe('editing', () => {
    it('when the applicant patches a draft, then 200, the form is replaced and the edit is in the history', async () => {
      const applicant = await registerAndLogin(t.app);
      const created = await draft(t.app, applicant.auth, 'birth-service', birthServiceForm());
      const form = asParty('birth-service', birthServiceForm('430725102205'), applicant.idNumber);
      const res = await request(t.app).patch(`/api/v1/applications/${created.id}`).set('Authorization', applicant.auth).send({ form }).expect(200);
      assert.deepEqual(res.body.form, form);
      assert.equal(res.body.division, '430725102205');
      const db = await stored(created.id);
      assert.deepEqual(formOf(t.ctx, db!), form);
      assert.ok(!JSON.stringify(db).includes((form.husband as { idNumber: string }).idNumber), 'the form is stored sealed, not in clear');
      assert.deepEqual(db?.history.map((h) => [h.action, h.from, h.to]), [['create', null, 'draft'], ['edit', 'draft', 'draft']]);
    });

    it('when the applicant patches after submitting, then 409 and nothing changes', async () => {
      const applicant = await registerAndLogin(t.app);
      const ready = await readyBirthService(t.app, applicant.auth);
      await post(`/api/v1/applications/${ready.id}/submit`, applicant.auth).expect(200);
      const before = await stored(ready.id);
      const res = await request(t.app)
        .patch(`/api/v1/applications/${ready.id}`)
        .set('Authorization', applicant.auth)
        .send({ form: birthServiceForm('430725102205') })
        .expect(409);
      assert.equal(res.body.code, 'conflict');
      assert.deepEqual(await stored(ready.id), before);
    });
  });

  describe('submission', () => {
    it('when a required document is missing, then 422 missing_documents listing the kinds, still a draft, no number taken', async () => {
      const applicant = await registerAndLogin(t.app);
      const created = await draft(t.app, applicant.auth, 'birth-service', birthServiceForm());
      await upload(t.app, applicant.auth, created.id, 'marriage-certificate').expect(201);
      await upload(t.app, applicant.auth, created.id, 'photo').expect(201);
      const seq = await counter();
      const before = await stored(created.id);

      const res = await post(`/api/v1/applications/${created.id}/submit`, applicant.auth).expect(422);
      assert.equal(res.body.code, 'missing_documents');
      assert.deepEqual(res.body.missingDocuments.map((d: { kind: string }) => d.kind).sort(), ['household-register', 'id-card-husband', 'id-card-wife']);
      assert.deepEqual(res.body.errors.map((e: { path: string }) => e.path).sort(), ['documents.household-register', 'documents.id-card-husband', 'documents.id-card-wife']);
      assert.deepEqual(await stored(created.id), before);
      assert.equal((await stored(created.id))?.number, undefined);
      assert.equal(await counter(), seq);
    });

    it('when no eligibility ground holds, then 422 not_eligible with the grounds, still a draft, no number taken', async () => {
      const applicant = await registerAndLogin(t.app);
      const created = await draft(t.app, applicant.auth, 'birth-service', ineligibleBirthServiceForm());
      for (const kind of BIRTH_SERVICE_KINDS) await upload(t.app, applicant.auth, created.id, kind).expect(201);
      const seq = await counter();
      const before = await stored(created.id);

      const res = await post(`/api/v1/applications/${created.id}/submit`, applicant.auth).expect(422);
      assert.equal(res.body.code, 'not_eligible');
      assert.equal(res.body.eligibility.eligible, false);
      const grounds = res.body.eligibility.grounds as { kind: string; met: boolean; message: string }[];
      assert.ok(grounds.some((g) => g.kind === 'ground'), 'the grounds are listed');
      assert.ok(grounds.filter((g) => g.kind === 'ground').every((g) => !g.met && g.message));
      assert.deepEqual(await stored(created.id), before);
      assert.equal(await counter(), seq);
    });

    it('when the same submission is sent twice at once with one Idempotency-Key, then both get the identical answer and one number is used', async () => {
      const applicant = await registerAndLogin(t.app);
      const ready = await readyBirthService(t.app, applicant.auth);
      const seq = await counter();
      const send = () => post(`/api/v1/applications/${ready.id}/submit`, applicant.auth).set('Idempotency-Key', `submit-${ready.id}`);
      const [a, b] = await Promise.all([send(), send()]);
      assert.equal(a.status, 200);
      assert.equal(b.status, 200);
      assert.deepEqual(a.body, b.body);
      assert.equal(sequenceOf(a.body.number), seq + 1);
      assert.equal(await counter(), seq + 1);
      const db = await stored(ready.id);
      assert.equal(db?.number, a.body.number);
      assert.equal(db?.history.filter((h) => h.action === 'submit').length, 1);

      const again = await send().expect(200);
      assert.deepEqual(again.body, a.body);
      assert.equal(await counter(), seq + 1);
    });

    it('when a draft is submitted twice at once without a key (a double click), then both get one answer and exactly one number is used', async () => {
      const applicant = await registerAndLogin(t.app);
      const ready = await readyBirthService(t.app, applicant.auth);
      const seq = await counter();
      const [a, b] = await Promise.all([0, 1].map(() => post(`/api/v1/applications/${ready.id}/submit`, applicant.auth)));
      assert.deepEqual([a!.status, b!.status], [200, 200]);
      assert.equal(a!.body.number, b!.body.number);
      assert.equal(await counter(), seq + 1, 'no number was lost to the loser');
      assert.equal((await stored(ready.id))?.history.filter((h) => h.action === 'submit').length, 1);
    });

    it('when an idempotency record is older than a day, finished or left pending by a crash, then the clean-up removes it and keeps the rest', async () => {
      const now = t.ctx.clock.now().getTime();
      const ids = [`old-done-${now}`, `old-pending-${now}`, `new-done-${now}`];
      await t.ctx.models.IdempotencyKey.create([
        { _id: ids[0], fingerprint: 'f', state: 'done', status: 200, resourceId: 'x', createdAt: new Date(now - 25 * 3600_000) },
        { _id: ids[1], fingerprint: 'f', state: 'pending', createdAt: new Date(now - 25 * 3600_000) },
        { _id: ids[2], fingerprint: 'f', state: 'done', status: 200, resourceId: 'x', createdAt: new Date(now - 3600_000) },
      ]);
      assert.ok((await purgeIdempotencyKeys(t.ctx)) >= 2);
      const left = (await t.ctx.models.IdempotencyKey.find(trustedFilter({ _id: { $in: ids } })).lean()).map((r) => r._id).sort();
      assert.deepEqual(left, [ids[2]]);
    });

    it('when two creates share one Idempotency-Key at once, then one application exists and both get it; the key with another body is 422', async () => {
      const applicant = await registerAndLogin(t.app);
      const form = asParty('birth-service', birthServiceForm(), applicant.idNumber);
      const send = (body: object) => post('/api/v1/applications', applicant.auth, body).set('Idempotency-Key', 'create-once');
      const [a, b] = await Promise.all([send({ type: 'birth-service', form }), send({ type: 'birth-service', form })]);
      assert.equal(a.status, 201);
      assert.equal(b.status, 201);
      assert.deepEqual(a.body, b.body);
      assert.equal(await t.ctx.models.Application.countDocuments({ applicantId: applicant.id }), 1);

      const other = await send({ type: 'birth-service', form: birthServiceForm('430725102202') }).expect(422);
      assert.equal(other.body.code, 'unprocessable');
      assert.equal(await t.ctx.models.Application.countDocuments({ applicantId: applicant.id }), 1);
    });

    it('when 50 different drafts are submitted at once, then they get 50 distinct consecutive numbers', async () => {
      const t = await makeTestApp({ clock, database: 'numbers' });
      const counter = async () => ((await t.ctx.models.Counter.findById('application:430725:2026').lean()) as { seq?: number } | null)?.seq ?? 0;
      const stored = (id: string) => t.ctx.models.Application.findById(id).lean();
      const post = (path: string, auth: string) => request(t.app).post(path).set('Authorization', auth).send({});
      const applicant = await registerAndLogin(t.app);
      const template = await readyBirthService(t.app, applicant.auth);
      const { documents } = (await stored(template.id))!;
      const drafts = [];
      // 50 different couples (one open case per couple and type): the applicant with 50 different wives.
      const wives = new Set<string>();
      while (wives.size < 50) wives.add(uniqueIdNumber('female', 1988));
      for (const wife of wives) {
        const form = birthServiceForm();
        drafts.push(await draft(t.app, applicant.auth, 'birth-service', { ...form, wife: { ...(form.wife as object), idNumber: wife } }));
      }
      const ids = drafts.map((d) => new Types.ObjectId(d.id));
      // Arranged in the database: 250 uploads through the API would only test the upload rate limit.
      await t.ctx.models.Application.updateMany(trustedFilter({ _id: { $in: ids } }), { $set: { documents, documentCount: documents.length } });
      const seq = await counter();

      const results = await Promise.all(drafts.map((d) => post(`/api/v1/applications/${d.id}/submit`, applicant.auth)));
      for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body));
      const sequences = results.map((r) => sequenceOf(r.body.number as string)).sort((x, y) => x - y);
      assert.deepEqual(sequences, Array.from({ length: 50 }, (_, i) => seq + 1 + i));
      assert.equal(await counter(), seq + 50);
      const numbers = await t.ctx.models.Application.distinct('number', trustedFilter({ _id: { $in: ids } }));
      assert.equal(numbers.length, 50);
      await t.close();
    });
  });

  describe('withdrawal', () => {
    it('when the applicant withdraws a pending application, then it is withdrawn with the reason in the history', async () => {
      const applicant = await registerAndLogin(t.app);
      const ready = await readyBirthService(t.app, applicant.auth);
      await post(`/api/v1/applications/${ready.id}/submit`, applicant.auth).expect(200);
      const res = await post(`/api/v1/applications/${ready.id}/withdraw`, applicant.auth, { reason: '不再需要' }).expect(200);
      assert.equal(res.body.status, 'withdrawn');
      const db = await stored(ready.id);
      assert.equal(db?.status, 'withdrawn');
      const last = db!.history.at(-1)!;
      assert.deepEqual([last.action, last.from, last.to, last.reason, last.actor.id, last.channel], ['withdraw', 'pending', 'withdrawn', '不再需要', applicant.id, 'online']);
    });

    it('when the applicant withdraws after a decision, then 409 and nothing changes', async () => {
      const applicant = await registerAndLogin(t.app);
      const officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
      const ready = await readyBirthService(t.app, applicant.auth);
      await post(`/api/v1/applications/${ready.id}/submit`, applicant.auth).expect(200);
      await post(`/api/v1/applications/${ready.id}/claim`, officer.auth).expect(200);
      await post(`/api/v1/applications/${ready.id}/decision`, officer.auth, { action: 'reject', reason: '不符合条件' }).expect(200);
      const before = await stored(ready.id);

      const res = await post(`/api/v1/applications/${ready.id}/withdraw`, applicant.auth, { reason: '撤回' }).expect(409);
      assert.equal(res.body.code, 'conflict');
      assert.equal(res.body.currentStatus, 'rejected');
      assert.deepEqual(await stored(ready.id), before);
    });
  });
});

describe('Applications: deadlines on the official calendar', function () {
  this.timeout(30_000);
  const clock = new FixedClock('2026-02-10T02:00:00Z');
  let t: TestApp;
  before(async () => {
    t = await makeTestApp({ clock, database: 'deadlines' });
  });
  after(() => t.close());

  it('when a birth-service application is accepted on Friday 2026-02-13 before the Spring Festival, then its deadlines skip the holiday and count the worked Saturdays', async () => {
    /*
     * The official 2026 schedule (国办发明电〔2025〕7号), as chinese-days holds it: 2026-02-15 to
     * 02-23 off; Saturdays 02-14 and 02-28 worked. Day 1 is the first working day after acceptance.
     *   Sat 02-14 = 1 (worked Saturday), 02-15…02-23 off,
     *   Tue 02-24 = 2, Wed 25 = 3, Thu 26 = 4, Fri 27 = 5, Sat 02-28 = 6 (worked Saturday), Sun 03-01 off,
     *   Mon 03-02 = 7, Tue 03 = 8, Wed 04 = 9, Thu 03-05 = 10   → committed (10 working days) 2026-03-05
     *   Fri 03-06 = 11, Mon 09 = 12, Tue 10 = 13, Wed 11 = 14, Thu 03-12 = 15 → statutory (15) 2026-03-12
     */
    clock.set('2026-02-13T02:00:00Z');
    const applicant = await registerAndLogin(t.app);
    const ready = await readyBirthService(t.app, applicant.auth);
    const res = await request(t.app).post(`/api/v1/applications/${ready.id}/submit`).set('Authorization', applicant.auth).send({}).expect(200);
    assert.equal(res.body.stage.committedDeadline, '2026-03-05');
    assert.equal(res.body.stage.statutoryDeadline, '2026-03-12');
    const db = await t.ctx.models.Application.findById(ready.id).lean();
    assert.equal(db?.queueDeadline, '2026-03-05');
    assert.equal(db?.stages[0]?.statutoryDeadline, '2026-03-12');
  });

  it('when an application is accepted just after midnight on New Year in China, then its number carries the new year', async () => {
    // 2025-12-31T16:30Z is 2026-01-01 00:30 in China: the application belongs to 2026.
    clock.set('2025-12-31T16:30:00Z');
    const applicant = await registerAndLogin(t.app);
    const ready = await readyBirthService(t.app, applicant.auth);
    const res = await request(t.app).post(`/api/v1/applications/${ready.id}/submit`).set('Authorization', applicant.auth).send({}).expect(200);
    assert.match(res.body.number, /^430725-2026-\d{6}$/);
  });
});
