import fs from 'node:fs';
import path from 'node:path';
import { township } from '../divisions/divisions';
import type { FieldProblem } from '../lib/errors';
import { fullYears, ID_PROBLEM_MESSAGES, parseIdNumber, type Sex } from '../lib/idnumber';
import { projectRoot } from '../lib/paths';
import type { ChildOrigin, Counting } from './policy';

/** The form shapes the form schemas guarantee once they validate. */
interface PersonForm {
  name: string;
  idNumber: string;
  sex?: Sex;
  birthDate?: string;
  residentType: 'rural' | 'urban';
  ethnicity?: string;
  isOnlyChild?: boolean;
  isTwoGenerationOnlyChild?: boolean;
  isMartyrsOnlyChild?: boolean;
  disabledSoldierGrade?: string;
  returnedOverseas?: boolean;
  siblings?: { rural: boolean; canBearChildren: boolean; adopted: boolean }[];
}
interface ChildForm {
  idNumber?: string;
  sex: Sex;
  birthDate: string;
  alive: boolean;
  origin: ChildOrigin;
  settledInMainland?: boolean;
  disability?: { appraised: boolean; appraisalBody?: 'county' | 'city' | 'province'; cannotBecomeNormalLabourer?: boolean; fitForAnotherBirth?: boolean };
}
export interface ApplicationForm {
  residence: { divisionCode: string };
  husband?: PersonForm;
  wife?: PersonForm;
  applicant?: PersonForm;
  spouse?: { name: string; idNumber: string };
  maritalStatus?: 'unmarried' | 'married' | 'divorced' | 'widowed';
  marriage?: { date: string; kind: 'first' | 'remarriage' | 'reconciliation'; uxorilocal?: boolean };
  children?: ChildForm[];
  ground?: string;
  plannedAbsenceDays?: number;
}

export interface PersonFacts {
  sex: Sex;
  birthDate: string;
  /** Full years (周岁) on the application date. */
  age: number;
  residentType: 'rural' | 'urban';
  minority: boolean;
  isOnlyChild: boolean;
  isTwoGenerationOnlyChild: boolean;
  isMartyrsOnlyChild: boolean;
  disabledSoldierGrade: string | null;
  /** The grade on the ten levels of 2004 (1 best), an old-scale card converted: rules compare this. */
  disabledSoldierLevel: number | null;
  returnedOverseas: boolean;
  siblings: { rural: boolean; canBearChildren: boolean; adopted: boolean }[];
  ageAtFirstBirth: number | null;
  yearsSinceLastBirth: number | null;
}

export interface ChildFacts {
  sex: Sex;
  birthDate: string;
  age: number;
  alive: boolean;
  origin: ChildOrigin;
  settledInMainland: boolean;
  /** Appraised as unable to grow into a normal labourer. */
  disabled: boolean;
  appraisalBody: string | null;
  fitForAnotherBirth: boolean;
}

/** Every key is always present, so that a rule's `properties` never passes on a missing value. */
export interface Facts {
  day: string;
  married: boolean;
  marriageKind: 'first' | 'remarriage' | 'reconciliation' | null;
  maritalStatus: string | null;
  uxorilocal: boolean;
  ethnicTownship: boolean;
  absenceDays: number | null;
  husband: PersonFacts | null;
  wife: PersonFacts | null;
  applicant: PersonFacts | null;
  counts: {
    joint: number;
    wifePrior: number;
    husbandPrior: number;
    prior: number;
    adopted: number;
    step: number;
    withThirdParty: number;
    living: number;
    deceased: number;
    countable: number;
    jointBirths: number;
  };
  countableChildren: ChildFacts[];
  jointChildren: ChildFacts[];
  /** The living joint children of the couple's first birth (twins share one). */
  firstBirth: ChildFacts[];
}

/** GB/T 3304 code of the Han; every other code of the 56 is a minority. */
const HAN = '01';

interface MarriageAgeData {
  periods: { from: string; man: number; woman: number; citation: string }[];
  mother: { minAge: number; maxAge: number };
}
const PLAUSIBLE = JSON.parse(fs.readFileSync(path.join(projectRoot(), 'schemas/codes/marriage-age.json'), 'utf8')) as MarriageAgeData;

