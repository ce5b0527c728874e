import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Express } from 'express';
import { PDFDocument, rgb, StandardFonts } from 'pdf-lib';
import request from 'supertest';
import { checkCharacter } from '../../service/lib/idnumber';

const issued = new Map<string, number>();
const firstSeq = crypto.randomInt(0, 500);

/**
 * A fresh valid ID number per call: within a run no two calls for one birth date and sex repeat
 * (the sequence number counts on, from a random start; the 501st is born a day later), so couples in different tests never collide
 * (a couple may have one open case of a type: a repeated random wife made tests flaky).
 */
export function personId(sex: 'male' | 'female', birth: string): string {
  const key = `${sex}:${birth}`;
  const n = issued.get(key) ?? 0;
  issued.set(key, n + 1);
  // After 500 people of one birth date, the next ones are born a day later (still unique).
  const day = new Date(Date.parse(`${birth}T00:00:00Z`) + Math.floor(n / 500) * 86_400_000).toISOString().slice(0, 10);
  const seq = ((firstSeq + n) % 500) * 2 + (sex === 'male' ? 1 : 0);
  const first17 = `430725${day.replace(/-/g, '')}${String(seq).padStart(3, '0')}`;
  return first17 + checkCharacter(first17);
}

type Form = Record<string, unknown>;
const child = (birthDate: string, extra: Form = {}): Form => ({ sex: 'male', birthDate, alive: true, origin: 'joint', ...extra });

/** Birth service under regime D: a married couple with one joint child (township 430725101). */
export function birthServiceForm(division = '430725101202'): Form {
  return {
    residence: { divisionCode: division },
    husband: { name: '张伟', idNumber: personId('male', '1990-05-01'), residentType: 'rural' },
    wife: { name: '李娜', idNumber: personId('female', '1992-01-01'), residentType: 'rural' },
    marriage: { date: '2015-06-01', kind: 'first' },
    children: [child('2018-03-03')],
  };
}

/** Re-birth permit under regime D (ground D1): three joint children, one appraised disabled and fit for another birth. */
export function rebirthPermitForm(division = '430725101202'): Form {
  return {
    residence: { divisionCode: division },
    husband: { name: '王强', idNumber: personId('male', '1985-05-01'), residentType: 'rural' },
    wife: { name: '赵敏', idNumber: personId('female', '1987-01-01'), residentType: 'rural' },
    marriage: { date: '2008-06-01', kind: 'first' },
    children: [
      child('2010-03-03', { disability: { appraised: true, appraisalBody: 'city', cannotBecomeNormalLabourer: true, fitForAnotherBirth: true, certificateNumber: 'CD-2024-001' } }),
      child('2013-04-04', { sex: 'female' }),
      child('2016-05-05'),
    ],
    ground: 'D1',
  };
}

/** Birth service with four living joint children: no ground holds under regime D. */
export function ineligibleBirthServiceForm(): Form {
  const form = birthServiceForm();
  form.children = [child('2012-01-01'), child('2014-01-01'), child('2016-01-01')];
  return form;
}

/** Starts like a PDF but has no pages: enough for the upload checks, unreadable for a PDF reader. */
export const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

/**
 * A real PDF of A4 pages (a certificate stands in: a blue band with the page number, a red seal), so
 * a reader draws something on each page. `size` overrides the page size in points.
 */
export async function pagedPdf(pages: number, size: [number, number] = [595.28, 841.89]): Promise<Buffer> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const [w, h] = size;
  for (let n = 1; n <= pages; n++) {
    const page = doc.addPage([w, h]);
    page.drawRectangle({ x: w * 0.07, y: h * 0.7, width: w * 0.86, height: h * 0.22, color: rgb(0.82, 0.88, 1) });
    page.drawText(`MARRIAGE CERTIFICATE  page ${n} of ${pages}`, { x: w * 0.1, y: h * 0.8, size: Math.min(w, h) / 25, font, color: rgb(0.1, 0.1, 0.45) });
    page.drawCircle({ x: w * 0.75, y: h * 0.35, size: Math.min(w, h) / 9, borderColor: rgb(0.8, 0.1, 0.1), borderWidth: 4 });
  }
  return Buffer.from(await doc.save());
}
export const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), crypto.randomBytes(64)]);
export const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), crypto.randomBytes(64)]);

/** Uploads one document of a kind (a small PDF) to an application. */
export async function uploadDocument(app: Express, auth: string, id: string, kind: string) {
  return request(app)
    .post(`/api/v1/applications/${id}/documents`)
    .set('Authorization', auth)
    .field('kind', kind)
    .attach('file', PDF, { filename: `${kind}.pdf`, contentType: 'application/pdf' })
    .expect(201);
}

