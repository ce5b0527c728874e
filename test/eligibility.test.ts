import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { evaluateApplication, type EligibilityResult } from '../service/eligibility/eligibility.service';
import { loadPolicy, PolicyError } from '../service/eligibility/policy';
import { checkCharacter } from '../service/lib/idnumber';

const SCHEMAS = path.resolve(__dirname, '..', 'schemas');
const FIXTURE_RULES = path.resolve(__dirname, 'fixtures', 'rules-extra');
const policy = loadPolicy(SCHEMAS);

function id(sex: 'male' | 'female', birth: string): string {
  const first17 = `430725${birth.replace(/-/g, '')}01${sex === 'male' ? 1 : 2}`;
  return first17 + checkCharacter(first17);
}

type Form = Record<string, any>;
type Child = Record<string, unknown>;
const child = (birthDate: string, extra: Child = {}): Child => ({ sex: 'male', birthDate, alive: true, origin: 'joint', ...extra });
const appraisal = (fitForAnotherBirth: boolean) => ({ appraised: true, appraisalBody: 'city', cannotBecomeNormalLabourer: true, fitForAnotherBirth });
/** Appraised, but found able to grow into a normal labourer: not disabled. */
const notDisabled = { appraised: true, appraisalBody: 'city', cannotBecomeNormalLabourer: false, fitForAnotherBirth: true };
const sibling = (extra: Record<string, boolean> = {}) => ({ rural: true, canBearChildren: false, adopted: false, ...extra });
/** A rural remarried couple who each brought one child (born 2008 and 2009) and have none together. */
const remarriedWithTwo = (wifeChild: Child, husbandChild: Child) => (f: Form) => {
  rural(f);
  f.marriage = { date: '2012-01-01', kind: 'remarriage' };
  f.children = [child('2008-01-01', { origin: 'wife_prior', ...wifeChild }), child('2009-01-01', { origin: 'husband_prior', ...husbandChild })];
};

/** An urban couple, married in 2004, wife born 1984, with one joint son born 2005. */
function couple(patch: (f: Form) => void = () => {}, ground?: string): Form {
  const form: Form = {
    residence: { divisionCode: '430725101202' },
    husband: { name: '张伟', idNumber: id('male', '1981-05-01'), residentType: 'urban' },
    wife: { name: '李娜', idNumber: id('female', '1984-01-01'), residentType: 'urban' },
    marriage: { date: '2004-01-01', kind: 'first' },
    children: [child('2005-01-01')],
    ...(ground ? { ground } : {}),
  };
  patch(form);
  return form;
}
const rural = (f: Form) => {
  f.husband.residentType = 'rural';
  f.wife.residentType = 'rural';
};

const A_DAY = new Date('2010-03-01T10:00:00+08:00');
const B_DAY = new Date('2015-03-01T10:00:00+08:00');
const D_DAY = new Date('2024-03-01T10:00:00+08:00');

const judge = (type: string, form: Form, at: Date, lang: 'zh' | 'en' = 'en'): EligibilityResult => evaluateApplication(policy, type, form, at, lang);
const entry = (r: EligibilityResult, ruleId: string) => {
  const found = r.grounds.find((g) => g.id === ruleId);
  assert.ok(found, `rule ${ruleId} is in the result`);
  return found;
};

interface Case {
  rule: string;
  type: string;
  at: Date;
  pass: Form;
  fail: Form;
  why: string;
}