/** Disabled-soldier grades of either scale → the 2004 levels (schemas/codes/disabled-soldier-grades.json). */
const SOLDIER_LEVELS = (JSON.parse(fs.readFileSync(path.join(projectRoot(), 'schemas/codes/disabled-soldier-grades.json'), 'utf8')) as { levels: Record<string, number> }).levels;

/** The minimum marriage age for a marriage registered on `day`, with the article that sets it. */
export function marriageAgeOn(day: string): MarriageAgeData['periods'][number] | undefined {
  return PLAUSIBLE.periods.find((p) => p.from <= day);
}

const ROLE_ZH = { husband: '男方', wife: '女方', applicant: '申请人' } as const;

/** Children a person is a biological parent of, by origin (a third-party child's parent is unknown). */
const OWN_CHILDREN: Record<'husband' | 'wife', ChildOrigin[]> = {
  husband: ['joint', 'husband_prior'],
  wife: ['joint', 'wife_prior'],
};

/** Whose births a person's spacing is measured from. */
const OWN_BIRTHS: Record<'husband' | 'wife' | 'applicant', ChildOrigin[]> = {
  husband: ['joint', 'husband_prior', 'with_third_party'],
  wife: ['joint', 'wife_prior', 'with_third_party'],
  applicant: ['joint', 'wife_prior', 'husband_prior', 'with_third_party'],
};

/**
 * Facts derived on the server from a schema-valid form: never trusted from the client. Birth dates
 * and sex come from ID numbers; entered values must agree with them. `day` is the application date.
 */
