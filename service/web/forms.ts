import type { Bilingual } from '../lib/i18n';

/**
 * How the four application forms are asked, page by page. This is presentation only: which
 * questions go on which page and how they are labelled. What an answer must be is decided by the
 * form schemas and the eligibility rules (`evaluateApplication`), exactly as for the JSON API.
 */
export interface FieldSpec {
  /** Path inside the form, e.g. `husband.name`. */
  name: string;
  label: Bilingual;
  hint?: Bilingual;
  kind: 'text' | 'date' | 'number' | 'select' | 'radio' | 'checkbox' | 'yesno' | 'village';
  options?: { value: string; label: Bilingual }[];
  autocomplete?: string;
  inputmode?: string;
  short?: boolean;
}

export interface SectionSpec {
  /** The form property this page fills in. */
  root: string;
  title: Bilingual;
  /** `fields`: one page of questions; `children`: a list to add to; `ground`: one ground of the rules in force. */
  kind: 'fields' | 'children' | 'ground';
  fields: FieldSpec[];
  /** Fields whose form property differs from `root` (migrant certificate: status and spouse on one page). */
  alsoRoots?: string[];
  optional?: boolean;
}

const residentType: FieldSpec['options'] = [
  { value: 'rural', label: { zh: '农村居民', en: 'Rural resident' } },
  { value: 'urban', label: { zh: '城镇居民', en: 'Urban resident' } },
];

function person(root: string, who: Bilingual): FieldSpec[] {
  return [
    { name: `${root}.name`, label: { zh: `${who.zh}姓名`, en: `${who.en}: full name` }, kind: 'text', autocomplete: 'off' },
    {
      name: `${root}.idNumber`,
      label: { zh: `${who.zh}居民身份证号码`, en: `${who.en}: resident ID number` },
      hint: { zh: '18 位，最后一位可能是 X', en: '18 characters; the last may be X' },
      kind: 'text',
      autocomplete: 'off',
    },
    { name: `${root}.residentType`, label: { zh: `${who.zh}户籍类型`, en: `${who.en}: household registration` }, kind: 'radio', options: residentType },
    { name: `${root}.ethnicity`, label: { zh: `${who.zh}民族（选填）`, en: `${who.en}: ethnic group (optional)` }, hint: { zh: '例如：汉族、土家族', en: 'For example: Han, Tujia' }, kind: 'text', short: true },
    { name: `${root}.isOnlyChild`, label: { zh: '是独生子女', en: 'Is an only child' }, kind: 'checkbox' },
    { name: `${root}.isTwoGenerationOnlyChild`, label: { zh: '是两代独生子女（父母一方也是独生子女）', en: 'Is a second-generation only child' }, kind: 'checkbox' },
    { name: `${root}.isMartyrsOnlyChild`, label: { zh: '是烈士的独生子女', en: "Is a martyr's only child" }, kind: 'checkbox' },
    { name: `${root}.returnedOverseas`, label: { zh: '是归国华侨或定居内地的港澳台居民', en: 'Is a returned overseas Chinese or a Hong Kong, Macau or Taiwan resident settled in the mainland' }, kind: 'checkbox' },
  ];
}

const residence: SectionSpec = {
  root: 'residence',
  title: { zh: '居住地', en: 'Where you live' },
  kind: 'fields',
  fields: [
    {
      name: 'residence.divisionCode',
      label: { zh: '所在村（社区）', en: 'Village or community' },
      kind: 'village',
    },
    { name: 'residence.address', label: { zh: '详细地址（选填）', en: 'Address (optional)' }, kind: 'text' },
  ],
};

const marriageFields: FieldSpec[] = [
  { name: 'marriage.date', label: { zh: '结婚登记日期', en: 'Date the marriage was registered' }, kind: 'date' },
  {
    name: 'marriage.kind',
    label: { zh: '婚姻情况', en: 'Kind of marriage' },
    kind: 'radio',
    options: [
      { value: 'first', label: { zh: '初婚', en: 'First marriage' } },
      { value: 'remarriage', label: { zh: '再婚', en: 'Remarriage' } },
      { value: 'reconciliation', label: { zh: '复婚（与原配偶再次结婚）', en: 'Reconciliation (remarrying the same person)' } },
    ],
  },
];