const cases: Case[] = [
  // Regime A (Hunan 2002), permit for an additional child.
  { rule: 'A1', type: 'rebirth-permit', at: A_DAY, why: 'the appraisal says fit to reproduce: no',
    pass: couple((f) => (f.children = [child('2005-01-01', { disability: appraisal(true) })]), 'A1'),
    fail: couple((f) => (f.children = [child('2005-01-01', { disability: appraisal(false) })]), 'A1') },
  { rule: 'A2', type: 'rebirth-permit', at: A_DAY, why: 'they also have a child of their own',
    pass: couple((f) => (f.children = [child('2005-01-01', { origin: 'adopted' })]), 'A2'),
    fail: couple((f) => (f.children = [child('2005-01-01', { origin: 'adopted' }), child('2006-01-01')]), 'A2') },
  { rule: 'A3', type: 'rebirth-permit', at: A_DAY, why: 'both spouses brought a child',
    pass: couple((f) => ((f.marriage.kind = 'remarriage'), (f.children = [child('2005-01-01', { origin: 'wife_prior' })])), 'A3'),
    fail: couple((f) => ((f.marriage.kind = 'remarriage'), (f.children = [child('2005-01-01', { origin: 'wife_prior' }), child('2003-01-01', { origin: 'husband_prior' })])), 'A3') },
  { rule: 'A4', type: 'rebirth-permit', at: A_DAY, why: 'two joint children instead of one',
    pass: couple((f) => ((f.husband.isOnlyChild = true), (f.wife.isOnlyChild = true)), 'A4'),
    fail: couple((f) => ((f.husband.isOnlyChild = true), (f.wife.isOnlyChild = true), f.children.push(child('2005-01-01'))), 'A4') },
  { rule: 'A5', type: 'rebirth-permit', at: A_DAY, why: 'the child is not settled in the mainland',
    pass: couple((f) => ((f.husband.returnedOverseas = true), (f.wife.returnedOverseas = true), (f.children[0].settledInMainland = true)), 'A5'),
    fail: couple((f) => ((f.husband.returnedOverseas = true), (f.wife.returnedOverseas = true), (f.children[0].settledInMainland = false)), 'A5') },
  { rule: 'A-R1', type: 'rebirth-permit', at: A_DAY, why: 'the child is a boy',
    pass: couple((f) => (rural(f), (f.children[0].sex = 'female')), 'A-R1'),
    fail: couple(rural, 'A-R1') },
  { rule: 'A-R2', type: 'rebirth-permit', at: A_DAY, why: 'the husband is urban',
    pass: couple((f) => (rural(f), (f.wife.isTwoGenerationOnlyChild = true)), 'A-R2'),
    fail: couple((f) => (rural(f), (f.wife.isTwoGenerationOnlyChild = true), (f.husband.residentType = 'urban')), 'A-R2') },
  { rule: 'A-R3', type: 'rebirth-permit', at: A_DAY, why: 'the grade is 3-A, below 2-B',
    pass: couple((f) => (rural(f), (f.husband.disabledSoldierGrade = '2B')), 'A-R3'),
    fail: couple((f) => (rural(f), (f.husband.disabledSoldierGrade = '3A')), 'A-R3') },
  { rule: 'A-R4', type: 'rebirth-permit', at: A_DAY, why: 'the husband did not marry into the family',
    pass: couple((f) => (rural(f), (f.marriage.uxorilocal = true)), 'A-R4'),
    fail: couple((f) => (rural(f), (f.marriage.uxorilocal = false)), 'A-R4') },
  { rule: 'A-R5', type: 'rebirth-permit', at: A_DAY, why: 'one sibling can bear children',
    pass: couple((f) => (rural(f), (f.husband.siblings = [{ rural: true, canBearChildren: false, adopted: false }])), 'A-R5'),
    fail: couple((f) => (rural(f), (f.husband.siblings = [{ rural: true, canBearChildren: false, adopted: false }, { rural: true, canBearChildren: true, adopted: false }])), 'A-R5') },
  { rule: 'A-E1', type: 'rebirth-permit', at: A_DAY, why: 'they do not live in an ethnic township',
    pass: couple((f) => ((f.residence.divisionCode = '430725200204'), (f.husband.ethnicity = '15'), (f.wife.ethnicity = '06'), (f.husband.residentType = 'rural')), 'A-E1'),
    fail: couple((f) => ((f.residence.divisionCode = '430725101202'), (f.husband.ethnicity = '15'), (f.wife.ethnicity = '06'), (f.husband.residentType = 'rural')), 'A-E1') },
  { rule: 'A-MARRIED', type: 'rebirth-permit', at: A_DAY, why: 'the marriage is registered after the application date',
    pass: couple((f) => ((f.husband.isOnlyChild = true), (f.wife.isOnlyChild = true)), 'A4'),
    fail: couple((f) => ((f.husband.isOnlyChild = true), (f.wife.isOnlyChild = true), (f.marriage.date = '2010-03-02')), 'A4') },
  { rule: 'A-SPACING', type: 'rebirth-permit', at: A_DAY, why: 'the mother is 24, not 25',
    pass: couple((f) => ((f.husband.isOnlyChild = true), (f.wife.isOnlyChild = true), (f.wife.idNumber = id('female', '1984-06-01')), (f.marriage.date = '2005-06-01')), 'A4'),
    fail: couple((f) => ((f.husband.isOnlyChild = true), (f.wife.isOnlyChild = true), (f.wife.idNumber = id('female', '1985-06-01')), (f.marriage.date = '2005-06-01')), 'A4') },
  { rule: 'A-SPACING', type: 'rebirth-permit', at: A_DAY, why: 'the mother is 27, not 28, one year after her last birth',
    pass: couple((f) => ((f.husband.isOnlyChild = true), (f.wife.isOnlyChild = true), (f.wife.idNumber = id('female', '1982-01-01')), (f.children = [child('2009-01-01')])), 'A4'),
    fail: couple((f) => ((f.husband.isOnlyChild = true), (f.wife.isOnlyChild = true), (f.wife.idNumber = id('female', '1982-06-01')), (f.children = [child('2009-01-01')])), 'A4') },
  { rule: 'A-SPACING', type: 'rebirth-permit', at: A_DAY, why: 'her first birth was at 23, not at 24 (late childbearing), two years ago',
    pass: couple((f) => ((f.husband.isOnlyChild = true), (f.wife.isOnlyChild = true), (f.wife.idNumber = id('female', '1983-06-01')), (f.children = [child('2007-07-01')])), 'A4'),
    fail: couple((f) => ((f.husband.isOnlyChild = true), (f.wife.isOnlyChild = true), (f.wife.idNumber = id('female', '1983-08-01')), (f.children = [child('2007-07-01')])), 'A4') },
  // Regime A, the other types.
  { rule: 'A-BS1', type: 'birth-service', at: A_DAY, why: 'they already have one child',
    pass: couple((f) => (f.children = [])), fail: couple() },
  { rule: 'A-OH1', type: 'only-child-honour', at: A_DAY, why: 'two joint children instead of one',
    pass: couple((f) => (f.pledge = true)), fail: couple((f) => ((f.pledge = true), f.children.push(child('2007-01-01')))) },
  { rule: 'A-OH2', type: 'only-child-honour', at: A_DAY, why: 'they adopted two children',
    pass: couple((f) => ((f.pledge = true), (f.children = [child('2005-01-01', { origin: 'adopted' })]))),
    fail: couple((f) => ((f.pledge = true), (f.children = [child('2005-01-01', { origin: 'adopted' }), child('2007-01-01', { origin: 'adopted' })]))) },
  { rule: 'A-OH3', type: 'only-child-honour', at: A_DAY, why: 'each spouse brought a child: two between them',
    pass: couple((f) => ((f.pledge = true), (f.marriage.kind = 'remarriage'), (f.children = [child('2002-01-01', { origin: 'wife_prior' })]))),
    fail: couple((f) => ((f.pledge = true), (f.marriage.kind = 'remarriage'), (f.children = [child('2002-01-01', { origin: 'wife_prior' }), child('2003-01-01', { origin: 'husband_prior' })]))) },
  { rule: 'A-MM1', type: 'migrant-marriage', at: A_DAY, why: 'she leaves for 29 days, not 30',
    pass: migrant('female', '1980-01-01', 30), fail: migrant('female', '1980-01-01', 29) },
  { rule: 'A-MM0', type: 'migrant-marriage', at: new Date('2005-03-01T10:00:00+08:00'), why: 'he is 50, not 49',
    pass: migrant('male', '1955-03-02', 60), fail: migrant('male', '1955-03-01', 60) },
  // Regime B (2014-01-23 amendment, 单独二孩), permit for an additional child: the changed grounds first.
  { rule: 'B4', type: 'rebirth-permit', at: B_DAY, why: 'neither spouse is an only child',
    pass: couple((f) => (f.husband.isOnlyChild = true), 'B4'),
    fail: couple((f) => ((f.husband.isOnlyChild = false), (f.wife.isOnlyChild = false)), 'B4') },
  { rule: 'B4', type: 'rebirth-permit', at: B_DAY, why: 'the only-child wife already has two joint children',
    pass: couple((f) => (f.wife.isOnlyChild = true), 'B4'),
    fail: couple((f) => ((f.wife.isOnlyChild = true), f.children.push(child('2007-01-01'))), 'B4') },
  { rule: 'B-R3', type: 'rebirth-permit', at: B_DAY, why: 'the grade is grade-7, below grade-6',
    pass: couple((f) => (rural(f), (f.husband.disabledSoldierGrade = 'grade-6')), 'B-R3'),
    fail: couple((f) => (rural(f), (f.husband.disabledSoldierGrade = 'grade-7')), 'B-R3') },
  // Old cards convert to the 2004 levels (schemas/codes/disabled-soldier-grades.json): 2-B is level 5–6, 3-A 7–8.
  { rule: 'B-R3', type: 'rebirth-permit', at: B_DAY, why: 'an old card of grade 3-A (levels 7–8) is below level 6',
    pass: couple((f) => (rural(f), (f.wife.disabledSoldierGrade = '2B')), 'B-R3'),
    fail: couple((f) => (rural(f), (f.wife.disabledSoldierGrade = '3A')), 'B-R3') },
  { rule: 'A-R3', type: 'rebirth-permit', at: A_DAY, why: 'a 2004 card of level 7 is below 2-B (levels 5–6)',
    pass: couple((f) => (rural(f), (f.wife.disabledSoldierGrade = 'grade-6')), 'A-R3'),
    fail: couple((f) => (rural(f), (f.wife.disabledSoldierGrade = 'grade-7')), 'A-R3') },
  { rule: 'B-R3', type: 'rebirth-permit', at: B_DAY, why: 'the martyr\'s only child lives in town',
    pass: couple((f) => (rural(f), (f.wife.isMartyrsOnlyChild = true)), 'B-R3'),
    fail: couple((f) => (rural(f), (f.wife.isMartyrsOnlyChild = true), (f.wife.residentType = 'urban')), 'B-R3') },
  { rule: 'B-R5', type: 'rebirth-permit', at: B_DAY, why: 'one of the siblings is urban',
    pass: couple((f) => (rural(f), (f.husband.siblings = [sibling(), sibling()])), 'B-R5'),
    fail: couple((f) => (rural(f), (f.husband.siblings = [sibling(), sibling({ rural: false })])), 'B-R5') },
  { rule: 'B-R5', type: 'rebirth-permit', at: B_DAY, why: 'the sibling is marked adopted',
    pass: couple((f) => (rural(f), (f.wife.siblings = [sibling()])), 'B-R5'),
    fail: couple((f) => (rural(f), (f.wife.siblings = [sibling({ adopted: true })])), 'B-R5') },
  { rule: 'B-R5', type: 'rebirth-permit', at: B_DAY, why: 'one sibling can bear children',
    pass: couple((f) => (rural(f), (f.wife.siblings = [sibling()])), 'B-R5'),
    fail: couple((f) => (rural(f), (f.wife.siblings = [sibling(), sibling({ canBearChildren: true })])), 'B-R5') },
  { rule: 'B-R6', type: 'rebirth-permit', at: B_DAY, why: 'the husband\'s child is appraised as able to grow into a normal labourer',
    pass: couple(remarriedWithTwo({ disability: appraisal(true) }, { disability: appraisal(true) }), 'B-R6'),
    fail: couple(remarriedWithTwo({ disability: appraisal(true) }, { disability: notDisabled }), 'B-R6') },
  { rule: 'B-R6', type: 'rebirth-permit', at: B_DAY, why: 'it is a reconciliation, not a remarriage',
    pass: couple(remarriedWithTwo({ disability: appraisal(true) }, { disability: appraisal(true) }), 'B-R6'),
    fail: couple((f) => (remarriedWithTwo({ disability: appraisal(true) }, { disability: appraisal(true) })(f), (f.marriage.kind = 'reconciliation')), 'B-R6') },
  { rule: 'B-R6', type: 'rebirth-permit', at: B_DAY, why: 'the wife lives in town',
    pass: couple(remarriedWithTwo({ disability: appraisal(true) }, { disability: appraisal(true) }), 'B-R6'),
    fail: couple((f) => (remarriedWithTwo({ disability: appraisal(true) }, { disability: appraisal(true) })(f), (f.wife.residentType = 'urban')), 'B-R6') },
  { rule: 'B-R6', type: 'rebirth-permit', at: B_DAY, why: 'they already have a joint child',
    pass: couple(remarriedWithTwo({ disability: appraisal(true) }, { disability: appraisal(true) }), 'B-R6'),
    fail: couple((f) => (remarriedWithTwo({ disability: appraisal(true) }, { disability: appraisal(true) })(f), f.children.push(child('2013-01-01'))), 'B-R6') },
  // Regime B, the grounds kept from A.
  { rule: 'B1', type: 'rebirth-permit', at: B_DAY, why: 'the appraisal says fit to reproduce: no',
    pass: couple((f) => (f.children = [child('2005-01-01', { disability: appraisal(true) })]), 'B1'),
    fail: couple((f) => (f.children = [child('2005-01-01', { disability: appraisal(false) })]), 'B1') },
  { rule: 'B2', type: 'rebirth-permit', at: B_DAY, why: 'they also have a child of their own',
    pass: couple((f) => (f.children = [child('2005-01-01', { origin: 'adopted' })]), 'B2'),
    fail: couple((f) => (f.children = [child('2005-01-01', { origin: 'adopted' }), child('2006-01-01')]), 'B2') },
  { rule: 'B3', type: 'rebirth-permit', at: B_DAY, why: 'both spouses brought a child',
    pass: couple((f) => ((f.marriage.kind = 'remarriage'), (f.children = [child('2005-01-01', { origin: 'wife_prior' })])), 'B3'),
    fail: couple((f) => ((f.marriage.kind = 'remarriage'), (f.children = [child('2005-01-01', { origin: 'wife_prior' }), child('2003-01-01', { origin: 'husband_prior' })])), 'B3') },
  { rule: 'B5', type: 'rebirth-permit', at: B_DAY, why: 'the child is not settled in the mainland',
    pass: couple((f) => ((f.husband.returnedOverseas = true), (f.wife.returnedOverseas = true), (f.children[0].settledInMainland = true)), 'B5'),
    fail: couple((f) => ((f.husband.returnedOverseas = true), (f.wife.returnedOverseas = true), (f.children[0].settledInMainland = false)), 'B5') },
  { rule: 'B-R1', type: 'rebirth-permit', at: B_DAY, why: 'the child is a boy',
    pass: couple((f) => (rural(f), (f.children[0].sex = 'female')), 'B-R1'),
    fail: couple(rural, 'B-R1') },
  { rule: 'B-R2', type: 'rebirth-permit', at: B_DAY, why: 'the husband is urban',
    pass: couple((f) => (rural(f), (f.wife.isTwoGenerationOnlyChild = true)), 'B-R2'),
    fail: couple((f) => (rural(f), (f.wife.isTwoGenerationOnlyChild = true), (f.husband.residentType = 'urban')), 'B-R2') },
  { rule: 'B-R4', type: 'rebirth-permit', at: B_DAY, why: 'the husband did not marry into the family',
    pass: couple((f) => (rural(f), (f.marriage.uxorilocal = true)), 'B-R4'),
    fail: couple((f) => (rural(f), (f.marriage.uxorilocal = false)), 'B-R4') },
  { rule: 'B-E1', type: 'rebirth-permit', at: B_DAY, why: 'they do not live in an ethnic township',
    pass: couple((f) => ((f.residence.divisionCode = '430725200204'), (f.husband.ethnicity = '15'), (f.wife.ethnicity = '06'), (f.husband.residentType = 'rural')), 'B-E1'),
    fail: couple((f) => ((f.residence.divisionCode = '430725101202'), (f.husband.ethnicity = '15'), (f.wife.ethnicity = '06'), (f.husband.residentType = 'rural')), 'B-E1') },
  { rule: 'B-MARRIED', type: 'rebirth-permit', at: B_DAY, why: 'the marriage is registered after the application date',
    pass: couple((f) => (f.husband.isOnlyChild = true), 'B4'),
    fail: couple((f) => ((f.husband.isOnlyChild = true), (f.marriage.date = '2015-03-02')), 'B4') },
  { rule: 'B-SPACING', type: 'rebirth-permit', at: B_DAY, why: 'the mother is 24, not 25',
    pass: couple((f) => ((f.husband.isOnlyChild = true), (f.wife.idNumber = id('female', '1990-01-01')), (f.marriage.date = '2010-06-01'), (f.children = [child('2010-01-01')])), 'B4'),
    fail: couple((f) => ((f.husband.isOnlyChild = true), (f.wife.idNumber = id('female', '1990-06-01')), (f.marriage.date = '2010-06-01'), (f.children = [child('2010-01-01')])), 'B4') },
  // Regime B, the other types.
  { rule: 'B-BS1', type: 'birth-service', at: B_DAY, why: 'they already have one child',
    pass: couple((f) => (f.children = [])), fail: couple() },
  { rule: 'B-OH1', type: 'only-child-honour', at: B_DAY, why: 'two joint children instead of one',
    pass: couple((f) => (f.pledge = true)), fail: couple((f) => ((f.pledge = true), f.children.push(child('2007-01-01')))) },
  { rule: 'B-OH2', type: 'only-child-honour', at: B_DAY, why: 'they adopted two children',
    pass: couple((f) => ((f.pledge = true), (f.children = [child('2005-01-01', { origin: 'adopted' })]))),
    fail: couple((f) => ((f.pledge = true), (f.children = [child('2005-01-01', { origin: 'adopted' }), child('2007-01-01', { origin: 'adopted' })]))) },
  { rule: 'B-OH3', type: 'only-child-honour', at: B_DAY, why: 'each spouse brought a child: two between them',
    pass: couple((f) => ((f.pledge = true), (f.marriage.kind = 'remarriage'), (f.children = [child('2002-01-01', { origin: 'wife_prior' })]))),
    fail: couple((f) => ((f.pledge = true), (f.marriage.kind = 'remarriage'), (f.children = [child('2002-01-01', { origin: 'wife_prior' }), child('2003-01-01', { origin: 'husband_prior' })]))) },
  { rule: 'B-MM1', type: 'migrant-marriage', at: B_DAY, why: 'she leaves for 29 days, not 30',
    pass: migrant('female', '1980-01-01', 30), fail: migrant('female', '1980-01-01', 29) },
  // Regime D (from 2021-05-31).
  { rule: 'D-BS1', type: 'birth-service', at: D_DAY, why: 'three children instead of two',
    pass: couple((f) => f.children.push(child('2012-01-01'))),
    fail: couple((f) => f.children.push(child('2012-01-01'), child('2015-01-01'))) },
  { rule: 'D1', type: 'rebirth-permit', at: D_DAY, why: 'the appraisal says fit to reproduce: no',
    pass: couple((f) => f.children.push(child('2012-01-01'), child('2015-01-01', { disability: appraisal(true) })), 'D1'),
    fail: couple((f) => f.children.push(child('2012-01-01'), child('2015-01-01', { disability: appraisal(false) })), 'D1') },
  { rule: 'D1', type: 'rebirth-permit', at: D_DAY, why: 'one of the three is the wife\'s child from before the remarriage, which D does not count',
    pass: couple((f) => f.children.push(child('2012-01-01'), child('2015-01-01', { disability: appraisal(true) })), 'D1'),
    fail: couple((f) => ((f.marriage.kind = 'remarriage'), (f.children[0].origin = 'wife_prior'), f.children.push(child('2012-01-01'), child('2015-01-01', { disability: appraisal(true) }))), 'D1') },
  { rule: 'D-MARRIED', type: 'birth-service', at: D_DAY, why: 'the marriage is registered after the application date',
    pass: couple(), fail: couple((f) => (f.marriage.date = '2024-03-02')) },
  { rule: 'D-OH1', type: 'only-child-honour', at: D_DAY, why: 'the child was born on 2016-01-01',
    pass: couple((f) => ((f.pledge = true), (f.children = [child('2015-12-31')]))),
    fail: couple((f) => ((f.pledge = true), (f.children = [child('2016-01-01')]))) },
  { rule: 'D-MM1', type: 'migrant-marriage', at: D_DAY, why: 'she is 50, not 49',
    pass: migrant('female', '1974-03-02', 60), fail: migrant('female', '1974-03-01', 60) },
];

