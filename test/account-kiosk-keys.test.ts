import assert from 'node:assert/strict';
import type { CommandStartedEvent } from 'mongodb';
import { Types } from 'mongoose';
import request from 'supertest';
import { listAccounts } from '../service/accounts/administration';
import { backfillAccountKeys, LOGIN_KEY, STAFF_KEY } from '../service/accounts/accounts.store';
import { backfillApplicationKeys, TERMINAL_HOUR_KEY } from '../service/applications/applications.service';
import { FixedClock } from '../service/lib/clock';
import { makeTestApp, registerAndLogin, staffLogin, terminalLogin, uniqueIdNumber, type TestApp } from './support/app';
import { asParty, birthServiceForm, submittedApplication, terminalFiling } from './support/forms';

/**
 * The key documents that keep the accounts and a kiosk's recent filings off scans (lib/keyindex.ts):
 * the staff list (`staff:all`), a resident's account found from the keyed hash of their ID number
 * (the login key `login:id:<hash>`), and a kiosk's filings by hour (`terminal-hour:<kiosk>:<hour>`).
 * Each is written on create, used on read (by `_id` only), and restored by the start-up rebuild.
 */
describe('Key documents of staff, residents’ accounts and kiosks', function () {
  this.timeout(120_000);
  let t: TestApp;
  const clock = new FixedClock('2026-03-02T02:30:00Z');
  const sent: CommandStartedEvent[] = [];

  before(async () => {
    t = await makeTestApp({ clock, monitorCommands: true });
    t.conn.getClient().on('commandStarted', (e) => sent.push(e));
  });
  after(() => t.close());

  /** Reads and conditional writes on `collection` whose filter is anything but `{_id}`. */
  const scansOf = (collection: string): string[] =>
    sent
      .filter((e) => ['find', 'aggregate', 'count', 'findAndModify', 'update', 'delete'].includes(e.commandName) && e.command[e.commandName] === collection)
      .map((e) => e.command.filter ?? e.command.query ?? e.command.pipeline ?? e.command.updates?.[0]?.q ?? e.command.deletes?.[0]?.q)
      .filter((filter) => Object.keys(filter ?? {}).join() !== '_id')
      .map((filter) => `${collection} ${JSON.stringify(filter)}`);

  /** A kiosk's token, taken now (the clock moves on by more than a kiosk token lives). */
  const kioskAuth = async (kiosk: { terminalId: string; secret: string }): Promise<string> =>
    `Bearer ${(await request(t.app).post('/api/v1/auth/terminal-token').send({ terminalId: kiosk.terminalId, secret: kiosk.secret }).expect(200)).body.accessToken}`;

  const kioskFiling = async (kiosk: { terminalId: string; secret: string }, resident = uniqueIdNumber('female', 1985)) => {
    const form = asParty('birth-service', birthServiceForm(), resident);
    return request(t.app).post('/api/v1/applications').set('Authorization', await kioskAuth(kiosk)).send({ type: 'birth-service', form, ...terminalFiling(resident) }).expect(201);
  };
  const kioskList = async (kiosk: { terminalId: string; secret: string }, query = ''): Promise<{ items: { id: string }[]; next: string | null }> =>
    (await request(t.app).get(`/api/v1/applications${query}`).set('Authorization', await kioskAuth(kiosk)).expect(200)).body;

  it('when a kiosk files for a resident who has an account, then the message goes to that account, found through its login key by _id', async () => {
    const resident = await registerAndLogin(t.app, { idNumber: uniqueIdNumber('female', 1985) });
    const kiosk = await terminalLogin(t);
    sent.length = 0;
    const sub = await submittedApplication(t.app, kiosk.auth, 'birth-service', birthServiceForm(), terminalFiling(resident.idNumber));
    const outbox = await t.ctx.models.Notification.find({ applicationId: sub.id }).lean();
    assert.deepEqual(outbox.map((n) => n.recipient), [{ applicantId: resident.id }]);
    assert.deepEqual(scansOf('accounts'), []);
  });

  it('when a kiosk lists what it filed, then it reads the keys of the hours in its window by _id, and sees only that window', async () => {
    const kiosk = await terminalLogin(t);
    const early = (await kioskFiling(kiosk)).body.id as string;
    const hourKey = (at: string) => `${TERMINAL_HOUR_KEY}:${kiosk.terminalId}:${at}`;
    assert.deepEqual((await t.ctx.models.KeyIndex.findById(hourKey('2026-03-02T02')).lean())?.ids.map(String), [early], 'written on create');
    clock.advance(45 * 60_000);
    const later = (await kioskFiling(kiosk)).body.id as string;
    assert.deepEqual((await t.ctx.models.KeyIndex.findById(hourKey('2026-03-02T03')).lean())?.ids.map(String), [later]);

    sent.length = 0;
    const ids = (page: { items: { id: string }[] }): string[] => page.items.map((i) => i.id);
    assert.deepEqual(ids(await kioskList(kiosk)), [later, early], 'both within the hour, newest first');
    assert.deepEqual(scansOf('applications'), []);
    const first = await kioskList(kiosk, '?limit=1');
    assert.deepEqual(ids(first), [later]);
    assert.deepEqual(ids(await kioskList(kiosk, `?limit=1&before=${first.next}`)), [early], 'the cursor pages on');

    clock.advance(30 * 60_000);
    assert.deepEqual((await kioskList(await terminalLogin(t))).items, [], 'another kiosk sees nothing of it');
    assert.deepEqual(ids(await kioskList(kiosk)), [later], 'the first filing has left the hour-long window');
  });

  it('when staff are created, then the staff key lists them and the administration list reads accounts by _id only', async () => {
    const admin = await staffLogin(t, { role: 'admin' });
    const officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    const key = await t.ctx.models.KeyIndex.findById(`${STAFF_KEY}:all`).lean();
    assert.ok(key && [admin.id, officer.id].every((id) => key.ids.map(String).includes(id)), 'written on create');
    sent.length = 0;
    const { staff } = await listAccounts(t.ctx);
    assert.deepEqual(staff.map((s) => s.id).sort(), [admin.id, officer.id].sort(), 'staff only: no resident, no kiosk');
    assert.deepEqual(staff.map((s) => s.username), [admin.username, officer.username].sort(), 'by user name');
    assert.deepEqual(scansOf('accounts'), []);
  });

  it('when the keys are lost or the data was bulk-inserted without them, then the start-up rebuild restores them', async () => {
    const kiosk = await terminalLogin(t);
    const filed = (await kioskFiling(kiosk)).body.id as string;
    const resident = await registerAndLogin(t.app, { idNumber: uniqueIdNumber('female', 1985) });
    const bulk = new Types.ObjectId();
    await t.ctx.models.Account.collection.insertOne({
      _id: bulk, loginKey: 'user:bulk.officer', role: 'officer', username: 'bulk.officer', name: '批量', passwordHash: 'x', level: 'county', jurisdiction: ['430725'], disabled: false, createdAt: clock.now(),
    });
    const staffBefore = (await listAccounts(t.ctx)).staff.map((s) => s.id);
    assert.ok(!staffBefore.includes(bulk.toString()), 'inserted without its key, it is not listed yet');

    await t.ctx.models.KeyIndex.deleteMany({});
    assert.deepEqual((await listAccounts(t.ctx)).staff, [], 'without the key nobody is listed');
    assert.deepEqual((await kioskList(kiosk)).items, []);

    assert.ok((await backfillAccountKeys(t.ctx)) > 0);
    assert.ok((await backfillApplicationKeys(t.ctx)) > 0);
    assert.deepEqual((await listAccounts(t.ctx)).staff.map((s) => s.id).sort(), [...staffBefore, bulk.toString()].sort());
    assert.ok(await t.ctx.models.KeyIndex.exists({ _id: `${LOGIN_KEY}:user:bulk.officer` }), 'the bulk account’s login key too');
    assert.deepEqual((await kioskList(kiosk)).items.map((i) => i.id), [filed]);
    await request(t.app).post('/api/v1/auth/login').send({ idNumber: resident.idNumber, password: 'correct horse' }).expect(200);
    assert.equal(await backfillAccountKeys(t.ctx), 0, 'a second rebuild adds nothing');
  });
});