/** Creates a draft, uploads every document the pre-check asks for, and submits it. */
export async function submittedApplication(app: Express, auth: string, type: string, given: Form, extra: Form = {}) {
  const form = asParty(type, given, (extra.resident as { idNumber?: string } | undefined)?.idNumber ?? residentsByAuth.get(auth));
  const created = await request(app).post('/api/v1/applications').set('Authorization', auth).send({ type, form, ...extra });
  if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body).slice(0, 600)}`);
  const check = await request(app).post(`/api/v1/certificate-types/${type}/eligibility-check`).send({ form }).expect(200);
  for (const doc of check.body.requiredDocuments as { kind: string }[]) {
    await request(app)
      .post(`/api/v1/applications/${created.body.id}/documents`)
      .set('Authorization', auth)
      .field('kind', doc.kind)
      .attach('file', PDF, { filename: `${doc.kind}.pdf`, contentType: 'application/pdf' })
      .expect(201);
  }
  const submitted = await request(app).post(`/api/v1/applications/${created.body.id}/submit`).set('Authorization', auth).send({}).expect(200);
  return submitted.body as { id: string; number: string; status: string; [k: string]: unknown };
}

/** Every file under a folder, recursively, as paths relative to it (sorted); [] if it does not exist. */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

export const sha256 = (bytes: Buffer): string => crypto.createHash('sha256').update(bytes).digest('hex');

/** The documents birth-service always asks for (schemas/catalogue/birth-service.json). */
export const BIRTH_SERVICE_KINDS = ['marriage-certificate', 'id-card-husband', 'id-card-wife', 'household-register', 'photo'] as const;

/** Residents registered by the test helpers, by their bearer header: who files with that token. */
export const residentsByAuth = new Map<string, string>();

/**
 * The form with the filing resident as a party (only parties may file): the woman herself for the
 * migrant certificate, otherwise the spouse of the resident's sex. Unchanged when they already are.
 */
export function asParty(type: string, form: Form, idNumber: string | undefined): Form {
  if (!idNumber) return form;
  const id = idNumber.toUpperCase();
  const named = (p: unknown): boolean => String((p as { idNumber?: string } | undefined)?.idNumber ?? '').toUpperCase() === id;
  if (type === 'migrant-marriage') return named(form.applicant) ? form : { ...form, applicant: { ...(form.applicant as Form), idNumber } };
  if (named(form.husband) || named(form.wife)) return form;
  const spouse = Number(id[16]) % 2 === 1 ? 'husband' : 'wife';
  return { ...form, [spouse]: { ...(form[spouse] as Form), idNumber } };
}

/** Creates a draft (with the filing resident, or the kiosk's resident, as a party) and answers its view. */
export async function draft(app: Express, auth: string, type: string, form: Form, extra: Form = {}) {
  const resident = (extra.resident as { idNumber?: string } | undefined)?.idNumber ?? residentsByAuth.get(auth);
  const res = await request(app).post('/api/v1/applications').set('Authorization', auth).send({ type, form: asParty(type, form, resident), ...extra });
  if (res.status !== 201) throw new Error(`draft: ${res.status} ${JSON.stringify(res.body).slice(0, 600)}`);
  return res.body as { id: string; status: string; [k: string]: unknown };
}

/** Uploads one file of a kind to an application; the response is returned unchecked. */
export function upload(app: Express, auth: string, id: string, kind: string, bytes: Buffer = PDF, filename = `${kind}.pdf`, contentType = 'application/pdf') {
  return request(app)
    .post(`/api/v1/applications/${id}/documents`)
    .set('Authorization', auth)
    .field('kind', kind)
    .attach('file', bytes, { filename, contentType });
}

/** A birth-service draft with every required document uploaded, ready to submit. */
export async function readyBirthService(app: Express, auth: string, form: Form = birthServiceForm(), extra: Form = {}) {
  const created = await draft(app, auth, 'birth-service', form, extra);
  for (const kind of BIRTH_SERVICE_KINDS) await upload(app, auth, created.id, kind).expect(201);
  return created;
}

/** A terminal filing's extra fields: the resident, the operator and the recorded consent. */
export function terminalFiling(idNumber: string, name = '李秀英') {
  return { resident: { idNumber, name }, operatorName: '陈干事', consent: { given: true, method: 'paper-form', reference: 'CF-2026-0001' } };
}

/** Only-child honour under regime D (ground D-OH1): one joint child born before 2016, pledge given. */
export function honourForm(husbandId = personId('male', '1980-02-02'), wifeId = personId('female', '1982-03-03')): Form {
  return {
    residence: { divisionCode: '430725101202' },
    husband: { name: '刘刚', idNumber: husbandId, residentType: 'urban' },
    wife: { name: '陈红', idNumber: wifeId, residentType: 'urban' },
    marriage: { date: '2005-06-01', kind: 'first' },
    children: [child('2010-03-03')],
    pledge: true,
  };
}

/** Floating-population certificate under regime D: an unmarried woman of 30 leaving for Guangdong. */
export function migrantForm(): Form {
  return {
    residence: { divisionCode: '430725101202' },
    applicant: { name: '王芳', idNumber: personId('female', '1996-04-04'), residentType: 'rural' },
    maritalStatus: 'unmarried',
    destination: { address: '广东省东莞市' },
    plannedAbsenceDays: 90,
  };
}
