import crypto from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { createStaff } from '../../service/accounts/accounts.service';
import { PDF } from './forms';

/**
 * A browser in miniature for route tests: keeps our cookies (supertest's jar will not send Secure
 * cookies over plain http), and the last page's CSRF token.
 */
export class Visitor {
  cookies = new Map<string, string>();
  csrf = '';
  html = '';
  constructor(readonly app: Express, readonly lang = 'zh-CN') {}

  private keep(res: request.Response): request.Response {
    for (const line of (res.headers['set-cookie'] as unknown as string[] | undefined) ?? []) {
      const [pair] = line.split(';');
      const [name, value] = pair!.split('=');
      if (value) this.cookies.set(name!, value);
      else this.cookies.delete(name!);
    }
    this.html = res.text ?? '';
    const token = /name="_csrf" value="([^"]+)"/.exec(this.html);
    if (token) this.csrf = token[1]!;
    return res;
  }

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async get(path: string, accept = 'text/html'): Promise<request.Response> {
    return this.keep(await request(this.app).get(path).set('Accept', accept).set('Accept-Language', this.lang).set('Cookie', this.cookieHeader()));
  }

  async post(path: string, form: Record<string, string>, withCsrf = true): Promise<request.Response> {
    const body = new URLSearchParams({ ...(withCsrf ? { _csrf: this.csrf } : {}), ...form }).toString();
    return this.keep(
      await request(this.app).post(path).type('form').set('Accept', 'text/html').set('Accept-Language', this.lang).set('Cookie', this.cookieHeader()).send(body),
    );
  }

  async upload(path: string, kind: string, withCsrf = true): Promise<request.Response> {
    let req = request(this.app).post(path).set('Accept', 'text/html').set('Cookie', this.cookieHeader());
    if (withCsrf) req = req.field('_csrf', this.csrf);
    return this.keep(await req.field('kind', kind).attach('file', PDF, { filename: `${kind}.pdf`, contentType: 'application/pdf' }));
  }
}


/** A staff member (officer or admin) made for the test and signed in on the pages by user name. */
export async function staffVisitor(
  t: { app: Express; ctx: import('../../service/context').AppContext },
  spec: { role: 'officer' | 'admin'; level?: 'township' | 'county'; jurisdiction?: string[] },
  name = '王芳',
): Promise<{ v: Visitor; id: string; username: string; password: string }> {
  const username = `p${crypto.randomBytes(5).toString('hex')}`;
  const password = 'officer-password-1';
  const { id } = await createStaff(t.ctx, { username, password, name, ...spec });
  const v = new Visitor(t.app);
  await v.get('/officer/sign-in');
  const res = await v.post('/officer/sign-in', { username, password });
  if (res.status !== 303) throw new Error(`staff sign-in: ${res.status}`);
  return { v, id, username, password };
}
