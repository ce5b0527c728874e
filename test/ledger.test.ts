import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import request from 'supertest';
import { accessLog } from '../service/audit/audit.service';
import { chinaDate } from '../service/lib/workdays';
import { makeTestApp, registerAndLogin, staffLogin, terminalLogin, uniqueIdNumber, type TestApp } from './support/app';
import { asParty, birthServiceForm, submittedApplication, terminalFiling } from './support/forms';

type Form = Record<string, unknown>;
const SURNAMES = ['欧阳', '司马', '上官', '诸葛', '东方', '皇甫'];
const GIVEN = '甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉';
/** A name unlikely to meet another in this run's database. */
const rareName = (): string => `${SURNAMES[crypto.randomInt(SURNAMES.length)]}${GIVEN[crypto.randomInt(GIVEN.length)]}${GIVEN[crypto.randomInt(GIVEN.length)]}${GIVEN[crypto.randomInt(GIVEN.length)]}`;

describe('Officer search and the register (台账)', () => {
  let t: TestApp;
  let township: Awaited<ReturnType<typeof staffLogin>>;
  let otherTownship: Awaited<ReturnType<typeof staffLogin>>;
  let county: Awaited<ReturnType<typeof staffLogin>>;
  let applicant: Awaited<ReturnType<typeof registerAndLogin>>;
  let form: Form;
  let online: { id: string; number: string };
  let kioskCase: { id: string; number: string };
  let husbandName: string;
  let wifeName: string;

  before(async () => {
    t = await makeTestApp();
    township = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    otherTownship = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725102'] });
    county = await staffLogin(t, { role: 'officer', level: 'county', jurisdiction: ['430725'] });
    husbandName = rareName();
    wifeName = rareName();
    applicant = await registerAndLogin(t.app, { name: husbandName });
    form = asParty('birth-service', birthServiceForm(), applicant.idNumber);
    (form.husband as Form).name = husbandName;
    (form.wife as Form).name = wifeName;
    online = await submittedApplication(t.app, applicant.auth, 'birth-service', form);
    const kiosk = await terminalLogin(t);
    const resident = uniqueIdNumber('female', 1984);
    kioskCase = await submittedApplication(t.app, kiosk.auth, 'birth-service', birthServiceForm('430725101202'), terminalFiling(resident, '李秀英'));
  });
  after(() => t.close());

  const search = (auth: string, body: object) => request(t.app).post('/api/v1/search/applications').set('Authorization', auth).send(body);
  const found = (res: request.Response): string[] => res.body.items.map((i: { id: string }) => i.id);

  describe('search', () => {
    it('when an officer searches by number, access code, either spouse’s ID number or name, then the case is found', async () => {
      assert.deepEqual(found(await search(township.auth, { number: online.number }).expect(200)), [online.id]);
      const own = await request(t.app).get(`/api/v1/applications/${online.id}`).set('Authorization', applicant.auth).expect(200);
      const code = own.body.accessCode as string;
      assert.deepEqual(found(await search(township.auth, { accessCode: code.toLowerCase().replace('-', '') }).expect(200)), [online.id]);
      assert.deepEqual(found(await search(township.auth, { idNumber: (form.wife as { idNumber: string }).idNumber }).expect(200)), [online.id]);
      assert.deepEqual(found(await search(township.auth, { idNumber: applicant.idNumber.toLowerCase() }).expect(200)), [online.id]);
      assert.deepEqual(found(await search(township.auth, { name: wifeName }).expect(200)), [online.id]);
      assert.deepEqual(found(await search(township.auth, { name: ` ${[...husbandName].join(' ')} ` }).expect(200)), [online.id], 'spaces do not matter');
      const item = (await search(township.auth, { number: online.number })).body.items[0];
      assert.equal(item.resident.name, husbandName);
      assert.equal(item.resident.idNumber, `${applicant.idNumber.slice(0, 6)}********${applicant.idNumber.slice(-4)}`);
    });

    it('when an officer searches by the beginning of a name, then every case whose name starts so is found, and a name that only contains it is not', async () => {
      const prefix = [...wifeName].slice(0, 3).join('');
      assert.ok(found(await search(township.auth, { name: prefix, match: 'prefix' }).expect(200)).includes(online.id));
      assert.deepEqual(found(await search(township.auth, { name: prefix }).expect(200)), [], 'exact by default');
      assert.deepEqual(found(await search(township.auth, { name: [...wifeName].slice(1).join(''), match: 'prefix' }).expect(200)), []);
      assert.ok(found(await search(township.auth, { name: '李秀英', match: 'prefix' }).expect(200)).includes(kioskCase.id), 'the kiosk resident by name');
    });

    it('when an officer of another township searches, then nothing of this township is found; the county finds it', async () => {
      assert.deepEqual(found(await search(otherTownship.auth, { number: online.number }).expect(200)), []);
      assert.deepEqual(found(await search(otherTownship.auth, { idNumber: applicant.idNumber }).expect(200)), []);
      assert.deepEqual(found(await search(county.auth, { idNumber: applicant.idNumber }).expect(200)), [online.id]);
    });

    it('when a resident or a kiosk searches, then 403; when two criteria or none are given, then 400 and nothing is logged', async () => {
      await search(applicant.auth, { number: online.number }).expect(403);
      const before = await t.ctx.models.AccessLog.countDocuments();
      const two = await search(township.auth, { number: online.number, name: wifeName }).expect(400);
      assert.equal(two.body.code, 'validation_failed');
      assert.match(two.body.errors[0].messages.zh, /一项/);
      await search(township.auth, {}).expect(400);
      await search(township.auth, { idNumber: { $ne: null } }).expect(400);
      await search(township.auth, { idNumber: '430725198001010010' }).expect(400);
      assert.equal(await t.ctx.models.AccessLog.countDocuments(), before);
    });

    it('when an officer searches, then the access log says who searched by what and which cases it showed, never the value searched for', async () => {
      const searches = async () => (await accessLog(t.ctx, online.id)).filter((e) => e.actor.id === county.id && e.what === 'search:idNumber').length;
      const before = await searches();
      await search(county.auth, { idNumber: (form.wife as { idNumber: string }).idNumber }).expect(200);
      assert.equal(await searches(), before + 1, 'the case it showed records the search');
      assert.ok(!JSON.stringify(await t.ctx.models.AccessLog.find().lean()).includes((form.wife as { idNumber: string }).idNumber), 'never the value searched for');
      const admin = await staffLogin(t, { role: 'admin' });
      const log = await request(t.app).get(`/api/v1/applications/${online.id}/access-log`).set('Authorization', admin.auth).expect(200);
      assert.ok(log.body.items.some((i: { what: string; actor: { id: string } }) => i.what === 'search:idNumber' && i.actor.id === county.id));
    });

    it('when the case is stored, then what it is searched by holds no name or ID number in clear', async () => {
      const stored = await t.ctx.models.Application.findById(online.id).lean();
      const keys = JSON.stringify(stored!.searchKeys);
      assert.ok(stored!.searchKeys!.length > 4);
      for (const secret of [husbandName, wifeName, applicant.idNumber, (form.wife as { idNumber: string }).idNumber, [...wifeName][0]!]) assert.ok(!keys.includes(secret), secret);
    });
  });

  describe('register', () => {
    let rejected: { id: string; number: string };
    before(async () => {
      await request(t.app).post(`/api/v1/applications/${online.id}/claim`).set('Authorization', township.auth).send({}).expect(200);
      await request(t.app).post(`/api/v1/applications/${online.id}/decision`).set('Authorization', township.auth).send({ action: 'approve', reason: '同意' }).expect(200);
      const other = await registerAndLogin(t.app);
      rejected = await submittedApplication(t.app, other.auth, 'birth-service', birthServiceForm());
      await request(t.app).post(`/api/v1/applications/${rejected.id}/claim`).set('Authorization', township.auth).send({}).expect(200);
      await request(t.app).post(`/api/v1/applications/${rejected.id}/decision`).set('Authorization', township.auth).send({ action: 'reject', reason: '=HYPERLINK("x") 材料不实' }).expect(200);
    });
    const today = () => chinaDate(new Date());
    const ledger = (auth: string, q: string) => request(t.app).get(`/api/v1/ledger?from=${today()}&to=${today()}${q}`).set('Authorization', auth);

    it('when an officer reads the register for the period, then decided cases come with outcome and certificate; an undecided case is not there', async () => {
      const res = await ledger(township.auth, '').expect(200);
      assert.equal(res.body.total, 2);
      const byId = Object.fromEntries(res.body.items.map((i: { id: string }) => [i.id, i]));
      assert.equal(byId[online.id].outcome, 'approved');
      assert.match(byId[online.id].certificate.serial, /^430725101-\d{4}-BS-\d{6}$|^\d{6,9}-\d{4}-[A-Z]{2}-\d{6}$/);
      assert.equal(byId[online.id].certificate.status, 'valid');
      assert.equal(byId[online.id].township, '430725101');
      assert.equal(byId[rejected.id].outcome, 'rejected');
      assert.equal(byId[rejected.id].certificate, null);
      assert.ok(!(kioskCase.id in byId), 'still pending');
      assert.ok(!JSON.stringify(res.body).includes(husbandName), 'the register shows masked names');
    });

    it('when filtered by outcome, type and township and paged, then the rows and totals follow', async () => {
      assert.deepEqual(found(await ledger(township.auth, '&outcome=rejected').expect(200)), [rejected.id]);
      assert.equal((await ledger(township.auth, '&type=rebirth-permit').expect(200)).body.total, 0);
      assert.equal((await ledger(county.auth, '&township=430725102').expect(200)).body.total, 0);
      assert.equal((await ledger(county.auth, '&township=430725101').expect(200)).body.total, 2);
      const first = await ledger(township.auth, '&pageSize=1&page=1').expect(200);
      const second = await ledger(township.auth, '&pageSize=1&page=2').expect(200);
      assert.equal(first.body.total, 2);
      assert.equal(first.body.items.length, 1);
      assert.notEqual(first.body.items[0].id, second.body.items[0].id);
      assert.equal((await ledger(otherTownship.auth, '').expect(200)).body.total, 0, 'another township sees none of it');
      await ledger(township.auth, '&pageSize=500').expect(400);
      await request(t.app).get(`/api/v1/ledger?from=2026-02-01&to=2026-01-01`).set('Authorization', township.auth).expect(400);
      await ledger(applicant.auth, '').expect(403);
    });

    it('when exported as CSV, then every row of the period is there with a BOM, Chinese headers and no live formula; the export is in the access log', async () => {
      const res = await ledger(township.auth, '&format=csv').buffer(true).parse((r, cb) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => cb(null, Buffer.concat(chunks).toString('utf8')));
      }).expect(200);
      assert.match(String(res.headers['content-type']), /^text\/csv; charset=utf-8/);
      assert.match(String(res.headers['content-disposition']), /attachment; filename="?ledger-/);
      const text = res.body as string;
      assert.equal(text.charCodeAt(0), 0xfeff);
      const lines = text.slice(1).trim().split('\r\n');
      assert.match(lines[0]!, /^受理编号 number,证件类型 type/);
      assert.equal(lines.length, 3);
      assert.ok(lines.some((l) => l.startsWith(`${online.number},生育服务证`)));
      assert.ok(lines.some((l) => l.includes(`"'=HYPERLINK(""x"") 材料不实"`)), 'a formula is defused');
      for (const id of [online.id, rejected.id]) assert.ok((await accessLog(t.ctx, id)).some((e) => e.actor.id === township.id && e.what === 'ledger:csv'), id);
    });
  });
});
