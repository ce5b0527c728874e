import assert from 'node:assert/strict';
import { csvCell, csvLine, toCsv } from '../service/lib/csv';

/** One CSV writer for the register, the statistics and the dashboard: quoting, and no formula ever runs. */
describe('CSV cells', () => {
  it('when text begins like a formula, then a leading apostrophe keeps a spreadsheet from running it; numbers stay numbers', () => {
    for (const text of ['=HYPERLINK("http://x")', '+1', '-2+3', '@SUM(A1)', '\tx', '\rx']) assert.equal(csvCell(text).replace(/^"|"$/g, '').startsWith("'"), true, text);
    assert.equal(csvCell('=1+1'), "'=1+1");
    assert.equal(csvCell(-3), '-3');
    assert.equal(csvCell(0.5), '0.5');
  });

  it('when a cell holds a comma, a quote or a line break, then it is quoted with quotes doubled; empty values are empty', () => {
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('说"明"'), '"说""明"""');
    assert.equal(csvCell('x\ny'), '"x\ny"');
    assert.equal(csvCell(null), '');
    assert.equal(csvCell(undefined), '');
    assert.equal(csvCell(new Date('2026-12-02T01:00:00Z')), '2026-12-02T01:00:00.000Z');
    assert.equal(csvLine(['a', 1, null]), 'a,1,\r\n');
    assert.equal(toCsv([['h'], ['=x']]), "h\r\n'=x\r\n");
  });
});
