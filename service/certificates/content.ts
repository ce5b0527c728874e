import type { ApplicationDoc } from '../applications/applications.model';
import { formOf } from '../applications/applications.service';
import type { CertificateValue } from '../catalogue/catalogue';
import type { AppContext } from '../context';
import { deriveFacts, type ApplicationForm } from '../eligibility/facts';
import type { Bilingual } from '../lib/i18n';
import { maskIdForStaff } from '../lib/idnumber';
import { openName } from '../lib/personal';
import { chinaDate } from '../lib/workdays';
import type { CertificateDoc, ELicenceMetadata } from './certificates.model';
import { eLicenceIdentifier, licenceNumberOf } from './elicence';
import { issuerName } from '../divisions/divisions';
import { issuerCode } from './issuer';
import { childrenBorn, contraceptionStatus, type MigrantForm } from './particulars';

type Ctx = Pick<AppContext, 'config' | 'keys' | 'policy'>;

const NUMERALS = ['〇', '一', '二', '三', '四', '五', '六', '七', '八', '九', '十'];

/** 2026-12-02 → 2026年12月2日, as official documents date themselves. */
export function chineseDate(isoDate: string): string {
  const [y, m, d] = isoDate.split('-').map(Number);
  return `${y}年${m}月${d}日`;
}

const birthOrderText = (n: number): string => `第${NUMERALS[n] ?? String(n)}孩`;

const SEX: Record<string, string> = { male: '男', female: '女' };
const MARITAL: Record<string, string> = { unmarried: '未婚', married: '已婚', divorced: '离异', widowed: '丧偶' };

/** One printed line of a certificate: a bilingual label and the derived value. */
export interface CertificateLine {
  label: Bilingual;
  value: string;
}

export interface CertificateContent {
  title: Bilingual;
  lines: CertificateLine[];
  notes: Bilingual[];
  issuer: string;
  issuedOn: string;
  eLicence: ELicenceMetadata;
}

/** The e-licence metadata (GB/T 36903) of a certificate, from the register entry and configuration. */
export function eLicenceOf(ctx: Pick<AppContext, 'config' | 'policy'>, cert: Pick<CertificateDoc, 'serial' | 'type' | 'holderIdMasked' | 'issuerDivision' | 'issuedAt' | 'validUntil'> & { holderNameMasked: string }): ELicenceMetadata {
  const typeCode = ctx.config.eLicence.typeCodes[cert.type];
  if (!typeCode) throw new Error(`no e-licence type code configured for ${cert.type} (ELICENCE_TYPE_CODES)`);
  const code = issuerCode(ctx.config, cert.issuerDivision);
  const issuedOn = chinaDate(new Date(cert.issuedAt));
  return {
    identifier: eLicenceIdentifier(typeCode, code, cert.serial),
    typeCode,
    typeName: ctx.policy.type(cert.type)?.names.zh ?? cert.type,
    licenceNumber: licenceNumberOf(cert.serial),
    holder: { nameMasked: cert.holderNameMasked, idType: '111', idMasked: cert.holderIdMasked },
    issuer: { name: issuerName(cert.issuerDivision), code, division: cert.issuerDivision },
    issuedOn,
    validFrom: issuedOn,
    validTo: cert.validUntil ? chinaDate(new Date(new Date(cert.validUntil).getTime() - 86_400_000)) : null,
  };
}

/**
 * What a certificate prints, in the order its catalogue entry lists: derived from the sealed form,
 * the rule set the application was decided under and the register entry. ID numbers print masked
 * (first 6 and last 4), as on staff screens: the paper goes where the family takes it.
 */
export function certificateContent(ctx: Ctx, app: ApplicationDoc, cert: CertificateDoc): CertificateContent {
  const spec = ctx.policy.type(cert.type);
  if (!spec) throw new Error(`unknown certificate type ${cert.type}`);
  const form = formOf(ctx, app) as unknown as ApplicationForm & { destination?: { address?: string } };
  const day = chinaDate(new Date(app.submittedAt ?? cert.issuedAt));
  const ruleSet = ctx.policy.ruleSets.find((r) => r.version === app.ruleSetVersion) ?? ctx.policy.regimeFor(cert.type, day)?.ruleSet;
  const facts = ruleSet ? deriveFacts(form, day, ruleSet.counting).facts : undefined;
  const ground = ruleSet?.types[spec.code]?.grounds.find((g) => g.id === app.ground);
  const eLicence = eLicenceOf(ctx, { ...cert, holderNameMasked: cert.holderNameMasked ?? '' });
  const living = (form.children ?? []).filter((c) => c.alive);
  const child = living.find((c) => c.origin === 'joint') ?? living[0];
  const masked = (id: string | undefined): string => (id ? maskIdForStaff(id.toUpperCase()) : '—');
  const applicantSex = form.applicant?.idNumber ? (Number(form.applicant.idNumber[16]) % 2 === 1 ? 'male' : 'female') : undefined;
  const value = (v: CertificateValue): string => {
    switch (v) {
      case 'husband.name':
        return form.husband?.name ?? '—';
      case 'husband.id':
        return masked(form.husband?.idNumber);
      case 'wife.name':
        return form.wife?.name ?? '—';
      case 'wife.id':
        return masked(form.wife?.idNumber);
      case 'applicant.name':
        return form.applicant?.name ?? openName(ctx.keys.dataKey, app.resident);
      case 'applicant.id':
        return masked(form.applicant?.idNumber);
      case 'applicant.sex':
        return applicantSex ? SEX[applicantSex]! : '—';
      case 'spouse.name':
        return form.spouse?.name ?? '—';
      case 'spouse.id':
        return masked(form.spouse?.idNumber);
      case 'marriage.date':
        return form.marriage?.date ? chineseDate(form.marriage.date) : '—';
      case 'maritalStatus':
        return MARITAL[form.maritalStatus ?? ''] ?? '—';
      case 'birthOrder':
        return facts ? birthOrderText(facts.counts.countable + 1) : '—';
      case 'livingChildren':
        return `${living.length}人`;
      case 'ground':
        return ground ? `${ground.title.zh}（${ground.id}）` : '—';
      case 'ground.citation':
        return ground?.citation ?? '—';
      case 'child.name':
        return (child as { name?: string } | undefined)?.name ?? '—';
      case 'child.sex':
        return child ? SEX[child.sex]! : '—';
      case 'child.birthDate':
        return child ? chineseDate(child.birthDate) : '—';
      case 'destination':
        return form.destination?.address ?? '—';
      case 'childrenBorn':
        return childrenBorn(form as MigrantForm);
      case 'contraception':
        return contraceptionStatus(form as MigrantForm);
      case 'absenceDays':
        return form.plannedAbsenceDays ? `${form.plannedAbsenceDays}天` : '—';
      case 'issuer':
        return eLicence.issuer.name;
      case 'issuedOn':
        return chineseDate(eLicence.issuedOn);
      case 'validity':
        return eLicence.validTo ? `${chineseDate(eLicence.validFrom)}至${chineseDate(eLicence.validTo)}` : '长期有效';
      case 'serial':
        return cert.serial;
      case 'eLicence':
        return eLicence.identifier;
    }
  };
  return {
    title: spec.certificate.title,
    lines: spec.certificate.fields.filter((f) => !(f.value.startsWith('spouse.') && !form.spouse)).map((f) => ({ label: f.label, value: value(f.value) })),
    notes: spec.certificate.notes,
    issuer: eLicence.issuer.name,
    issuedOn: eLicence.issuedOn,
    eLicence,
  };
}
