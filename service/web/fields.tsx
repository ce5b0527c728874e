import type { FieldSpec, SectionSpec } from './forms';
import { fieldValue, getPath } from './forms';
import { Fragment, h, type SafeHtml } from './jsx';
import { CheckboxField, RadioField, SelectField, TextField, type FieldError, type Lang } from './ui';

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
