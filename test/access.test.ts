import assert from 'node:assert/strict';
import fs from 'node:fs';
import { applicationScope, countyWide, inJurisdiction, jurisdictionFilter, residentAccount, residentSide } from '../service/lib/access';
import { can, RIGHTS, type Principal, type Right } from '../service/lib/auth';
import { queueScope } from '../service/review/review.service';
import { rel, SERVICE, sources } from './support/sources';

const resident: Principal = { role: 'applicant', id: 'a1', name: '张三', channel: 'online', idHash: 'h1' };
const kiosk: Principal = { role: 'terminal', id: 'T1', name: 'kiosk', channel: 'terminal', township: '430725101' };
const township: Principal = { role: 'officer', id: 'o1', name: 'x', channel: 'staff', level: 'township', jurisdiction: ['430725101'] };
const county: Principal = { role: 'officer', id: 'o2', name: 'y', channel: 'staff', level: 'county', jurisdiction: ['430725'] };
const admin: Principal = { role: 'admin', id: 'ad', name: 'z', channel: 'staff' };

describe('Access: the rights table and the one access module', () => {
  it('pins who holds which right (a change here is a change of policy, made on purpose)', () => {
    assert.deepEqual(RIGHTS, {
      'application:file': ['applicant', 'terminal'],
      'application:file-for-resident': ['terminal'],
      'application:read-own': ['applicant', 'terminal'],
      'application:read-any': ['officer', 'admin'],
      'certificate:read-own': ['applicant'],
      'complaint:file': ['applicant', 'terminal'],
      'queue:read': ['officer', 'admin'],
      'application:review': ['officer', 'admin'],
      'application:decide': ['officer'],
      'claim:break': ['admin'],
      'jurisdiction:all': ['admin'],
      'certificate:read-any': ['officer', 'admin'],
      'certificate:revoke': ['officer', 'admin'],
      'stats:read': ['officer', 'admin'],
      'complaint:answer': ['officer', 'admin'],
      'rating:give': ['applicant', 'terminal'],
      'rating:follow-up': ['officer', 'admin'],
      'audit:read': ['admin'],
      'account:manage': ['admin'],
      'application:search': ['officer', 'admin'],
      'ledger:read': ['officer', 'admin'],
    });
  });

  it('every right is used by some route or service (an unused right is a promise nobody keeps)', () => {
    const text = sources(SERVICE)
      .filter((f) => rel(f) !== 'lib/auth.ts')
      .map((f) => fs.readFileSync(f, 'utf8'))
      .join('\n');
    const unused = (Object.keys(RIGHTS) as Right[]).filter((right) => !text.includes(`'${right}'`));
    assert.deepEqual(unused, []);
  });

  it('no service compares a caller’s role by name: checks go through rights (identity in accounts/ and the page session excepted)', () => {
    const exempt = (f: string): boolean => f === 'lib/auth.ts' || f === 'lib/access.ts' || f.startsWith('accounts/') || f === 'web/session.ts';
    const found = sources(SERVICE)
      .filter((f) => !exempt(rel(f)))
      .flatMap((f) =>
        fs
          .readFileSync(f, 'utf8')
          .split('\n')
          .map((line, i) => ({ line, at: `${rel(f)}:${i + 1}` }))
          .filter(({ line }) => /\b(p|principal|req\.principal[!?]?|s\.principal)\.role\s*(===|!==)|switch\s*\(\s*(p|principal)\.role\s*\)|\b(p|principal)\.role\b[^;]*(===|!==)\s*'(applicant|terminal|officer|admin)'/.test(line))
          .map(({ at }) => at),
      );
    assert.deepEqual(found, []);
  });

  it('the resident side, the county-wide right and the jurisdiction checks', () => {
    assert.deepEqual([resident, kiosk, township, admin].map(residentSide), [true, true, false, false]);
    assert.deepEqual([resident, kiosk, township, admin].map(residentAccount), [true, false, false, false]);
    assert.deepEqual([resident, kiosk, township, admin].map(countyWide), [false, false, false, true]);
    assert.equal(inJurisdiction(township, '430725101203'), true);
    assert.equal(inJurisdiction(township, '430725102203'), false);
    assert.equal(inJurisdiction(county, '430725102'), true);
    assert.equal(inJurisdiction(admin, '999999'), true);
    assert.equal(inJurisdiction(resident, '430725101203'), false);
    assert.deepEqual(jurisdictionFilter(admin), {});
    assert.deepEqual(JSON.parse(JSON.stringify(jurisdictionFilter(township))), { division: { $regex: '^430725101' } });
    assert.deepEqual(JSON.parse(JSON.stringify(jurisdictionFilter({ ...township, jurisdiction: [] }))), { _id: { $exists: false } });
    assert.deepEqual(JSON.parse(JSON.stringify(queueScope(township))), { status: { $in: ['pending', 'in_review'] }, queueLevel: 'township', queueDivision: { $in: ['430725101'] } });
    assert.deepEqual(JSON.parse(JSON.stringify(queueScope({ ...county, level: 'township' }))), {
      status: { $in: ['pending', 'in_review'] },
      queueLevel: 'township',
      queueDivision: { $regex: '^430725' },
    });
  });

  it('the application scope: a resident their own, a kiosk its recent filings, staff the submitted cases of their jurisdiction, nobody else anything', () => {
    const ctx = { clock: { now: () => new Date('2026-03-02T02:00:00Z') }, config: { terminalWindowSeconds: 3600 } } as Parameters<typeof applicationScope>[0];
    const plain = (x: unknown) => JSON.parse(JSON.stringify(x));
    assert.deepEqual(plain(applicationScope(ctx, { ...resident, idHash: undefined })), { applicantId: 'a1' });
    assert.deepEqual(plain(applicationScope(ctx, kiosk)), { 'terminal.terminalId': 'T1', createdAt: { $gte: '2026-03-02T01:00:00.000Z' } });
    assert.deepEqual(plain(applicationScope(ctx, township)), { status: { $ne: 'draft' }, division: { $regex: '^430725101' } });
    assert.deepEqual(plain(applicationScope(ctx, admin)), { status: { $ne: 'draft' } });
    assert.equal(can(admin, 'application:decide'), false, 'an admin supervises: breaks claims, does not decide');
    assert.equal(can(admin, 'claim:break'), true);
  });
});