const marriage: SectionSpec = {
  root: 'marriage',
  title: { zh: '婚姻', en: 'Marriage' },
  kind: 'fields',
  fields: [...marriageFields, { name: 'marriage.uxorilocal', label: { zh: '男方入赘到独女户', en: 'The husband married into an only-daughter family' }, kind: 'checkbox' }],
};

/** The questions about one child (the children page adds them one at a time). */
export const CHILD_FIELDS: FieldSpec[] = [
  { name: 'name', label: { zh: '子女姓名（选填）', en: "Child's name (optional)" }, kind: 'text' },
  { name: 'sex', label: { zh: '性别', en: 'Sex' }, kind: 'radio', options: [{ value: 'male', label: { zh: '男', en: 'Male' } }, { value: 'female', label: { zh: '女', en: 'Female' } }] },
  { name: 'birthDate', label: { zh: '出生日期', en: 'Date of birth' }, kind: 'date' },
  { name: 'alive', label: { zh: '子女是否健在', en: 'Is the child alive?' }, kind: 'yesno' },
  {
    name: 'origin',
    label: { zh: '与本次婚姻的关系', en: 'Whose child' },
    kind: 'select',
    options: [
      { value: 'joint', label: { zh: '夫妻共同生育', en: 'A child of this couple' } },
      { value: 'wife_prior', label: { zh: '女方婚前所生（带入本次婚姻）', en: "The wife's child from before this marriage" } },
      { value: 'husband_prior', label: { zh: '男方婚前所生（带入本次婚姻）', en: "The husband's child from before this marriage" } },
      { value: 'adopted', label: { zh: '依法收养', en: 'Lawfully adopted' } },
      { value: 'step', label: { zh: '继子女', en: 'Stepchild' } },
      { value: 'with_third_party', label: { zh: '一方与他人所生（婚内）', en: 'Born to one spouse with someone else during this marriage' } },
    ],
  },
  { name: 'disability.appraised', label: { zh: '经病残儿医学鉴定', en: 'Appraised by a disabled-child medical appraisal' }, kind: 'checkbox' },
  {
    name: 'disability.appraisalBody',
    label: { zh: '鉴定机构级别（如经鉴定）', en: 'Appraisal body (if appraised)' },
    kind: 'select',
    options: [
      { value: 'county', label: { zh: '县级', en: 'County' } },
      { value: 'city', label: { zh: '市级', en: 'City' } },
      { value: 'province', label: { zh: '省级', en: 'Province' } },
    ],
  },
  { name: 'disability.cannotBecomeNormalLabourer', label: { zh: '鉴定结论：不能成长为正常劳动力', en: 'Finding: cannot grow into a normal labourer' }, kind: 'checkbox' },
  { name: 'disability.fitForAnotherBirth', label: { zh: '鉴定结论：医学上可以再生育', en: 'Finding: medically fit for another birth' }, kind: 'checkbox' },
  { name: 'disability.certificateNumber', label: { zh: '鉴定书编号（如经鉴定）', en: 'Appraisal certificate number (if appraised)' }, kind: 'text', short: true },
];

const children: SectionSpec = { root: 'children', title: { zh: '子女情况', en: 'Children' }, kind: 'children', fields: CHILD_FIELDS, optional: true };

const husband: SectionSpec = { root: 'husband', title: { zh: '男方信息', en: 'Husband' }, kind: 'fields', fields: person('husband', { zh: '男方', en: 'Husband' }) };
const wife: SectionSpec = { root: 'wife', title: { zh: '女方信息', en: 'Wife' }, kind: 'fields', fields: person('wife', { zh: '女方', en: 'Wife' }) };

