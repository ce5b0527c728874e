import crypto from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { checkCharacter } from '../../service/lib/idnumber';

/** A fresh valid ID number per call, so couples in different tests never collide. */
export function personId(sex: 'male' | 'female', birth: string): string {
  const seq = crypto.randomInt(0, 500) * 2 + (sex === 'male' ? 1 : 0);
  const first17 = `430725${birth.replace(/-/g, '')}${String(seq).padStart(3, '0')}`;
  return first17 + checkCharacter(first17);
}

type Form = Record<string, unknown>;
const child = (birthDate: string, extra: Form = {}): Form => ({ sex: 'male', birthDate, alive: true, origin: 'joint', ...extra });

/** Birth service under regime D: a married couple with one joint child (township 430725101). */
export function birthServiceForm(division = '430725101201'): Form {
  return {
    residence: { divisionCode: division },
    husband: { name: '张伟', idNumber: personId('male', '1990-05-01'), residentType: 'rural' },
    wife: { name: '李娜', idNumber: personId('female', '1992-01-01'), residentType: 'rural' },
    marriage: { date: '2015-06-01', kind: 'first' },
    children: [child('2018-03-03')],
  };
}

/** Re-birth permit under regime D (ground D1): three joint children, one appraised disabled and fit for another birth. */
export function rebirthPermitForm(division = '430725101201'): Form {
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

export const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
export const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), crypto.randomBytes(64)]);
export const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), crypto.randomBytes(64)]);

/** Creates a draft, uploads every document the pre-check asks for, and submits it. */
export async function submittedApplication(app: Express, auth: string, type: string, form: Form, extra: Form = {}) {
  const created = await request(app).post('/api/v1/applications').set('Authorization', auth).send({ type, form, ...extra }).expect(201);
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
