import type { SchemaObject } from 'ajv';
import type { Bilingual } from '../lib/i18n';

/** The catalogue's shapes. The content lives in schemas/catalogue/*.json, checked at start-up. */

/**
 * The catalogue's certificate types, in display order: one file each in schemas/catalogue/, checked
 * at start-up (eligibility/policy.ts), and the one place request schemas take the enum from.
 */
export const TYPE_CODES = ['birth-service', 'rebirth-permit', 'only-child-honour', 'migrant-marriage'] as const;

export type TypeCode = (typeof TYPE_CODES)[number];

/** A certificate type in a request or response schema. */
export const TYPE_CODE = { type: 'string', enum: TYPE_CODES } as const;

export interface Limit {
  value: number;
  unit: 'working_days' | 'calendar_days';
}

export interface StageSpec {
  id: string;
  level: 'township' | 'county';
  name: Bilingual;
  statutory: Limit;
  committed: Limit;
  note?: string;
}

export interface DocumentSpec {
  kind: string;
  name: Bilingual;
  /** always; when: only if `when` holds for the facts; ground: only if the ground relied on lists it. */
  required: 'always' | 'when' | 'ground';
  /** JSON Schema over the derived facts (form under `form`), for `required: when`. */
  when?: SchemaObject;
  /** The `when` condition in words, for the service guide. */
  condition?: Bilingual;
  note?: string;
}

/** A value a certificate prints; the service derives each from the case (certificates/content.ts). */
export type CertificateValue =
  | 'husband.name' | 'husband.id' | 'wife.name' | 'wife.id' | 'applicant.name' | 'applicant.id' | 'applicant.sex' | 'spouse.name' | 'spouse.id'
  | 'marriage.date' | 'maritalStatus' | 'birthOrder' | 'livingChildren' | 'ground' | 'ground.citation'
  | 'child.name' | 'child.sex' | 'child.birthDate' | 'destination' | 'absenceDays' | 'childrenBorn' | 'contraception' | 'issuer' | 'issuedOn' | 'validity' | 'serial' | 'eLicence';

/** What a certificate shows, in order (schemas/catalogue/<type>.json, `certificate`). */
export interface CertificateLayout {
  title: Bilingual;
  fields: Array<{ label: Bilingual; value: CertificateValue }>;
  notes: Bilingual[];
  /** A booklet edition besides A4: one booklet page's size in mm, and where the size comes from. */
  booklet?: { pageMm: [number, number]; source: string };
}

export interface CertificateType {
  code: TypeCode;
  /** Used in certificate serials like 430725-2026-RB-000123. */
  serialCode: 'BS' | 'RB' | 'OH' | 'MM';
  names: Bilingual;
  summary?: Bilingual;
  legalBasis: Bilingual[];
  stages: StageSpec[];
  fee: number;
  /** migrant-marriage: 3 years; the others do not expire. */
  validity: { years: number } | null;
  issuingAuthority: Bilingual;
  /** $id of the application form schema. */
  form: string;
  documents: DocumentSpec[];
  steps: Bilingual[];
  certificate: CertificateLayout;
  note?: string;
}