export const SECTIONS: Record<string, SectionSpec[]> = {
  'birth-service': [residence, husband, wife, marriage, children],
  'rebirth-permit': [residence, husband, wife, marriage, children, { root: 'ground', title: { zh: '申请理由', en: 'Ground for the request' }, kind: 'ground', fields: [] }],
  'only-child-honour': [
    residence,
    husband,
    wife,
    marriage,
    children,
    {
      root: 'pledge',
      title: { zh: '承诺', en: 'Pledge' },
      kind: 'fields',
      fields: [{ name: 'pledge', label: { zh: '夫妻双方承诺不再生育', en: 'We both pledge to have no more children' }, kind: 'checkbox' }],
    },
  ],
  'migrant-marriage': [
    residence,
    { root: 'applicant', title: { zh: '申请人信息', en: 'About you' }, kind: 'fields', fields: person('applicant', { zh: '申请人', en: 'Applicant' }) },
    {
      root: 'maritalStatus',
      alsoRoots: ['spouse', 'marriage'],
      title: { zh: '婚姻状况', en: 'Marital status' },
      kind: 'fields',
      fields: [
        {
          name: 'maritalStatus',
          label: { zh: '婚姻状况', en: 'Marital status' },
          kind: 'radio',
          options: [
            { value: 'unmarried', label: { zh: '未婚', en: 'Unmarried' } },
            { value: 'married', label: { zh: '已婚', en: 'Married' } },
            { value: 'divorced', label: { zh: '离婚', en: 'Divorced' } },
            { value: 'widowed', label: { zh: '丧偶', en: 'Widowed' } },
          ],
        },
        { name: 'spouse.name', label: { zh: '配偶姓名（已婚填写）', en: "Spouse's name (if married)" }, kind: 'text' },
        { name: 'spouse.idNumber', label: { zh: '配偶身份证号码（已婚填写）', en: "Spouse's ID number (if married)" }, kind: 'text' },
        ...marriageFields.map((f) => ({ ...f, label: { zh: `${f.label.zh}（已婚填写）`, en: `${f.label.en} (if married)` } })),
      ],
    },
    {
      root: 'destination',
      alsoRoots: ['plannedAbsenceDays'],
      title: { zh: '外出去向', en: 'Where you are going' },
      kind: 'fields',
      fields: [
        { name: 'destination.address', label: { zh: '前往地址', en: 'Address you are going to' }, kind: 'text' },
        { name: 'plannedAbsenceDays', label: { zh: '预计外出天数', en: 'Days you plan to be away' }, kind: 'number', inputmode: 'numeric', short: true },
      ],
    },
    children,
  ],
};

/** The form properties a page fills in, and whether a form path is one of them. */
export const rootsOf = (s: SectionSpec): string[] => [s.root, ...(s.alsoRoots ?? [])];
export const inSection = (s: SectionSpec, path: string): boolean => rootsOf(s).some((r) => path === r || path.startsWith(`${r}.`));

/** Reads a value at a dotted path. */
export function getPath(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = obj;
  for (const key of keys.slice(0, -1)) {
    if (typeof cur[key] !== 'object' || cur[key] === null) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  }
  cur[keys.at(-1)!] = value;
}

/** Objects left with nothing in them are dropped: a page of optional questions left blank adds nothing. */
function prune(value: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(value)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      prune(v as Record<string, unknown>);
      if (Object.keys(v).length === 0) delete value[k];
    }
  }
  return value;
}

/**
 * Turns posted fields into form values, typed as the form schema expects them: blank is absent,
 * checkboxes are true when ticked, yes/no radios are booleans, whole numbers are numbers. Anything
 * else stays a string for the schema to judge.
 */
export function readFields(fields: FieldSpec[], body: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const raw = body[prefix + f.name];
    const text = typeof raw === 'string' ? raw.trim() : '';
    if (text === '') continue;
    let value: unknown = text;
    if (f.kind === 'checkbox') value = true;
    else if (f.kind === 'yesno') value = text === 'true' ? true : text === 'false' ? false : text;
    else if (f.kind === 'number') value = /^\d{1,9}$/.test(text) ? Number(text) : text;
    else if (f.name.endsWith('idNumber')) value = text.toUpperCase();
    setPath(out, f.name, value);
  }
  return prune(out);
}

/** The text a field shows: the saved value, as the person typed it. */
export function fieldValue(values: unknown, name: string): string {
  const v = getPath(values, name);
  if (v === undefined || v === null) return '';
  return String(v);
}
