import { township } from '../divisions/divisions';
import type { FieldProblem } from '../lib/errors';
import { fullYears, ID_PROBLEM_MESSAGES, parseIdNumber, type Sex } from '../lib/idnumber';
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
  if (form.maritalStatus === 'married' && !form.marriage) {
    errors.push({ path: 'marriage', code: 'required', messages: { zh: '已婚的请填写婚姻登记信息', en: 'Married applicants must give the marriage details' } });
  }

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