function migrant(sex: 'male' | 'female', birth: string, days: number): Form {
  return {
    residence: { divisionCode: '430725101202' },
    applicant: { name: '王芳', idNumber: id(sex, birth), residentType: 'rural' },
    maritalStatus: 'unmarried',
    destination: { address: '广东省东莞市' },
    plannedAbsenceDays: days,
  };
}

describe('eligibility rules of regimes A, B and D (table-driven)', () => {
  for (const c of cases) {
    it(`${c.rule} (${c.type}): when the facts fit, then it is met; when ${c.why}, then it is not`, () => {
      const pass = judge(c.type, c.pass, c.at);
      assert.deepEqual(pass.errors, []);
      assert.equal(entry(pass, c.rule).met, true, `${c.rule} met`);
      assert.equal(pass.eligible, true, JSON.stringify(pass.grounds.filter((g) => !g.met).map((g) => g.id)));
      const fail = judge(c.type, c.fail, c.at);
      assert.deepEqual(fail.errors, []);
      assert.equal(entry(fail, c.rule).met, false, `${c.rule} not met`);
      assert.equal(fail.eligible, false);
      assert.ok(entry(fail, c.rule).message.length > 0 && entry(fail, c.rule).citation.length > 0);
    });
  }

  it('covers every ground and requirement of regimes A, B and D', () => {
    const tested = new Set(cases.map((c) => c.rule));
    for (const version of ['A-2002.1', 'B-2014.1', 'D-2021.1']) {
      const ruleSet = policy.ruleSets.find((r) => r.version === version);
      assert.ok(ruleSet, `rule set ${version} is loaded`);
      for (const rules of Object.values(ruleSet.types)) {
        for (const r of [...rules.requirements, ...rules.grounds]) assert.ok(tested.has(r.id), `${r.id} has a table case`);
      }
    }
  });
});

