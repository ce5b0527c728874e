import fs from 'node:fs';
import path from 'node:path';
import type { SchemaObject, ValidateFunction } from 'ajv';
import { TYPE_CODES, type CertificateType, type TypeCode } from '../catalogue/catalogue';
import type { Bilingual } from '../lib/i18n';
import { ajv, compile } from '../lib/validation';

export type ChildOrigin = 'joint' | 'wife_prior' | 'husband_prior' | 'adopted' | 'step' | 'with_third_party';

/** Which children a regime counts against the couple's quota. */
export interface Counting {
  origins: ChildOrigin[];
  livingOnly: boolean;
  description: Bilingual;
}

/** A ground (or a requirement every ground needs), evaluated as a JSON Schema against the facts. */
export interface Rule {
  id: string;
  title: Bilingual;
  citation: string;
  effectiveFrom?: string;
  effectiveTo?: string;
  note?: string;
  messages: { met: Bilingual; unmet: Bilingual };
  documents: string[];
  test: ValidateFunction;
}

export interface TypeRules {
  notice?: Bilingual;
  requirements: Rule[];
  grounds: Rule[];
}

export interface RuleSet {
  regime: string;
  version: string;
  name: Bilingual;
  effectiveFrom: string;
  /** As written; null means "until a later regime for the same type begins". */
  effectiveTo: string | null;
  note?: string;
  counting: Counting;
  types: Partial<Record<TypeCode, TypeRules>>;
  file: string;
}

/** The regime in force for one type, with the range it governs that type. */
export interface RegimeInForce {
  ruleSet: RuleSet;
  rules: TypeRules;
  effectiveFrom: string;
  effectiveTo: string | null;
}

export interface Policy {
  types: CertificateType[];
  type(code: string): CertificateType | undefined;
  ruleSets: RuleSet[];
  /** `day` is YYYY-MM-DD (China time). */
  regimeFor(code: string, day: string): RegimeInForce | undefined;
  formValidator(code: string): ValidateFunction;
}

/** Bad catalogue or rule data: every problem is listed, and start-up stops. */
export class PolicyError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid policy data in schemas/:\n  - ${problems.join('\n  - ')}`);
    this.name = 'PolicyError';
  }
}

/** A rules file as written: the rule set's header, plus its shared conditions and raw rules. */
type RuleFile = Omit<RuleSet, 'types' | 'file'> & {
  $id: string;
  $defs?: Record<string, SchemaObject>;
  types: Partial<Record<TypeCode, { notice?: Bilingual; requirements?: RawRule[]; grounds: RawRule[] }>>;
};
type RawRule = Omit<Rule, 'test' | 'documents'> & { when: SchemaObject; documents?: string[] };

function jsonFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => path.join(dir, f));
}

function describeAjvErrors(validate: ValidateFunction): string {
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'}`).join('; ');
}

