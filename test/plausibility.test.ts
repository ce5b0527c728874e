import assert from 'node:assert/strict';
import path from 'node:path';
import { evaluateApplication } from '../service/eligibility/eligibility.service';
import { loadPolicy } from '../service/eligibility/policy';
import { checkCharacter } from '../service/lib/idnumber';

const policy = loadPolicy(path.resolve(__dirname, '..', 'schemas'));
const D_DAY = new Date('2024-03-01T10:00:00+08:00');

function id(sex: 'male' | 'female', birth: string, seq = 1): string {
  const first17 = `430725${birth.replace(/-/g, '')}0${seq}${sex === 'male' ? 1 : 2}`;
  return first17 + checkCharacter(first17);
}

type Form = Record<string, any>;
const child = (birthDate: string, origin = 'joint') => ({ sex: 'male', birthDate, alive: true, origin });

/** Husband born 1990-05-01, wife born 1992-01-01, married 2014-06-01, one joint child born 2016. */
function couple(patch: (f: Form) => void = () => {}): Form {
  const f: Form = {
    residence: { divisionCode: '430725101202' },
    husband: { name: '张伟', idNumber: id('male', '1990-05-01'), residentType: 'rural' },
    wife: { name: '李娜', idNumber: id('female', '1992-01-01'), residentType: 'rural' },
    marriage: { date: '2014-06-01', kind: 'first' },
    children: [child('2016-03-03')],
  };
  patch(f);
  return f;
}

function migrant(patch: (f: Form) => void = () => {}): Form {
  const f: Form = {
    residence: { divisionCode: '430725101202' },
    applicant: { name: '王芳', idNumber: id('female', '1995-01-01'), residentType: 'rural' },
    maritalStatus: 'married',
    spouse: { name: '陈刚', idNumber: id('male', '1993-01-01') },
    marriage: { date: '2018-01-01', kind: 'first' },
    destination: { address: '广东省东莞市' },
    plannedAbsenceDays: 90,
  };
  patch(f);
  return f;
}

const problems = (type: string, form: Form) => evaluateApplication(policy, type, form, D_DAY, 'en').errors.map((e) => `${e.path} ${e.code}`);

/** [what, type, form, the problems expected ([] = accepted)] */
const table: [string, string, Form, string[]][] = [
  ['the base couple', 'birth-service', couple(), []],
  // Civil Code art. 1047 (and the 1980 Marriage Law art. 6): man 22, woman 20, on the marriage date.
  ['a husband exactly 22 on the marriage date', 'birth-service', couple((f) => (f.marriage.date = '2012-05-01')), []],
  ['a husband 22 less one day', 'birth-service', couple((f) => (f.marriage.date = '2012-04-30')), ['marriage.date marriage_age']],
  ['a wife exactly 20 on the marriage date', 'birth-service', couple((f) => ((f.husband.idNumber = id('male', '1985-01-01')), (f.marriage.date = '2012-01-01'))), []],
  ['a wife 20 less one day', 'birth-service', couple((f) => ((f.husband.idNumber = id('male', '1985-01-01')), (f.marriage.date = '2011-12-31'))), ['marriage.date marriage_age']],
  ['a remarriage below the age too', 'birth-service', couple((f) => ((f.marriage.kind = 'remarriage'), (f.marriage.date = '2012-04-30'))), ['marriage.date marriage_age']],
  ['a marriage in 1975 at 20 and 18 (the 1950 law)', 'rebirth-permit', couple((f) => ((f.husband.idNumber = id('male', '1955-01-01')), (f.wife.idNumber = id('female', '1957-01-01')), (f.marriage.date = '1975-01-01'), (f.children = [child('1977-01-01')]), (f.ground = 'D1'))), []],
  ['a marriage dated before both spouses were born', 'birth-service', couple((f) => (f.marriage.date = '1989-06-01')), ['marriage.date plausibility', 'marriage.date plausibility']],
  // Children and their parents.
  ['a mother exactly 14 at the birth', 'birth-service', couple((f) => (f.children = [child('2006-01-01', 'wife_prior')])), []],
  ['a mother 14 less one day at the birth', 'birth-service', couple((f) => (f.children = [child('2005-12-31', 'wife_prior')])), ['children.0.birthDate plausibility']],
  ['a mother 60 at the birth', 'birth-service', couple((f) => ((f.wife.idNumber = id('female', '1963-06-01')), (f.children = [child('2024-02-01')]))), []],
  ['a mother 61 at the birth', 'birth-service', couple((f) => ((f.wife.idNumber = id('female', '1962-06-01')), (f.children = [child('2023-07-01')]))), ['children.0.birthDate plausibility']],
  ['a joint child born before its father', 'birth-service', couple((f) => (f.children = [child('1990-01-01')])), ['children.0.birthDate plausibility', 'children.0.birthDate plausibility']],
  ["a husband's prior child born before him", 'birth-service', couple((f) => (f.children = [child('1989-01-01', 'husband_prior')])), ['children.0.birthDate plausibility']],
  ['an adopted child older than the parents', 'birth-service', couple((f) => (f.children = [child('1988-01-01', 'adopted')])), []],
  // The migrant-marriage form's marital status, spouse and marriage agree.
  ['a married migrant with a spouse', 'migrant-marriage', migrant(), []],
  ['a married migrant without a spouse', 'migrant-marriage', migrant((f) => delete f.spouse), ['spouse required']],
  ['an unmarried migrant with a spouse', 'migrant-marriage', migrant((f) => ((f.maritalStatus = 'unmarried'), delete f.marriage)), ['spouse consistency']],
  ['an unmarried migrant with a marriage', 'migrant-marriage', migrant((f) => ((f.maritalStatus = 'unmarried'), delete f.spouse)), ['marriage consistency']],
  ['a divorced migrant who names a spouse', 'migrant-marriage', migrant((f) => (f.maritalStatus = 'divorced')), ['spouse consistency']],
  ['a migrant whose spouse is herself', 'migrant-marriage', migrant((f) => (f.spouse.idNumber = f.applicant.idNumber)), ['spouse.idNumber consistency']],
  ['a migrant married at 19', 'migrant-marriage', migrant((f) => (f.marriage.date = '2014-01-01')), ['marriage.date marriage_age']],
];

