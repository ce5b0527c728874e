import assert from 'node:assert/strict';
import { checkCharacter, parseIdNumber } from '../service/lib/idnumber';
import { ajv } from '../service/lib/validation';

const TODAY = '2026-01-15';

describe('resident ID numbers (GB 11643-1999)', () => {
  const valid: [string, string, 'male' | 'female', string][] = [
    ['11010519491231002X', '1949-12-31', 'female', 'the standard example with check character X'],
    [`44052419000101001${checkCharacter('44052419000101001')}`, '1900-01-01', 'male', 'the earliest birth date, in a county code since abolished (潮阳县)'],
    [`81000019900101001${checkCharacter('81000019900101001')}`, '1990-01-01', 'male', "a Hong Kong resident's residence permit"],
    ['430725198001010019', '1980-01-01', 'male', 'a Taoyuan man'],
    ['43070219900307004X', '1990-03-07', 'female', 'a check character X'],
    ['43070219900307004x', '1990-03-07', 'female', 'a lower-case x, normalised'],
    [`43072520000229002${checkCharacter('43072520000229002')}`, '2000-02-29', 'female', 'Feb 29 in 2000, a leap year'],
  ];
  for (const [input, birthDate, sex, why] of valid) {
    it(`when the number is ${input} (${why}), then it parses with its birth date and sex`, () => {
      const parsed = parseIdNumber(input, TODAY);
      assert.ok(parsed.ok, why);
      assert.equal(parsed.value.birthDate, birthDate);
      assert.equal(parsed.value.sex, sex);
      assert.equal(parsed.value.normalized, input.toUpperCase());
    });
  }

  const invalid: [string, string, string][] = [
    ['430725198001010010', 'check', 'the wrong check digit from DOMAIN.md'],
    ['11010519491231002Y', 'format', 'a check character that is not a digit or X'],
    ['110105194912310021', 'check', 'a digit where X belongs'],
    [`43072519800230001${checkCharacter('43072519800230001')}`, 'date', 'Feb 30'],
    [`44052419000229001${checkCharacter('44052419000229001')}`, 'date', 'Feb 29 in 1900, not a leap year'],
    [`43072519801301001${checkCharacter('43072519801301001')}`, 'date', 'month 13'],
    [`43072520270101001${checkCharacter('43072520270101001')}`, 'future', 'a birth date after today'],
    ['4307251980010100', 'format', '16 characters'],
    ['440524188001010014', 'early', "the standard's example born in 1880: before 1900"],
    [`44052418991231001${checkCharacter('44052418991231001')}`, 'early', 'the last day of 1899'],
    [`99072519800101001${checkCharacter('99072519800101001')}`, 'address', 'province 99, which does not exist'],
    [`00000019800101001${checkCharacter('00000019800101001')}`, 'address', 'address code 000000'],
    ['43072519800101001９', 'format', 'a full-width digit'],
  ];
  for (const [input, problem, why] of invalid) {
    it(`when the number has ${why}, then it is refused as ${problem}`, () => {
      const parsed = parseIdNumber(input, TODAY);
      assert.equal(parsed.ok, false);
      assert.equal(!parsed.ok && parsed.problem, problem);
    });
  }

  it('when a legacy 15-digit number is given, then it is upgraded with "19" and a computed check character', () => {
    const parsed = parseIdNumber('430725800101001', TODAY);
    assert.ok(parsed.ok);
    assert.equal(parsed.value.normalized, '430725198001010019');
    assert.equal(parsed.value.birthDate, '1980-01-01');
    assert.equal(parsed.value.sex, 'male');
  });

  it('when a legacy 15-digit number holds an impossible date, then it is refused', () => {
    const parsed = parseIdNumber('430725800230001', TODAY);
    assert.equal(!parsed.ok && parsed.problem, 'date');
  });

  it('when a form field uses format cn-id-number, then ajv accepts valid numbers and refuses the rest', () => {
    const validate = ajv.compile({ type: 'string', format: 'cn-id-number' });
    assert.equal(validate('43070219900307004x'), true);
    assert.equal(validate('430725198001010010'), false);
    assert.equal(validate(`43072519800230001${checkCharacter('43072519800230001')}`), false);
  });
});
