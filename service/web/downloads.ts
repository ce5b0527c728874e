import express, { type RequestHandler, type Router } from 'express';
import { sendPdf } from '../certificates/certificates.routes';
import { certificatePdfFor } from '../certificates/certificates.service';
import { sendDecision } from '../decisions/decisions.routes';
import { principalOf } from '../lib/auth';
import { staff } from './staff';
import type { Web } from './ui';

/**
 * The signed PDFs a person downloads from the pages: written decisions (准予 / 不予 / 补正) and
 * certificates, for the resident of the case (`/my/…`) and for staff who see it (`/officer/…`).
 * Each calls the same use case as its API route, with the session's principal, so another
 * resident's case, or a case outside an officer's jurisdiction, is a 404 as there.
 */
export function downloadPages(web: Web): Router {
  const { ctx } = web;
  const r = express.Router();

  const resident: RequestHandler = (req, res, next) => {
    const s = req.page?.session;
    if (!s || s.doc.kind !== 'resident') return res.redirect(303, `/sign-in?next=${encodeURIComponent(req.path)}`);
    req.principal = s.principal;
    next();
  };
  const certificate: RequestHandler = async (req, res) => {
    const format = req.query.format === 'booklet' ? 'booklet' : 'a4';
    const { cert, pdf } = await certificatePdfFor(ctx, principalOf(req), String(req.params.serial), format);
    sendPdf(res, pdf, `certificate-${cert.serial}${format === 'booklet' ? '-booklet' : ''}.pdf`);
  };

  r.get('/my/:id/decisions/:decisionId', resident, (req, res) => sendDecision(ctx, req, res, principalOf(req)));
  r.get('/my/certificates/:serial/certificate.pdf', resident, certificate);
  r.get('/officer/cases/:id/decisions/:decisionId', staff, (req, res) => sendDecision(ctx, req, res, principalOf(req)));
  r.get('/officer/certificates/:serial/certificate.pdf', staff, certificate);
  return r;
}
