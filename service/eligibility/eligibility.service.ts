import { AppError, notFound } from '../lib/errors';
import type { Bilingual, Language } from '../lib/i18n';
import { compile, toFieldProblems } from '../lib/validation';
import { residenceProblem } from '../divisions/divisions';
import { chinaDate } from '../lib/workdays';
import { deriveFacts, type ApplicationForm } from './facts';
import type { Policy, RegimeInForce, Rule } from './policy';

export interface EligibilityResult {
  eligible: boolean;
  type: string;
  regime: { id: string; version: string; name: Bilingual; effectiveFrom: string; effectiveTo: string | null };
  /** Requirements every ground needs (kind `requirement`) first, then the grounds. */
  grounds: { id: string; kind: 'requirement' | 'ground'; title: string; met: boolean; citation: string; message: string; messages: Bilingual }[];
  /** Form errors; paths are relative to the form (e.g. `husband.idNumber`). */
  errors: { path: string; code: string; message: string; messages: Bilingual }[];
  /** For the claimed ground if form.ground is given, else the first met ground. */
  requiredDocuments: { kind: string; name: Bilingual }[];
  ground?: string;
  /** A regime-wide statement, e.g. that the honour certificate is no longer issued for new births. */
  notice?: { message: string; messages: Bilingual };
  /** The application date the regime was chosen by (China time). */
  day: string;
}

/**
 * The calendar day in China (UTC+8, no daylight saving) on which the application is made: the
 * regime in force is chosen by it, so an application at 23:30 Beijing time counts for that day.
 */

const inForce = (rule: Rule, day: string): boolean =>
  (rule.effectiveFrom === undefined || rule.effectiveFrom <= day) && (rule.effectiveTo === undefined || day <= rule.effectiveTo);

export function regimeInForce(policy: Policy, typeCode: string, day: string): RegimeInForce {
  const regime = policy.regimeFor(typeCode, day);
  if (!regime) {
    throw new AppError('unprocessable', {
      zh: `${day} 没有适用的审批规则（该日期不在任何已收录政策的施行期内）`,
      en: `No eligibility rules are in force on ${day} for this certificate type`,
    });
  }
  return regime;
}

/**
 * A residence elsewhere is not a form mistake to fix but a case for another authority: 422 before
 * anything else, even in a half-filled draft, so that it never gets a number.
 */
function refuseOutsideCounty(form: unknown): void {
  const code = (form as { residence?: { divisionCode?: unknown } } | null)?.residence?.divisionCode;
  if (typeof code !== 'string' || !/^\d{9}(\d{3})?$/.test(code)) return;
  const problem = residenceProblem(code);
  if (problem) throw new AppError('outside_county', problem, [{ path: 'form.residence.divisionCode', code: 'division', messages: problem }]);
}

/**
 * Judges a form under the regime in force on `at`. Pure: it stores nothing, so the public
 * pre-check and submission give the same answer for the same form and date.
 */
export function evaluateApplication(policy: Policy, typeCode: string, form: unknown, at: Date, lang: Language): EligibilityResult {
  const type = policy.type(typeCode);
  if (!type) throw notFound({ zh: `没有这种证件：${typeCode}`, en: `No such certificate type: ${typeCode}` });
  const day = chinaDate(at);
  const regime = regimeInForce(policy, typeCode, day);
  const { ruleSet, rules } = regime;
  const base = {
    type: type.code,
    regime: { id: ruleSet.regime, version: ruleSet.version, name: ruleSet.name, effectiveFrom: regime.effectiveFrom, effectiveTo: regime.effectiveTo },
    day,
    ...(rules.notice ? { notice: { message: rules.notice[lang], messages: rules.notice } } : {}),
  };
  const localized = (problems: { path: string; code: string; messages: Bilingual }[]) =>
    problems.map((p) => ({ path: p.path, code: p.code, message: p.messages[lang], messages: p.messages }));
  const rejected = (problems: { path: string; code: string; messages: Bilingual }[]): EligibilityResult => ({
    ...base,
    eligible: false,
    grounds: [],
    errors: localized(problems),
    requiredDocuments: [],
  });

  refuseOutsideCounty(form);
  const validate = policy.formValidator(type.code);
  if (!validate(form)) {
    return rejected(toFieldProblems(validate.errors).map((p) => ({ ...p, path: p.path === '(body)' ? '' : p.path })));
  }
  const valid = form as ApplicationForm;
  const { facts, errors } = deriveFacts(valid, day, ruleSet.counting);
  const grounds = rules.grounds.filter((g) => inForce(g, day));
  if (valid.ground !== undefined && !grounds.some((g) => g.id === valid.ground)) {
    errors.push({
      path: 'ground',
      code: 'enum',
      messages: {
        zh: `“${valid.ground}”不是现行规则（${ruleSet.version}）中的再生育条件，可选：${grounds.map((g) => g.id).join('、')}`,
        en: `"${valid.ground}" is not a ground of the rules in force (${ruleSet.version}); choose one of ${grounds.map((g) => g.id).join(', ')}`,
      },
    });
  }
  if (errors.length) return rejected(errors);

  const doc = { ...facts, form: valid };
  const judge = (rule: Rule, kind: 'requirement' | 'ground') => {
    const met = rule.test(doc) === true;
    const messages = met ? rule.messages.met : rule.messages.unmet;
    return { id: rule.id, kind, title: rule.title[lang], met, citation: rule.citation, message: messages[lang], messages };
  };
  const requirementResults = rules.requirements.filter((r) => inForce(r, day)).map((r) => judge(r, 'requirement'));
  const groundResults = grounds.map((g) => judge(g, 'ground'));

  const chosenId = valid.ground ?? groundResults.find((g) => g.met)?.id;
  const chosen = grounds.find((g) => g.id === chosenId);
  const requiredDocuments = type.documents
    .filter((d) => d.required === 'always' || (d.required === 'when' && d.when !== undefined && compile(d.when)(doc)) || (d.required === 'ground' && chosen?.documents.includes(d.kind)))
    .map((d) => ({ kind: d.kind, name: d.name }));
  const groundMet = valid.ground !== undefined ? groundResults.some((g) => g.id === valid.ground && g.met) : groundResults.some((g) => g.met);

  return {
    ...base,
    eligible: groundMet && requirementResults.every((r) => r.met),
    grounds: [...requirementResults, ...groundResults],
    errors: [],
    requiredDocuments,
    ...(chosen ? { ground: chosen.id } : {}),
  };
}
