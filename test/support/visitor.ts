import type { Express } from 'express';
import request from 'supertest';
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

