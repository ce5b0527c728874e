import assert from 'node:assert/strict';
import request from 'supertest';
import { FixedClock } from '../service/lib/clock';
import { ELIGIBILITY_CHECKS_PER_MINUTE } from '../service/eligibility/eligibility.routes';
import { makeIdNumber, makeTestApp, type TestApp } from './support/app';

const CHECK = (code: string) => `/api/v1/certificate-types/${code}/eligibility-check`;

function form(children: unknown[] = [], extra: Record<string, unknown> = {}) {
  return {
    residence: { divisionCode: '430725101202' },
    husband: { name: '张伟', idNumber: makeIdNumber('male', '1981-05-01'), residentType: 'urban' },
    wife: { name: '李娜', idNumber: makeIdNumber('female', '1984-01-01'), residentType: 'urban' },
    marriage: { date: '2004-01-01', kind: 'first' },
    children,
    ...extra,
  };
}
const son = { sex: 'male', birthDate: '2005-01-01', alive: true, origin: 'joint' };

async function documentCounts(t: TestApp): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const c of await t.conn.db!.listCollections().toArray()) out[c.name] = await t.conn.db!.collection(c.name).countDocuments();
  return out;
}

describe('catalogue and eligibility pre-check (HTTP)', () => {
  let t: TestApp;
  const clock = new FixedClock('2024-03-01T02:00:00Z');
  before(async () => {
    t = await makeTestApp({ clock });
  });
  after(() => t.close());
  afterEach(() => clock.set('2024-03-01T02:00:00Z'));

  it('when the catalogue is asked for, then it lists the four types with documents, stage limits and fee', async () => {
    const res = await request(t.app).get('/api/v1/certificate-types').set('Accept-Language', 'en').expect(200);
    assert.deepEqual(
      res.body.items.map((i: { code: string; serialCode: string }) => [i.code, i.serialCode]),
      [['birth-service', 'BS'], ['rebirth-permit', 'RB'], ['only-child-honour', 'OH'], ['migrant-marriage', 'MM']],
    );
    for (const item of res.body.items) {
      assert.equal(item.fee, 0);
      assert.ok(item.documents.length > 0 && item.documents.every((d: { names?: unknown; name: { zh: string; en: string } }) => d.name.zh && d.name.en));
      for (const stage of item.stages) {
        assert.ok(['working_days', 'calendar_days'].includes(stage.statutory.unit) && stage.statutory.value > 0);
        assert.ok(stage.committed.value <= stage.statutory.value);
      }
    }
    const rebirth = res.body.items[1];
    assert.equal(rebirth.name, 'Permit for an additional child');
    assert.deepEqual(rebirth.stages.map((s: { level: string }) => s.level), ['township', 'county']);
    assert.deepEqual(res.body.items[3].validity, { years: 3 });
    const zh = await request(t.app).get('/api/v1/certificate-types').expect(200);
    assert.equal(zh.body.items[1].name, '再生育证');
    assert.equal(zh.headers['content-language'], 'zh');
  });

  it('when a service guide is asked for, then it shows the conditions in force today, documents, steps, limits and fee', async () => {
    const res = await request(t.app).get('/api/v1/certificate-types/rebirth-permit').expect(200);
    assert.equal(res.body.code, 'rebirth-permit');
    assert.equal(res.body.fee, 0);
    assert.ok(res.body.steps.length >= 3 && res.body.legalBasis.length >= 1);
    assert.equal(res.body.conditions.regime.version, 'D-2021.1');
    assert.deepEqual(res.body.conditions.grounds.map((g: { id: string }) => g.id), ['D1']);
    assert.deepEqual(res.body.conditions.grounds[0].documents, ['disabled-child-appraisal']);
    const doc = res.body.documents.find((d: { kind: string }) => d.kind === 'divorce-papers');
    assert.equal(doc.required, 'when');
    assert.equal(doc.condition.zh, '再婚或复婚的');
    assert.equal(doc.when, undefined);

    clock.set('2010-03-01T02:00:00Z');
    const old = await request(t.app).get('/api/v1/certificate-types/rebirth-permit').expect(200);
    assert.equal(old.body.conditions.regime.version, 'A-2002.1');
    assert.ok(old.body.conditions.grounds.length >= 11);
  });

  it('when the honour certificate guide is read today, then it says it is not issued for births from 2016', async () => {
    const res = await request(t.app).get('/api/v1/certificate-types/only-child-honour').expect(200);
    assert.match(res.body.conditions.notice.zh, /不再为新出生的子女办理/);
  });

  it('when the type is unknown, then 404 for the guide and for the pre-check', async () => {
    const guide = await request(t.app).get('/api/v1/certificate-types/marriage-licence').expect(404);
    assert.equal(guide.body.code, 'not_found');
    const check = await request(t.app).post(CHECK('marriage-licence')).send({ form: form() }).expect(404);
    assert.equal(check.body.code, 'not_found');
    await request(t.app).get('/api/v1/certificate-types/__proto__').expect(404);
  });

  it('when the same couple pre-checks in 2010 and in 2024, then the answer follows the regime of the day, and nothing is stored', async () => {
    const before = await documentCounts(t);
    clock.set('2010-03-01T02:00:00Z');
    const a = await request(t.app).post(CHECK('birth-service')).set('Accept-Language', 'en').send({ form: form([son]) }).expect(200);
    assert.equal(a.body.eligible, false);
    assert.equal(a.body.regime.version, 'A-2002.1');
    const unmet = a.body.grounds.find((g: { id: string }) => g.id === 'A-BS1');
    assert.equal(unmet.met, false);
    assert.match(unmet.message, /already have a child/);
    assert.ok(unmet.citation.includes('湖南省人口与计划生育条例'));

    clock.set('2024-03-01T02:00:00Z');
    const d = await request(t.app).post(CHECK('birth-service')).send({ form: form([son]) }).expect(200);
    assert.equal(d.body.eligible, true);
    assert.equal(d.body.regime.version, 'D-2021.1');
    assert.equal(d.body.ground, 'D-BS1');
    assert.match(d.body.grounds.find((g: { id: string }) => g.id === 'D-BS1').message, /登记服务/);
    assert.ok(d.body.requiredDocuments.some((doc: { kind: string }) => doc.kind === 'marriage-certificate'));
    assert.equal(d.headers['cache-control'], 'no-store');
    assert.deepEqual(await documentCounts(t), before);
  });

  it('when the body or the form carries unknown fields, then 400 names each field', async () => {
    const top = await request(t.app).post(CHECK('birth-service')).send({ form: form(), status: 'approved' }).expect(400);
    assert.equal(top.body.code, 'validation_failed');
    assert.deepEqual(top.body.errors.map((e: { path: string }) => e.path), ['status']);
    const inner = await request(t.app)
      .post(CHECK('rebirth-permit'))
      .set('Accept-Language', 'en')
      .send({ form: form([son], { ground: 'D1', applicantId: 'x' }) })
      .expect(400);
    assert.deepEqual(inner.body.errors.map((e: { path: string }) => e.path), ['form.applicantId']);
    assert.equal(inner.body.errors[0].message, 'Field not allowed: applicantId');
    assert.equal(inner.body.errors[0].messages.zh, '不允许的字段：applicantId');
  });

  it('when an operator object stands where a value belongs, then 400 names the field', async () => {
    const f = form() as Record<string, any>;
    f.husband.idNumber = { $ne: null };
    const res = await request(t.app).post(CHECK('birth-service')).send({ form: f }).expect(400);
    assert.deepEqual(res.body.errors.map((e: { path: string }) => e.path), ['form.husband.idNumber']);
    const whole = await request(t.app).post(CHECK('birth-service')).send({ form: { $where: 'sleep(1000)' } }).expect(400);
    assert.ok(whole.body.errors.some((e: { path: string }) => e.path === 'form.$where'));
  });

  it('when an ID number is wrong, then 400 says why in the language asked for', async () => {
    const f = form() as Record<string, any>;
    f.wife.idNumber = '430725198001010010';
    const en = await request(t.app).post(CHECK('birth-service')).set('Accept-Language', 'en-GB').send({ form: f }).expect(400);
    assert.deepEqual(en.body.errors.map((e: { path: string; message: string }) => [e.path, e.message]), [['form.wife.idNumber', 'The ID number check character is wrong']]);
    const zh = await request(t.app).post(CHECK('birth-service')).set('Accept-Language', 'zh-CN,zh;q=0.9').send({ form: f }).expect(400);
    assert.equal(zh.body.errors[0].message, '身份证号码校验位不正确，请核对');
  });

  it('when the form has no residence code, then 400 names form.residence', async () => {
    const { residence: _r, ...rest } = form();
    const res = await request(t.app).post(CHECK('birth-service')).send({ form: rest }).expect(400);
    assert.deepEqual(res.body.errors.map((e: { path: string; code: string }) => [e.path, e.code]), [['form.residence', 'required']]);
  });

  it('when one address sends too many pre-checks, then 429', async () => {
    const own = await makeTestApp();
    try {
      for (let i = 0; i < ELIGIBILITY_CHECKS_PER_MINUTE; i += 1) await request(own.app).post(CHECK('birth-service')).send({ form: form() }).expect(200);
      const res = await request(own.app).post(CHECK('birth-service')).set('X-Forwarded-For', '203.0.113.9').send({ form: form() }).expect(429);
      assert.equal(res.body.code, 'rate_limited');
    } finally {
      await own.close();
    }
  });

  it('publishes the three routes in the OpenAPI document', async () => {
    const res = await request(t.app).get('/openapi.json').expect(200);
    assert.ok(res.body.paths['/api/v1/certificate-types'].get);
    assert.ok(res.body.paths['/api/v1/certificate-types/{code}'].get);
    const check = res.body.paths['/api/v1/certificate-types/{code}/eligibility-check'].post;
    assert.ok(check.requestBody && check.responses['200']);
  });
});
