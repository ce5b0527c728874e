import type { Policy } from '../eligibility/policy';
import { chinaDate } from '../lib/workdays';
import { notFound } from '../lib/errors';
import type { Bilingual, Language } from '../lib/i18n';
import type { CertificateType } from './catalogue';

function summaryOf(type: CertificateType, lang: Language) {
  return {
    code: type.code,
    serialCode: type.serialCode,
    name: type.names[lang],
    names: type.names,
    summary: type.summary ?? null,
    fee: type.fee,
    validity: type.validity,
    issuingAuthority: type.issuingAuthority,
    stages: type.stages,
    documents: type.documents.map(({ when: _when, ...d }) => d),
  };
}

export function listCertificateTypes(policy: Policy, lang: Language) {
  return { items: policy.types.map((t) => summaryOf(t, lang)) };
}

/** The published service guide: conditions under the rules in force today, documents, steps, limits, fee. */
export function serviceGuide(policy: Policy, code: string, at: Date, lang: Language) {
  const type = policy.type(code);
  if (!type) throw notFound({ zh: `没有这种证件：${code}`, en: `No such certificate type: ${code}` });
  const day = chinaDate(at);
  const regime = policy.regimeFor(type.code, day);
  const rule = (r: { id: string; title: { zh: string; en: string }; citation: string; messages: { met: { zh: string; en: string } }; documents: string[]; note?: string }) => ({
    id: r.id,
    title: r.title,
    citation: r.citation,
    description: r.messages.met,
    documents: r.documents,
    ...(r.note ? { note: r.note } : {}),
  });
  return {
    ...summaryOf(type, lang),
    legalBasis: type.legalBasis,
    steps: type.steps,
    form: type.form,
    conditions: regime
      ? {
          regime: {
            id: regime.ruleSet.regime,
            version: regime.ruleSet.version,
            name: regime.ruleSet.name,
            effectiveFrom: regime.effectiveFrom,
            effectiveTo: regime.effectiveTo,
          },
          notice: regime.rules.notice ?? null,
          counting: regime.ruleSet.counting.description,
          requirements: regime.rules.requirements.map(rule),
          grounds: regime.rules.grounds.map(rule),
        }
      : null,
  };
}

/** A document kind's name from the type's catalogue (the kind itself if the catalogue has dropped it). */
export function documentName(ctx: { policy: Policy }, type: string, kind: string): Bilingual {
  return ctx.policy.type(type)?.documents.find((d) => d.kind === kind)?.name ?? { zh: kind, en: kind };
}
