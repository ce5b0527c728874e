import type { AppContext } from '../context';
import { evaluateApplication, type EligibilityResult } from '../eligibility/eligibility.service';
import { TOWNSHIPS, village } from '../divisions/divisions';
import { AppError } from '../lib/errors';
import type { FieldSpec, SectionSpec } from './forms';
import { fieldValue, getPath } from './forms';
import { Fragment, h, raw, type SafeHtml } from './jsx';
import { CheckboxField, fieldId, RadioField, SelectField, TextField, type FieldError, type Lang } from './ui';

/** One question of a form page, drawn from its spec; `prefix` namespaces repeated groups (a child). */
export function Field({ l, spec, values, errors, prefix = '' }: { l: Lang; spec: FieldSpec; values: unknown; errors?: FieldError[]; prefix?: string }): SafeHtml {
  const name = prefix + spec.name;
  const value = fieldValue(values, spec.name);
  const common = { name, label: l.b(spec.label), hint: spec.hint ? l.b(spec.hint) : undefined, value, errors };
  switch (spec.kind) {
    case 'checkbox':
      return <CheckboxField {...common} checked={getPath(values, spec.name) === true} />;
    case 'radio':
      return <RadioField {...common} options={(spec.options ?? []).map((o) => ({ value: o.value, label: l.b(o.label) }))} />;
    case 'yesno':
      return <RadioField {...common} options={[{ value: 'true', label: l.t('是', 'Yes') }, { value: 'false', label: l.t('否', 'No') }]} />;
    case 'select':
      return <SelectField {...common} blank={l.t('请选择', 'Choose')} options={(spec.options ?? []).map((o) => ({ value: o.value, label: l.b(o.label) }))} />;
    case 'village':
      return <VillageField {...common} l={l} />;
    case 'date':
      return <TextField {...common} type="date" width="short" />;
    case 'number':
      return <TextField {...common} inputmode="numeric" width="short" />;
    default:
      return <TextField {...common} autocomplete={spec.autocomplete} inputmode={spec.inputmode} width={spec.short ? 'short' : undefined} maxlength={200} />;
  }
}

export function Fields({ l, fields, values, errors, prefix }: { l: Lang; fields: FieldSpec[]; values: unknown; errors?: FieldError[]; prefix?: string }): SafeHtml {
  return <Fragment>{fields.map((spec) => <Field l={l} spec={spec} values={values} errors={errors} prefix={prefix} />)}</Fragment>;
}

/** An answer as a person reads it: yes/no, the village's name, an option's label. */
export function answerText(l: Lang, values: unknown, name: string, kind: string, options?: FieldSpec['options']): string {
  const v = getPath(values, name);
  if (v === undefined) return '';
  if (kind === 'checkbox' || kind === 'yesno') return v === true ? l.t('是', 'Yes') : l.t('否', 'No');
  const place = kind === 'village' ? village(String(v)) : undefined;
  if (place) return `${place.township.name} ${place.name}`;
  const o = options?.find((x) => x.value === v);
  return o ? l.b(o.label) : String(v);
}

/** The re-birth permit's ground: one of the grounds of the rules in force, each with its citation. */
export function GroundField({ l, title, grounds, value, errors }: { l: Lang; title: string; grounds: GroundGuide[]; value: unknown; errors?: FieldError[] }): SafeHtml {
  const mine = errors?.filter((e) => e.field === 'ground') ?? [];
  return (
    <div className={`field${mine.length ? ' field-error' : ''}`}>
      <fieldset>
        <legend><h1>{title}</h1></legend>
        {mine.map((e) => <p className="error-message" id="f-ground-error">{e.message}</p>)}
        {grounds.map((g, i) => (
          <div className="radio">
            <input type="radio" id={i === 0 ? 'f-ground' : `f-ground-${i}`} name="ground" value={g.id} checked={value === g.id} />
            <label htmlFor={i === 0 ? 'f-ground' : `f-ground-${i}`}>{l.b(g.title)}</label>
            <p className="hint">{l.b(g.description)}{l.paren(g.citation)}</p>
          </div>
        ))}
      </fieldset>
    </div>
  );
}
type GroundGuide = { id: string; title: { zh: string; en: string }; description: { zh: string; en: string }; citation: string };

/** The label of a form path, for error messages ("请填写：男方姓名"). */
export function labelOf(l: Lang, sections: SectionSpec[], childFields: FieldSpec[], field: string): string | undefined {
  for (const s of sections) {
    const f = s.fields.find((x) => x.name === field);
    if (f) return l.b(f.label);
    if (field === s.root) return l.b(s.title);
  }
  const child = /^(?:children\.\d+|child)\.(.+)$/.exec(field);
  if (child) {
    const f = childFields.find((x) => x.name === child[1]);
    if (f) return l.b(f.label);
  }
  return undefined;
}

/**
 * The county's villages and communities, by township (service/divisions): a resident picks a name,
 * never types a 12-digit code. The options are rendered once; the chosen one is marked per page.
 */
let villageOptions: string | undefined;
function VillageField(p: { l: Lang; name: string; label: string; hint?: string; value: string; errors?: FieldError[] }): SafeHtml {
  villageOptions ??= TOWNSHIPS.map((t) => (
    <optgroup label={t.name}>{t.villages.map((v) => <option value={v.code}>{v.name}</option>)}</optgroup>
  ).html).join('');
  const id = fieldId(p.name);
  const err = p.errors?.find((e) => e.field === p.name);
  const chosen = /^\d{12}$/.test(p.value) ? villageOptions.replace(`value="${p.value}"`, `value="${p.value}" selected`) : villageOptions;
  return (
    <div className={`field${err ? ' field-error' : ''}`}>
      <label htmlFor={id}>{p.label}</label>
      {err ? <p className="error-message" id={`${id}-error`}>{err.message}</p> : null}
      <select id={id} name={p.name} aria-invalid={err ? 'true' : undefined}>
        <option value="">{p.l.t('请选择所在村（社区）', 'Choose your village or community')}</option>
        {raw(chosen)}
      </select>
    </div>
  );
}

/**
 * The same evaluation as submission, for a page: a residence outside the county (a refusal, not a
 * form mistake) comes back as that field's problem instead of an error page.
 */
export function evaluateForPage(
  ctx: Pick<AppContext, 'policy' | 'clock'>,
  type: string,
  form: Record<string, unknown>,
  lang: Lang['code'],
): { result?: EligibilityResult; errors: { path: string; code: string; messages: { zh: string; en: string } }[] } {
  try {
    const result = evaluateApplication(ctx.policy, type, form, ctx.clock.now(), lang);
    return { result, errors: result.errors.map((e) => ({ path: e.path, code: e.code, messages: e.messages })) };
  } catch (err) {
    if (!(err instanceof AppError) || !err.errors?.length) throw err;
    return { errors: err.errors.map((e) => ({ path: e.path.replace(/^form\./, ''), code: e.code, messages: e.messages })) };
  }
}