export function deriveFacts(form: ApplicationForm, day: string, counting: Counting): { facts: Facts; errors: FieldProblem[] } {
  const errors: FieldProblem[] = [];
  const children = form.children ?? [];

  const idOf = (path: string, idNumber: string) => {
    const parsed = parseIdNumber(idNumber, day);
    if (!parsed.ok) {
      errors.push({ path: `${path}.idNumber`, code: 'format:cn-id-number', messages: ID_PROBLEM_MESSAGES[parsed.problem] });
      return undefined;
    }
    return parsed.value;
  };

  const person = (role: 'husband' | 'wife' | 'applicant', p: PersonForm | undefined, expectedSex?: Sex): PersonFacts | null => {
    if (!p) return null;
    const id = idOf(role, p.idNumber);
    if (!id) return null;
    if (p.sex !== undefined && p.sex !== id.sex) {
      errors.push({ path: `${role}.sex`, code: 'consistency', messages: { zh: '性别与身份证号码不一致', en: 'The sex does not match the ID number' } });
    }
    if (p.birthDate !== undefined && p.birthDate !== id.birthDate) {
      errors.push({ path: `${role}.birthDate`, code: 'consistency', messages: { zh: '出生日期与身份证号码不一致', en: 'The birth date does not match the ID number' } });
    }
    if (expectedSex && id.sex !== expectedSex) {
      const zh = expectedSex === 'male' ? '男方身份证号码显示为女性' : '女方身份证号码显示为男性';
      errors.push({ path: `${role}.idNumber`, code: 'consistency', messages: { zh, en: `The ${role}'s ID number belongs to a ${id.sex === 'male' ? 'man' : 'woman'}` } });
    }
    const births = children
      .filter((c) => OWN_BIRTHS[role].includes(c.origin))
      .map((c) => c.birthDate)
      .sort();
    return {
      sex: id.sex,
      birthDate: id.birthDate,
      age: fullYears(id.birthDate, day),
      residentType: p.residentType,
      minority: p.ethnicity !== undefined && p.ethnicity !== HAN,
      isOnlyChild: p.isOnlyChild === true,
      isTwoGenerationOnlyChild: p.isTwoGenerationOnlyChild === true,
      isMartyrsOnlyChild: p.isMartyrsOnlyChild === true,
      disabledSoldierGrade: p.disabledSoldierGrade ?? null,
      disabledSoldierLevel: p.disabledSoldierGrade ? (SOLDIER_LEVELS[p.disabledSoldierGrade] ?? null) : null,
      returnedOverseas: p.returnedOverseas === true,
      siblings: p.siblings ?? [],
      ageAtFirstBirth: births.length ? fullYears(id.birthDate, births[0]!) : null,
      yearsSinceLastBirth: births.length ? fullYears(births[births.length - 1]!, day) : null,
    };
  };

  const husband = person('husband', form.husband, 'male');
  const wife = person('wife', form.wife, 'female');
  const applicant = person('applicant', form.applicant);
  if (form.husband && form.wife && form.husband.idNumber.toUpperCase() === form.wife.idNumber.toUpperCase()) {
    errors.push({ path: 'wife.idNumber', code: 'consistency', messages: { zh: '夫妻双方身份证号码相同', en: 'Husband and wife have the same ID number' } });
  }
  if (form.spouse) idOf('spouse', form.spouse.idNumber);
  if (form.maritalStatus !== undefined) errors.push(...maritalStatusProblems(form));
  errors.push(...plausibilityProblems(form, { husband, wife, applicant }));

  const childFacts = children.map((c, i): ChildFacts => {
    const path = `children.${i}`;
    if (c.idNumber !== undefined) {
      const id = idOf(path, c.idNumber);
      if (id && id.birthDate !== c.birthDate) {
        errors.push({ path: `${path}.birthDate`, code: 'consistency', messages: { zh: '出生日期与身份证号码不一致', en: 'The birth date does not match the ID number' } });
      }
      if (id && id.sex !== c.sex) {
        errors.push({ path: `${path}.sex`, code: 'consistency', messages: { zh: '性别与身份证号码不一致', en: 'The sex does not match the ID number' } });
      }
    }
    if (c.birthDate > day) {
      errors.push({ path: `${path}.birthDate`, code: 'future', messages: { zh: '出生日期晚于申请日期', en: 'The birth date is after the application date' } });
    }
    const d = c.disability;
    return {
      sex: c.sex,
      birthDate: c.birthDate,
      age: fullYears(c.birthDate, day),
      alive: c.alive,
      origin: c.origin,
      settledInMainland: c.settledInMainland === true,
      disabled: d?.appraised === true && d.cannotBecomeNormalLabourer === true,
      appraisalBody: d?.appraised ? (d.appraisalBody ?? null) : null,
      fitForAnotherBirth: d?.appraised === true && d.fitForAnotherBirth === true,
    };
  });

  const living = childFacts.filter((c) => c.alive);
  const livingOf = (origin: ChildOrigin): number => living.filter((c) => c.origin === origin).length;
  const jointChildren = living.filter((c) => c.origin === 'joint');
  const jointBirthDates = [...new Set(jointChildren.map((c) => c.birthDate))].sort();
  const countableChildren = childFacts.filter((c) => counting.origins.includes(c.origin) && (c.alive || !counting.livingOnly));

  const facts: Facts = {
    day,
    married: form.marriage !== undefined && form.marriage.date <= day && (form.maritalStatus === undefined || form.maritalStatus === 'married'),
    marriageKind: form.marriage?.kind ?? null,
    maritalStatus: form.maritalStatus ?? null,
    uxorilocal: form.marriage?.uxorilocal === true,
    ethnicTownship: township(form.residence.divisionCode.slice(0, 9))?.ethnic === true,
    absenceDays: form.plannedAbsenceDays ?? null,
    husband,
    wife,
    applicant,
    counts: {
      joint: jointChildren.length,
      wifePrior: livingOf('wife_prior'),
      husbandPrior: livingOf('husband_prior'),
      prior: livingOf('wife_prior') + livingOf('husband_prior'),
      adopted: livingOf('adopted'),
      step: livingOf('step'),
      withThirdParty: livingOf('with_third_party'),
      living: living.length,
      deceased: childFacts.length - living.length,
      countable: countableChildren.length,
      jointBirths: jointBirthDates.length,
    },
    countableChildren,
    jointChildren,
    firstBirth: jointChildren.filter((c) => c.birthDate === jointBirthDates[0]),
  };
  return { facts, errors };
}

/**
 * The migrant-marriage form says the marital status and the spouse separately: they must agree. Only
 * a married applicant has a spouse and a marriage; the spouse is someone else.
 */
