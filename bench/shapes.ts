import crypto from 'node:crypto';
import { Types } from 'mongoose';

/**
 * Documents shaped like the service's own applications (service/applications/applications.model.ts),
 * for bulk seeding and for the bare baseline's insert. Cheap to make a million of: no hashing or
 * encryption per document, just strings of the right length.
 */

export const OFFICER_TOWNSHIP = '430725101';
export const COUNTIES = ['430721', '430722', '430723', '430724', '430725', '430726', '430781', '430702', '430703', '430711'];
export const TOWNSHIPS_PER_COUNTY = 20;
export const TYPES = ['birth-service', 'rebirth-permit', 'only-child-honour', 'migrant-marriage'] as const;
const KINDS = ['marriage-certificate', 'id-card-husband', 'id-card-wife', 'household-register', 'photo'];

const STAGE_NAME = { zh: '乡镇（街道）登记', en: 'Township registration' };
const COUNTY_STAGE_NAME = { zh: '县级审批', en: 'County approval' };
const rand = (n: number): number => Math.floor(Math.random() * n);
const hex = (bytes: number): string => crypto.randomBytes(bytes).toString('hex');

function isoDay(base: Date, days: number): string {
  return new Date(base.getTime() + days * 86_400_000).toISOString().slice(0, 10);
}

function townshipOf(i: number): string {
  const county = COUNTIES[i % COUNTIES.length]!;
  return `${county}${String(101 + (Math.floor(i / COUNTIES.length) % TOWNSHIPS_PER_COUNTY))}`;
}

const actor = { id: '0'.repeat(24), role: 'applicant', name: '张伟' };

function baseDoc(division: string, now: Date) {
  const created = new Date(now.getTime() - rand(60) * 86_400_000);
  const documents = KINDS.map((kind) => ({
    id: hex(12),
    kind,
    fileName: `${kind}.pdf`,
    mime: 'application/pdf',
    size: 150_000 + rand(500_000),
    sha256: hex(32),
    storageId: hex(16),
    uploadedAt: created,
    uploadedBy: actor,
  }));
  return {
    _id: new Types.ObjectId(),
    type: TYPES[rand(10) < 7 ? 0 : 1 + rand(3)]!,
    channel: rand(10) < 8 ? 'online' : 'terminal',
    applicantId: hex(12),
    resident: { name: '张伟', idHash: crypto.randomBytes(32).toString('base64url'), idNumberEnc: crypto.randomBytes(60).toString('base64url'), idMasked: '430725********1234' },
    // The form is stored sealed (AES-GCM); a blob of the usual size stands in for it.
    formSealed: crypto.randomBytes(420).toString('base64url'),
    division,
    pausedWorkingDays: 0,
    claim: null,
    certificate: null,
    issuing: null,
    documents,
    documentCount: documents.length,
    history: [
      { at: created, actor, channel: 'online', action: 'create', from: null, to: 'draft' },
      ...KINDS.map((kind) => ({ at: created, actor, channel: 'online', action: 'upload', from: 'draft', to: 'draft', reason: kind })),
    ],
    createdAt: created,
    updatedAt: created,
  };
}

/**
 * A submitted application waiting (or decided) at a stage. `status` decides which; queue fields are
 * set as submit() sets them. The bare baseline inserts exactly this.
 */
export function submittedDoc(opts: { division: string; status: string; level?: 'township' | 'county'; now?: Date; seq?: number }) {
  const now = opts.now ?? new Date();
  const doc = baseDoc(opts.division, now);
  const level = opts.level ?? 'township';
  const stageDivision = level === 'township' ? opts.division.slice(0, 9) : opts.division.slice(0, 6);
  const deadline = isoDay(now, rand(40) - 10);
  const stage = {
    id: level === 'township' ? 'township-registration' : 'county-approval',
    level,
    name: level === 'township' ? STAGE_NAME : COUNTY_STAGE_NAME,
    division: stageDivision,
    enteredAt: doc.createdAt,
    statutoryDeadline: isoDay(new Date(Date.parse(deadline)), 7),
    committedDeadline: deadline,
  };
  const submittedAt = doc.createdAt;
  const claimed = opts.status === 'in_review';
  const decided = ['approved', 'rejected', 'withdrawn'].includes(opts.status);
  return {
    ...doc,
    number: `${opts.division.slice(0, 6)}-2026-${String(opts.seq ?? rand(999_999)).padStart(6, '0')}`,
    status: opts.status,
    ruleSetVersion: 'D-2021',
    ground: 'D',
    stages: [stage],
    stageIndex: 0,
    queueLevel: level,
    queueDivision: stageDivision,
    queueDeadline: deadline,
    submittedAt,
    claim: claimed ? { officerId: hex(12), officerName: '王芳', until: new Date(now.getTime() + 20 * 60_000) } : null,
    ...(decided ? { decidedAt: now, decision: { action: opts.status === 'approved' ? 'approve' : 'reject', by: actor, at: now } } : {}),
    history: [
      ...doc.history,
      { at: submittedAt, actor, channel: 'online', action: 'submit', from: 'draft', to: 'pending', stage: stage.id, ruleSetVersion: 'D-2021' },
      ...(decided ? [{ at: now, actor: { id: hex(12), role: 'officer', name: '王芳' }, channel: 'staff', action: opts.status, from: 'in_review', to: opts.status }] : []),
    ],
  };
}

/**
 * The queue collection for one size: `mine` open applications (pending/in_review) in the officer's
 * township, held constant across sizes, and the rest spread over 200 townships in 10 counties as
 * other officers' open work (openFraction) and decided history.
 */
export function* queueSeed(size: number, mine: number, openFraction: number, now = new Date()): Generator<ReturnType<typeof submittedDoc>> {
  for (let i = 0; i < size; i += 1) {
    if (i < mine) {
      yield submittedDoc({ division: `${OFFICER_TOWNSHIP}${String(201 + (i % 30))}`, status: i % 4 === 0 ? 'in_review' : 'pending', now, seq: i });
      continue;
    }
    let township = townshipOf(i);
    const open = Math.random() < openFraction;
    // The officer's township gets its history (decided) like any other, but no extra open work.
    if (open && township === OFFICER_TOWNSHIP) township = townshipOf(i + 1);
    const status = open ? (rand(4) === 0 ? 'in_review' : 'pending') : (['approved', 'approved', 'approved', 'approved', 'rejected', 'withdrawn'] as const)[rand(6)]!;
    yield submittedDoc({ division: `${township}${String(201 + rand(30))}`, status, level: open && rand(5) === 0 ? 'county' : 'township', now, seq: i });
  }
}
