/**
 * CSV as spreadsheets read it (RFC 4180, CRLF line ends). Text beginning with `=`, `+`, `-`, `@`, a
 * tab or a carriage return gets a leading `'`, so that a spreadsheet shows it instead of running it
 * as a formula (CSV injection: a reject reason or a name is typed by people); numbers stay numbers.
 */
export type CsvValue = string | number | Date | null | undefined;

export function csvCell(value: CsvValue): string {
  if (typeof value === 'number') return String(value);
  let s = value === null || value === undefined ? '' : value instanceof Date ? value.toISOString() : String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One line of cells, with its CRLF. */
export const csvLine = (cells: CsvValue[]): string => `${cells.map(csvCell).join(',')}\r\n`;

/** Lines of cells. */
export const toCsv = (rows: CsvValue[][]): string => rows.map(csvLine).join('');