describe('evaluating an application', () => {
  it('when the same couple applies in 2010 and in 2024, then regime A refuses a second child and regime D registers it', () => {
    const form = couple();
    const a = judge('birth-service', form, A_DAY);
    assert.equal(a.regime.id, 'A');
    assert.equal(a.regime.version, 'A-2002.1');
    assert.equal(a.eligible, false);
    const d = judge('birth-service', form, D_DAY);
    assert.equal(d.regime.id, 'D');
    assert.equal(d.eligible, true);
    assert.equal(d.ground, 'D-BS1');
  });

  it('when only the husband is an only child, then by date alone regime A (2013) refuses a second child and regime B (2015) allows it', () => {
    // The same facts; the claimed ground is named in each regime's own terms (A4 and B4).
    const facts = (f: Form) => ((f.husband.isOnlyChild = true), (f.wife.isOnlyChild = false));
    const a = judge('rebirth-permit', couple(facts, 'A4'), new Date('2013-06-01T10:00:00+08:00'));
    assert.deepEqual(a.errors, []);
    assert.equal(a.regime.version, 'A-2002.1');
    assert.equal(entry(a, 'A4').met, false);
    assert.deepEqual(a.grounds.filter((g) => g.kind === 'ground' && g.met), [], 'no ground of A fits');
    assert.equal(a.eligible, false);
    const b = judge('rebirth-permit', couple(facts, 'B4'), B_DAY);
    assert.deepEqual(b.errors, []);
    assert.equal(b.regime.version, 'B-2014.1');
    assert.equal(entry(b, 'B4').met, true);
    assert.equal(b.eligible, true);
    assert.equal(b.ground, 'B4');
    assert.ok(entry(b, 'B4').citation.includes('2014年1月23日修正'));
  });

  it('when the day is 2014-01-22, 2014-01-23, 2015-12-31 or 2016-01-01 in Beijing, then regimes A, B, B and C apply: no gap, no overlap', () => {
    const at = (day: string) => new Date(`${day}T00:30:00+08:00`);
    for (const type of ['birth-service', 'rebirth-permit', 'only-child-honour', 'migrant-marriage']) {
      const form = type === 'migrant-marriage' ? migrant('female', '1980-01-01', 30) : couple();
      const regimes = ['2014-01-22', '2014-01-23', '2015-12-31', '2016-01-01'].map((day) => judge(type, form, at(day)).regime);
      assert.deepEqual(regimes.map((r) => r.id), ['A', 'B', 'B', 'C'], type);
      assert.deepEqual([regimes[1]!.effectiveFrom, regimes[1]!.effectiveTo], ['2014-01-23', '2015-12-31']);
    }
  });

  it('when the application is made late on 2021-05-30 UTC but on 2021-05-31 in Beijing, then regime D applies', () => {
    assert.equal(judge('birth-service', couple(), new Date('2021-05-30T15:59:59Z')).regime.id, 'C');
    assert.equal(judge('birth-service', couple(), new Date('2021-05-30T16:00:00Z')).regime.id, 'D');
  });

  it('when an honour certificate is asked for under regime D, then the result says it is not issued for births from 2016', () => {
    const r = judge('only-child-honour', couple((f) => ((f.pledge = true), (f.children = [child('2018-01-01')]))), D_DAY, 'zh');
    assert.equal(r.eligible, false);
    assert.match(r.notice!.message, /2016年1月1日起，不再为新出生的子女办理/);
    assert.match(r.notice!.messages.en, /no longer issued for newly born children/);
    assert.equal(judge('only-child-honour', couple((f) => (f.pledge = true)), A_DAY).notice, undefined);
  });

  it('when a ground is claimed, then the documents are those of that ground; otherwise those of the first met ground', () => {
    const claimed = judge('rebirth-permit', couple((f) => (f.children = [child('2005-01-01', { disability: appraisal(true) })]), 'A1'), A_DAY);
    const kinds = claimed.requiredDocuments.map((d) => d.kind);
    assert.equal(claimed.ground, 'A1');
    assert.ok(kinds.includes('disabled-child-appraisal') && kinds.includes('marriage-certificate'));
    assert.ok(!kinds.includes('only-child-proof') && !kinds.includes('divorce-papers'));
    const remarried = judge('birth-service', couple((f) => ((f.marriage.kind = 'remarriage'), (f.children = [child('2005-01-01', { alive: false })]))), D_DAY);
    assert.equal(remarried.ground, 'D-BS1');
    assert.deepEqual(
      remarried.requiredDocuments.map((d) => d.kind).filter((k) => k === 'divorce-papers' || k === 'death-certificate'),
      ['divorce-papers', 'death-certificate'],
    );
  });

  it('when the claimed ground is not met but another is, then the couple is not eligible on the claim', () => {
    const r = judge('rebirth-permit', couple((f) => ((f.husband.isOnlyChild = true), (f.wife.isOnlyChild = true)), 'A5'), A_DAY);
    assert.equal(entry(r, 'A4').met, true);
    assert.equal(r.eligible, false);
    assert.equal(r.ground, 'A5');
  });

  it('when the claimed ground belongs to another regime, then the form error names the ground field and the choices', () => {
    const r = judge('rebirth-permit', couple(() => {}, 'A4'), D_DAY);
    assert.deepEqual(r.errors.map((e) => [e.path, e.code]), [['ground', 'enum']]);
    assert.match(r.errors[0]!.message, /D1/);
  });

  it('when entered sex or birth date disagree with the ID number, or the spouses are swapped, then each is a named form error', () => {
    const r = judge('birth-service', couple((f) => ((f.husband.sex = 'female'), (f.wife.birthDate = '1984-01-02'))), D_DAY, 'zh');
    assert.deepEqual(r.errors.map((e) => e.path).sort(), ['husband.sex', 'wife.birthDate']);
    assert.equal(r.errors.find((e) => e.path === 'husband.sex')!.message, '性别与身份证号码不一致');
    const swapped = judge('birth-service', couple((f) => ([f.husband.idNumber, f.wife.idNumber] = [f.wife.idNumber, f.husband.idNumber])), D_DAY);
    assert.deepEqual(swapped.errors.map((e) => e.path).sort(), ['husband.idNumber', 'wife.idNumber']);
  });

  it('when a child is born after the application date, or its ID number disagrees, then the form error names the child', () => {
    const r = judge('birth-service', couple((f) => (f.children = [child('2011-01-01', { idNumber: id('female', '2005-01-01') })])), A_DAY);
    assert.deepEqual(r.errors.map((e) => e.path).sort(), ['children.0.birthDate', 'children.0.birthDate', 'children.0.sex']);
  });

  it('when the form has unknown fields or operator objects, then the errors name them and nothing is judged', () => {
    const r = judge('birth-service', couple((f) => ((f.status = 'approved'), (f.husband.idNumber = { $ne: null }))), D_DAY);
    assert.equal(r.eligible, false);
    assert.deepEqual(r.grounds, []);
    assert.deepEqual(r.errors.map((e) => e.path).sort(), ['husband.idNumber', 'status']);
  });

  it('when the type is unknown, then it is a 404 AppError', () => {
    assert.throws(() => judge('marriage-licence', couple(), D_DAY), (e: { status?: number }) => e.status === 404);
  });

  it('when the date lies before every regime, then it is a 422 saying no rules are in force', () => {
    assert.throws(() => judge('birth-service', couple(), new Date('1999-01-01T00:00:00Z')), (e: { status?: number; message: string }) => e.status === 422 && /No eligibility rules/.test(e.message));
  });
});

