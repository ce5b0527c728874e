/**
 * What a migrant-marriage certificate (流动人口婚育证明) shows besides the holder: marital status,
 * spouse, childbearing status and contraception status. The 2009 流动人口计划生育工作条例 lists these
 * items for the certificate (the article number is unverified; see docs/domain-notes.md). They come
 * from the sealed form and appear only on the holder's printed certificate, never in the QR token.
 */

const MARITAL = { unmarried: '未婚 unmarried', married: '已婚 married', divorced: '离婚 divorced', widowed: '丧偶 widowed' } as const;
const CONTRACEPTION: Record<string, string> = {
  none: '未采取措施 none',
  iud: '宫内节育器 IUD',
  'female-sterilization': '女性绝育 female sterilization',
  'male-sterilization': '男性绝育 male sterilization',
  implant: '皮下埋植 implant',
  hormonal: '口服或注射避孕药 hormonal',
  condom: '避孕套 condom',
  other: '其他 other',
};

export interface MigrantForm {
  maritalStatus?: keyof typeof MARITAL;
  spouse?: { name: string; idNumber: string };
  children?: { sex: 'male' | 'female'; birthDate: string; alive: boolean; origin: string }[];
  contraception?: { method: string; since?: string };
}

/** 生育状况: the children born (biological, living or not), as the certificate states them. */
export function childrenBorn(form: MigrantForm): string {
  const children = (form.children ?? []).filter((c) => c.origin !== 'adopted' && c.origin !== 'step');
  return children.length
    ? `${children.length} 个 (${children.map((c) => `${c.sex === 'male' ? '男' : '女'} ${c.birthDate.slice(0, 4)}${c.alive ? '' : ' 已故'}`).join('，')})`
    : '未生育 none';
}

/** 避孕节育情况, as declared on the form. */
export function contraceptionStatus(form: MigrantForm): string {
  const c = form.contraception;
  return c ? `${CONTRACEPTION[c.method] ?? c.method}${c.since ? `（自 ${c.since}）` : ''}` : '未填报 not stated';
}

/** Rows `[label, value]` for the printed certificate. */
export function migrantParticulars(form: MigrantForm): Array<[string, string]> {
  const spouse = form.spouse ? `${form.spouse.name} ${form.spouse.idNumber.slice(0, 6)}********${form.spouse.idNumber.slice(-4)}` : '无 none';
  return [
    ['婚姻状况 Marital status', form.maritalStatus ? MARITAL[form.maritalStatus] : ''],
    ['配偶 Spouse', spouse],
    ['生育状况 Children born', childrenBorn(form)],
    ['避孕节育情况 Contraception', contraceptionStatus(form)],
  ];
}
