import { issuerName } from '../divisions/divisions';
import type { AppContext } from '../context';
import { formOf } from '../applications/applications.service';
import type { CertificateDoc } from './certificates.model';
import { holderNameOf } from './certificates.service';
import { verifyUrl } from './links';
import { migrantParticulars } from './particulars';
import { qrSvg } from './qr';
import { chinaDate } from '../lib/workdays';

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * A printable certificate: the holder's name and ID mask, the serial, dates, the issuing authority
 * and the QR code that verifies it. Plain HTML with the QR inline as SVG and no scripts or inline
 * styles, so it renders under the service's strict Content-Security-Policy.
 */
export async function printableCertificate(ctx: Pick<AppContext, 'config' | 'policy' | 'clock' | 'models' | 'keys'>, cert: CertificateDoc): Promise<string> {
  const spec = ctx.policy.type(cert.type);
  // About 6 cm on paper: large enough for a phone camera, small enough to sit beside the text.
  const qr = (await qrSvg(verifyUrl(ctx, cert))).replace('<svg ', '<svg width="228" height="228" role="img" aria-label="QR" ');
  // Dates as a calendar in China reads them: issued at 07:30 Beijing time is that day, not the UTC day before.
  const date = (d: Date | null | undefined): string => (d ? chinaDate(new Date(d)) : '长期有效 / no expiry');
  const revoked = cert.status === 'revoked' ? `<p class="void">已注销 REVOKED ${escapeHtml(cert.revokeReason ?? '')}</p>` : '';
  const rows: Array<[string, string]> = [
    ['证件编号 Serial', cert.serial],
    ['持证人 Holder', holderNameOf(ctx, cert)],
    ['身份证号 ID number', cert.holderIdMasked],
    ['受理编号 Application', cert.applicationNumber],
    ['发证日期 Issued', date(cert.issuedAt)],
    ['有效期至 Valid until', date(cert.validUntil)],
    ['发证机关 Issued by', `${issuerName(cert.issuerDivision)} (${cert.issuerDivision})`],
  ];
  if (cert.type === 'migrant-marriage') {
    const app = await ctx.models.Application.findById(cert.applicationId, { formSealed: 1 }).lean();
    if (app) rows.push(...migrantParticulars(formOf(ctx, app)));
  }
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>${escapeHtml(spec?.names.zh ?? cert.type)} ${escapeHtml(cert.serial)}</title></head>
<body>
<main>
<h1>${escapeHtml(spec?.names.zh ?? cert.type)}</h1>
<h2>${escapeHtml(spec?.names.en ?? '')}</h2>
${revoked}
<table>${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>
<figure>${qr}<figcaption>扫码核验 Scan to verify</figcaption></figure>
<p>本证免费办理。Issued free of charge.</p>
</main>
</body></html>`;
}
