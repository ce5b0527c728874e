import type { RequestHandler } from 'express';
import { can } from '../lib/auth';
import { AppError } from '../lib/errors';

/**
 * Staff pages exist only for staff: a resident or a kiosk gets the same 404 as for an unknown
 * address (nothing tells them the workbench is there); nobody signed in is sent to sign in.
 */
export const staff: RequestHandler = (req, res, next) => {
  const s = req.page?.session;
  if (!s) return res.redirect(303, '/officer/sign-in');
  if (s.doc.kind !== 'staff') throw new AppError('not_found');
  req.principal = s.principal;
  next();
};

/** Administration pages: for an admin only; any other officer gets the same 404 as a stranger. */
export const adminOnly: RequestHandler = (req, res, next) => {
  staff(req, res, (err?: unknown) => {
    if (err) return next(err);
    if (!req.principal || !can(req.principal, 'account:manage')) throw new AppError('not_found');
    next();
  });
};