describe('plausibility of dates and the migrant-marriage form (table-driven)', () => {
  for (const [what, type, form, expected] of table) {
    it(`when ${what}, then ${expected.length ? `refused: ${expected.join(', ')}` : 'accepted'}`, () => {
      assert.deepEqual(problems(type, form).sort(), [...expected].sort());
    });
  }

  it('when the marriage age is refused, then the message names the spouse and the law in both languages', () => {
    const r = evaluateApplication(policy, 'birth-service', couple((f) => (f.marriage.date = '2012-04-30')), D_DAY, 'zh');
    assert.equal(r.eligible, false);
    assert.match(r.errors[0]!.messages.zh, /男方未满法定婚龄22周岁.*民法典》第一千零四十七条/);
    assert.match(r.errors[0]!.messages.en, /husband was under the legal marriage age of 22/);
  });
});

describe('ethnicity by GB/T 3304 code', () => {
  const A_DAY = new Date('2010-03-01T10:00:00+08:00');
  /** Both rural, one joint child, both minorities: ground A-E1 where they live in an ethnic township. */
  const minority = (division: string, husband: string, wife: string) =>
    couple((f) => ((f.residence.divisionCode = division), (f.husband.idNumber = id('male', '1978-05-01')), (f.wife.idNumber = id('female', '1980-01-01')), (f.marriage.date = '2003-01-01'), (f.children = [child('2004-01-01')]), (f.husband.ethnicity = husband), (f.wife.ethnicity = wife), (f.ground = 'A-E1')));
  const e1 = (form: Form) => evaluateApplication(policy, 'rebirth-permit', form, A_DAY, 'en');

  it('when a Uyghur and a Hui couple live in 青林回族维吾尔族乡 (430725200), then ground A-E1 is met', () => {
    const r = e1(minority('430725200204', '05', '03'));
    assert.deepEqual(r.errors, []);
    assert.equal(r.grounds.find((g) => g.id === 'A-E1')?.met, true);
  });

  it('when the same couple lives in 枫树维吾尔族回族乡 (430725202), then A-E1 is met; in 陬市镇 (430725101), not', () => {
    const fengshu = e1(minority('430725202202', '05', '03'));
    assert.deepEqual(fengshu.errors, []);
    assert.equal(fengshu.grounds.find((g) => g.id === 'A-E1')?.met, true);
    assert.equal(e1(minority('430725101202', '05', '03')).grounds.find((g) => g.id === 'A-E1')?.met, false);
  });

  it('when a couple both Han (01) live in the ethnic township, then A-E1 is not met', () => {
    assert.equal(e1(minority('430725200204', '01', '01')).grounds.find((g) => g.id === 'A-E1')?.met, false);
  });

  for (const text of ['漢族', '汗族', '维吾尔族', 'Uyghur', '57', '5']) {
    it(`when the ethnicity is given as "${text}", then it is refused as not a GB/T 3304 code`, () => {
      assert.deepEqual(problems('birth-service', couple((f) => (f.husband.ethnicity = text))), ['husband.ethnicity enum']);
    });
  }
});