describe('policy as data', () => {
  it('when an extra rule-set file is loaded, then it governs the dates in its range and the open-ended regime ends before it', () => {
    const extended = loadPolicy(SCHEMAS, [FIXTURE_RULES]);
    const four = couple((f) => f.children.push(child('2012-01-01'), child('2015-01-01')));
    const before = evaluateApplication(extended, 'birth-service', four, new Date('2029-12-31T12:00:00+08:00'), 'en');
    assert.equal(before.regime.version, 'D-2021.1');
    assert.equal(before.regime.effectiveTo, '2029-12-31');
    assert.equal(before.eligible, false);
    const after = evaluateApplication(extended, 'birth-service', four, new Date('2030-01-02T12:00:00+08:00'), 'en');
    assert.equal(after.regime.version, 'X-test.1');
    assert.equal(after.eligible, true);
    assert.equal(after.ground, 'X-BS1');
    assert.equal(evaluateApplication(extended, 'rebirth-permit', couple(() => {}, 'D1'), new Date('2030-01-02T12:00:00+08:00'), 'en').regime.version, 'D-2021.1');
    assert.equal(evaluateApplication(policy, 'birth-service', four, new Date('2030-01-02T12:00:00+08:00'), 'en').regime.version, 'D-2021.1');
  });

  function brokenCopy(edit: (dir: string) => void): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fpc-schemas-'));
    fs.cpSync(SCHEMAS, dir, { recursive: true });
    edit(dir);
    return dir;
  }
  const editJson = (file: string, change: (data: any) => void) => {
    const data = JSON.parse(fs.readFileSync(file, 'utf8'));
    change(data);
    fs.writeFileSync(file, JSON.stringify(data));
  };
  const brokenCases: [string, (dir: string) => void, RegExp][] = [
    ['a catalogue fee is not a number', (d) => editJson(path.join(d, 'catalogue/rebirth-permit.json'), (x) => (x.fee = 'free')), /catalogue\/rebirth-permit\.json: \/fee must be number/],
    ['a catalogue type is missing', (d) => fs.rmSync(path.join(d, 'catalogue/migrant-marriage.json')), /no entry for type migrant-marriage/],
    ['a file is not JSON', (d) => fs.writeFileSync(path.join(d, 'rules/D-three-child-2021.json'), '{ "regime": '), /rules\/D-three-child-2021\.json: .*JSON/],
    ['a ground lists a document the catalogue lacks', (d) => editJson(path.join(d, 'rules/D-three-child-2021.json'), (x) => x.types['rebirth-permit'].grounds[0].documents.push('horoscope')), /D1: document horoscope is not in the rebirth-permit catalogue/],
    ['a ground condition is not a valid schema', (d) => editJson(path.join(d, 'rules/A-hunan-2002.json'), (x) => (x.types['birth-service'].grounds[0].when = { type: 'object', minimum: 'x' })), /A-BS1/],
    ['two regimes overlap', (d) => editJson(path.join(d, 'rules/C-two-child-2016.json'), (x) => (x.effectiveTo = '2021-06-30')), /regimes C-2016\.1 .* and D-2021\.1 .* overlap/],
  ];
  for (const [why, edit, expected] of brokenCases) {
    it(`when ${why}, then loading stops with a clear error`, () => {
      const dir = brokenCopy(edit);
      assert.throws(() => loadPolicy(dir), (e: Error) => e instanceof PolicyError && expected.test(e.message));
      fs.rmSync(dir, { recursive: true });
    });
  }
});
