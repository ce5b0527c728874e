import assert from 'node:assert/strict';
import request from 'supertest';
import { FixedClock } from '../service/lib/clock';
import { rebuildStatsBuckets } from '../service/stats/stats.store';
import { makeTestApp, staffLogin, type TestApp } from './support/app';

const at = (local: string) => new Date(`${local.replace(' ', 'T')}:00+08:00`);

describe('Statistics: certificates issued, revoked and expired by type and period', () => {
  let t: TestApp;
  const clock = new FixedClock(at('2026-01-05 10:00'));
  let n = 0;
  const cert = (type: string, issuerDivision: string, issued: string, extra: Record<string, unknown> = {}) => {
    n += 1;
    return {
      serial: `430725-2025-X-${String(n).padStart(6, '0')}`,
      applicationId: `app-${n}`,
      applicationNumber: `430725-2025-${String(n).padStart(6, '0')}`,
      type,
      verifyId: `v${n}`,
      token: 't',
      kid: 'k',
      holderName: '张三',
      holderIdHash: `h${n}`,
      holderIdMasked: '430725********0019',
      issuerDivision,
      issuedAt: at(issued),
      validUntil: null,
      status: 'valid',
      ...extra,
    };
  };

  before(async () => {
    t = await makeTestApp({ clock });
    await t.ctx.models.Certificate.collection.insertMany([
      cert('birth-service', '430725101', '2025-07-01 09:00'),
      cert('birth-service', '430725101', '2025-12-31 23:30'),
      // 00:30 on 1 Jan in China: the next period.
      cert('birth-service', '430725101', '2026-01-01 00:30'),
      cert('birth-service', '430725102', '2025-08-01 09:00'),
      cert('rebirth-permit', '430725', '2025-09-01 09:00', { status: 'revoked', revokedAt: at('2025-10-01 09:00'), revokeReason: 'fraud' }),
      // Issued in 2022 for three years: expired on 1 Sep 2025.
      cert('migrant-marriage', '430725101', '2022-09-01 09:00', { validUntil: at('2025-09-01 00:00') }),
      // Runs out on 1 Feb 2026: not expired yet.
      cert('migrant-marriage', '430725101', '2023-02-01 09:00', { validUntil: at('2026-02-01 00:00') }),
      // Revoked before it would have expired: counts as revoked (in 2024), not as expired.
      cert('migrant-marriage', '430725101', '2022-10-01 09:00', { validUntil: at('2025-10-01 00:00'), status: 'revoked', revokedAt: at('2024-05-01 09:00') }),
    ]);
    // Written on the raw collection, as a bulk import would: no hook saw them, the repair files them.
    await rebuildStatsBuckets(t.ctx);
  });
  after(() => t.close());

  const stats = (auth: string, query: string) => request(t.app).get(`/api/v1/stats?${query}`).set('Authorization', auth).expect(200);

  it('when the admin asks for the second half of 2025, then each certificate counts once, where its China date falls', async () => {
    const admin = await staffLogin(t, { role: 'admin' });
    const b = (await stats(admin.auth, 'from=2025-07-01&to=2025-12-31')).body;
    assert.deepEqual(b.certificates.issued, { total: 4, byType: { 'birth-service': 3, 'rebirth-permit': 1, 'only-child-honour': 0, 'migrant-marriage': 0 } });
    assert.deepEqual(b.certificates.revoked, { total: 1, byType: { 'birth-service': 0, 'rebirth-permit': 1, 'only-child-honour': 0, 'migrant-marriage': 0 } });
    assert.deepEqual(b.certificates.expired, { total: 1, byType: { 'birth-service': 0, 'rebirth-permit': 0, 'only-child-honour': 0, 'migrant-marriage': 1 } });
    const csv = await stats(admin.auth, 'from=2025-07-01&to=2025-12-31').set('Accept', 'text/csv');
    assert.match(csv.text, /\r\n2025-07-01,2025-12-31,certificates\.issued,type,birth-service,3\r\n/);
  });

  it('when a township officer asks, then only what the township issued counts', async () => {
    const officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    const b = (await stats(officer.auth, 'from=2025-07-01&to=2025-12-31')).body;
    assert.equal(b.certificates.issued.total, 2);
    assert.equal(b.certificates.revoked.total, 0);
    assert.equal(b.certificates.expired.total, 1);
  });
});