export const dayBefore = (day: string): string => new Date(Date.parse(`${day}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);

/**
 * Loads the catalogue, the form schemas and the eligibility rule sets from `schemasDir` (plus any
 * extra rule-set folders), checks every file against its meta-schema and against each other, and
 * compiles the conditions once. Throws a PolicyError naming each problem.
 */
export function loadPolicy(schemasDir: string, extraRuleDirs: string[] = []): Policy {
  const problems: string[] = [];
  const rel = (file: string): string => path.relative(schemasDir, file) || file;

  const read = (file: string): Record<string, unknown> | undefined => {
    try {
      const value: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
      problems.push(`${rel(file)}: must hold a JSON object`);
    } catch (err) {
      problems.push(`${rel(file)}: ${(err as Error).message}`);
    }
    return undefined;
  };

  // Schemas with an $id live in the one shared ajv instance; loading the same folder twice (tests
  // build many apps) reuses them, but a different schema under a known $id is a data error.
  const register = (file: string, schema: Record<string, unknown>): void => {
    const id = schema.$id;
    if (typeof id !== 'string') {
      problems.push(`${rel(file)}: has no $id`);
      return;
    }
    const known = ajv.getSchema(id);
    if (known) {
      if (JSON.stringify(known.schema) !== JSON.stringify(schema)) problems.push(`${rel(file)}: a different schema with $id ${id} is already loaded`);
      return;
    }
    try {
      ajv.addSchema(schema as SchemaObject);
    } catch (err) {
      problems.push(`${rel(file)}: ${(err as Error).message}`);
    }
  };
  const compiled = (file: string, id: string): ValidateFunction | undefined => {
    try {
      const fn = ajv.getSchema(id);
      if (!fn) problems.push(`${rel(file)}: no schema with $id ${id}`);
      return fn;
    } catch (err) {
      problems.push(`${rel(file)}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const compileCondition = (where: string, schema: SchemaObject): ValidateFunction | undefined => {
    try {
      return compile(schema);
    } catch (err) {
      problems.push(`${where}: ${(err as Error).message}`);
      return undefined;
    }
  };

  for (const dir of ['meta', 'forms']) {
    for (const file of jsonFiles(path.join(schemasDir, dir))) {
      const schema = read(file);
      if (schema) register(file, schema);
    }
  }
  const fail = (): never => {
    throw new PolicyError(problems);
  };
  if (problems.length) fail();
  const catalogueMeta = compiled('meta', 'urn:fpc:meta:catalogue-type');
  const ruleSetMeta = compiled('meta', 'urn:fpc:meta:rule-set');
  if (!catalogueMeta || !ruleSetMeta) fail();

  const types = new Map<string, CertificateType>();
  const forms = new Map<string, ValidateFunction>();
  for (const file of jsonFiles(path.join(schemasDir, 'catalogue'))) {
    const data = read(file);
    if (!data) continue;
    if (!catalogueMeta!(data)) {
      problems.push(`${rel(file)}: ${describeAjvErrors(catalogueMeta!)}`);
      continue;
    }
    const { $id: _id, ...type } = data as unknown as CertificateType & { $id: string };
    if (types.has(type.code)) problems.push(`${rel(file)}: type ${type.code} is defined twice`);
    const kinds = type.documents.map((d) => d.kind);
    if (new Set(kinds).size !== kinds.length) problems.push(`${rel(file)}: a document kind is listed twice`);
    for (const doc of type.documents) {
      if (doc.when) compileCondition(`${rel(file)}: document ${doc.kind}`, doc.when);
    }
    for (const stage of type.stages) {
      // The Taoyuan promise: a committed limit is at most two thirds of the statutory one, in its unit.
      const { statutory, committed } = stage;
      if (committed.unit !== statutory.unit || committed.value * 3 > statutory.value * 2) {
        problems.push(`${rel(file)}: stage ${stage.id} commits ${committed.value} ${committed.unit}, more than two thirds of ${statutory.value} ${statutory.unit}`);
      }
    }
    const form = compiled(file, type.form);
    if (form) forms.set(type.code, form);
    types.set(type.code, type);
  }
  for (const code of TYPE_CODES) if (!types.has(code)) problems.push(`catalogue: no entry for type ${code}`);

  const ruleSets: RuleSet[] = [];
  const files = [path.join(schemasDir, 'rules'), ...extraRuleDirs].flatMap(jsonFiles);
  for (const file of files) {
    const data = read(file);
    if (!data) continue;
    if (!ruleSetMeta!(data)) {
      problems.push(`${rel(file)}: ${describeAjvErrors(ruleSetMeta!)}`);
      continue;
    }
    const raw = data as unknown as RuleFile;
    if (raw.effectiveTo !== null && raw.effectiveTo < raw.effectiveFrom) problems.push(`${rel(file)}: effectiveTo is before effectiveFrom`);
    for (const other of ruleSets) {
      if (other.version === raw.version) problems.push(`${rel(file)}: version ${raw.version} is also used by ${rel(other.file)}`);
    }
    const ruleSet: RuleSet = { ...raw, types: {}, file };
    for (const [code, entry] of Object.entries(raw.types) as [TypeCode, NonNullable<RuleFile['types'][TypeCode]>][]) {
      const type = types.get(code);
      const seen = new Set<string>();
      const build = (r: RawRule): Rule => {
        const where = `${rel(file)}: ${code} rule ${r.id}`;
        if (seen.has(r.id)) problems.push(`${where}: the id is used twice`);
        seen.add(r.id);
        if (r.effectiveFrom && r.effectiveFrom < raw.effectiveFrom) problems.push(`${where}: starts before its regime`);
        if (r.effectiveTo && raw.effectiveTo && r.effectiveTo > raw.effectiveTo) problems.push(`${where}: ends after its regime`);
        for (const kind of r.documents ?? []) {
          if (type && !type.documents.some((d) => d.kind === kind)) problems.push(`${where}: document ${kind} is not in the ${code} catalogue`);
        }
        const { when, ...rest } = r;
        // Shared conditions ($defs) ride along so that "#/$defs/…" references resolve.
        const schema = { ...when, $defs: { ...raw.$defs, ...(when.$defs as object | undefined) } };
        const test = compileCondition(where, schema) ?? (() => false);
        return { ...rest, documents: r.documents ?? [], test: test as ValidateFunction };
      };
      ruleSet.types[code] = {
        notice: entry.notice,
        requirements: (entry.requirements ?? []).map(build),
        grounds: entry.grounds.map(build),
      };
    }
    ruleSets.push(ruleSet);
  }

  // Per type, regimes in date order; an open-ended regime ends the day before the next one starts.
  const ranges = new Map<TypeCode, RegimeInForce[]>();
  for (const code of TYPE_CODES) {
    const list = ruleSets.filter((r) => r.types[code]).sort((a, b) => a.effectiveFrom.localeCompare(b.effectiveFrom));
    const out: RegimeInForce[] = [];
    list.forEach((ruleSet, i) => {
      const next = list[i + 1];
      if (next && (ruleSet.effectiveTo === null ? next.effectiveFrom === ruleSet.effectiveFrom : ruleSet.effectiveTo >= next.effectiveFrom)) {
        problems.push(`${code}: regimes ${ruleSet.version} (${rel(ruleSet.file)}) and ${next.version} (${rel(next.file)}) overlap`);
      }
      const effectiveTo = ruleSet.effectiveTo ?? (next ? dayBefore(next.effectiveFrom) : null);
      out.push({ ruleSet, rules: ruleSet.types[code]!, effectiveFrom: ruleSet.effectiveFrom, effectiveTo });
    });
    ranges.set(code, out);
  }
  if (problems.length) fail();

  const ordered = TYPE_CODES.map((code) => types.get(code)!);
  return {
    types: ordered,
    type: (code) => types.get(code),
    ruleSets,
    regimeFor: (code, day) =>
      ranges.get(code as TypeCode)?.find((r) => r.effectiveFrom <= day && (r.effectiveTo === null || day <= r.effectiveTo)),
    formValidator: (code) => {
      const fn = forms.get(code);
      if (!fn) throw new Error(`no form for type ${code}`);
      return fn;
    },
  };
}