function maritalStatusProblems(form: ApplicationForm): FieldProblem[] {
  const out: FieldProblem[] = [];
  const married = form.maritalStatus === 'married';
  if (married && !form.marriage) {
    out.push({ path: 'marriage', code: 'required', messages: { zh: '已婚的请填写婚姻登记信息', en: 'Married applicants must give the marriage details' } });
  }
  if (married && !form.spouse) {
    out.push({ path: 'spouse', code: 'required', messages: { zh: '已婚的请填写配偶姓名和身份证号码', en: 'Married applicants must name their spouse' } });
  }
  if (!married && form.spouse) {
    out.push({ path: 'spouse', code: 'consistency', messages: { zh: '婚姻状况不是“已婚”，不应填写配偶', en: 'Only a married applicant has a spouse' } });
  }
  if (!married && form.marriage && form.maritalStatus === 'unmarried') {
    out.push({ path: 'marriage', code: 'consistency', messages: { zh: '未婚的不应填写婚姻登记信息', en: 'An unmarried applicant has no marriage registration' } });
  }
  if (form.spouse && form.applicant && form.spouse.idNumber.toUpperCase() === form.applicant.idNumber.toUpperCase()) {
    out.push({ path: 'spouse.idNumber', code: 'consistency', messages: { zh: '配偶身份证号码与申请人相同', en: "The spouse's ID number is the applicant's own" } });
  }
  return out;
}

/**
 * Dates that cannot all be true: a marriage before a spouse's birth or below the legal age, a child
 * born before its parent or to a mother outside plausible ages. Each names its field.
 */
function plausibilityProblems(form: ApplicationForm, people: Record<'husband' | 'wife' | 'applicant', PersonFacts | null>): FieldProblem[] {
  const out: FieldProblem[] = [];
  const marriage = form.marriage;
  if (marriage) {
    const law = marriageAgeOn(marriage.date);
    for (const role of ['husband', 'wife', 'applicant'] as const) {
      const p = people[role];
      if (!p) continue;
      if (marriage.date < p.birthDate) {
        out.push({
          path: 'marriage.date',
          code: 'plausibility',
          messages: { zh: `婚姻登记日期早于${ROLE_ZH[role]}的出生日期`, en: `The marriage date is before the ${role}'s birth` },
        });
        continue;
      }
      const minimum = law ? (p.sex === 'male' ? law.man : law.woman) : undefined;
      if (law && minimum !== undefined && fullYears(p.birthDate, marriage.date) < minimum) {
        out.push({
          path: 'marriage.date',
          code: 'marriage_age',
          messages: {
            zh: `结婚登记时${ROLE_ZH[role]}未满法定婚龄${minimum}周岁（${law.citation}）`,
            en: `At the marriage date the ${role} was under the legal marriage age of ${minimum} (${p.sex === 'male' ? 'men' : 'women'})`,
          },
        });
      }
    }
  }
  const mother = people.wife ?? (people.applicant?.sex === 'female' ? people.applicant : null);
  (form.children ?? []).forEach((c, i) => {
    const path = `children.${i}.birthDate`;
    for (const role of ['husband', 'wife'] as const) {
      const p = people[role];
      if (p && OWN_CHILDREN[role].includes(c.origin) && c.birthDate <= p.birthDate) {
        out.push({ path, code: 'plausibility', messages: { zh: `子女出生日期不晚于${ROLE_ZH[role]}的出生日期`, en: `The child is born before the ${role}` } });
      }
    }
    if (mother && OWN_CHILDREN.wife.includes(c.origin) && c.birthDate > mother.birthDate) {
      const age = fullYears(mother.birthDate, c.birthDate);
      if (age < PLAUSIBLE.mother.minAge || age > PLAUSIBLE.mother.maxAge) {
        out.push({
          path,
          code: 'plausibility',
          messages: {
            zh: `按此出生日期，母亲生育时${age}周岁，不在${PLAUSIBLE.mother.minAge}至${PLAUSIBLE.mother.maxAge}周岁之间，请核对`,
            en: `By this birth date the mother was ${age} at the birth, outside ${PLAUSIBLE.mother.minAge} to ${PLAUSIBLE.mother.maxAge}`,
          },
        });
      }
    }
  });
  return out;
}
