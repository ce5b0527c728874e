import assert from 'node:assert/strict';
import request from 'supertest';
import { makeTestApp, type TestApp } from './support/app';

describe('HTTP basics', () => {
  let t: TestApp;
  before(async () => {
    t = await makeTestApp();
  });
  after(() => t.close());

  it('when the process is up, then /healthz answers 200', async () => {
    const res = await request(t.app).get('/healthz').expect(200);
    assert.equal(res.body.status, 'ok');
  });

  it('when the database answers, then /readyz answers 200 and tells how far the holiday calendar reaches', async () => {
    const res = await request(t.app).get('/readyz').expect(200);
    assert.match(res.body.calendar.coversUntil, /^\d{4}-12-31$/);
    assert.equal(typeof res.body.calendar.daysLeft, 'number');
  });

  it('when a request carries an X-Request-Id, then the response echoes it; otherwise one is made', async () => {
    const echoed = await request(t.app).get('/healthz').set('X-Request-Id', 'kiosk-42.abc').expect(200);
    assert.equal(echoed.headers['x-request-id'], 'kiosk-42.abc');
    const made = await request(t.app).get('/healthz').set('X-Request-Id', 'bad id with spaces').expect(200);
    assert.match(made.headers['x-request-id'], /^[0-9a-f-]{36}$/);
  });

  it('when the route is unknown, then 404 problem+json in both languages', async () => {
    const res = await request(t.app).get('/api/v1/nothing-here').expect(404);
    assert.match(res.headers['content-type'], /^application\/problem\+json/);
    assert.equal(res.body.code, 'not_found');
    assert.equal(res.body.status, 404);
    assert.ok(res.body.message.zh && res.body.message.en);
    assert.equal(res.body.instance, '/api/v1/nothing-here');
  });

  it('when the method is wrong, then 405 with an Allow header', async () => {
    const res = await request(t.app).delete('/api/v1/auth/login').expect(405);
    assert.equal(res.body.code, 'method_not_allowed');
    assert.equal(res.headers.allow, 'POST');
  });

  it('when the JSON is malformed, then 400 malformed_json', async () => {
    const res = await request(t.app).post('/api/v1/auth/login').set('Content-Type', 'application/json').send('{"username": ').expect(400);
    assert.equal(res.body.code, 'malformed_json');
  });

  it('when the body is too large, then 413', async () => {
    const res = await request(t.app)
      .post('/api/v1/auth/login')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ username: 'x'.repeat(200_000), password: 'y' }))
      .expect(413);
    assert.equal(res.body.code, 'payload_too_large');
  });

  it('when the content type is not JSON, then 415', async () => {
    const res = await request(t.app).post('/api/v1/auth/login').set('Content-Type', 'text/plain').send('username=a').expect(415);
    assert.equal(res.body.code, 'unsupported_media_type');
  });

  it('when fields are invalid, then 400 names each field, in the language asked for', async () => {
    const res = await request(t.app)
      .post('/api/v1/auth/register')
      .set('Accept-Language', 'en')
      .send({ idNumber: '430725198001010019', name: '张三', phone: 'abc', password: 'secret-pass', role: 'admin' })
      .expect(400);
    assert.equal(res.body.code, 'validation_failed');
    const paths = res.body.errors.map((e: { path: string }) => e.path).sort();
    assert.deepEqual(paths, ['code', 'phone', 'role']);
    assert.equal(res.body.detail, 'The request has invalid fields');
    const zh = await request(t.app).post('/api/v1/auth/register').set('Accept-Language', 'zh-CN').send({}).expect(400);
    assert.equal(zh.body.detail, '提交的内容有误');
  });

  it('when an unexpected error happens, then 500 without details', async () => {
    const broken = await makeTestApp();
    // A model method that throws stands in for any bug below the routes.
    broken.ctx.models.KeyIndex.findById = (() => {
      throw new Error('secret internal detail');
    }) as never;
    const res = await request(broken.app).post('/api/v1/auth/login').send({ username: 'someone', password: 'x' }).expect(500);
    await broken.close();
    assert.equal(res.body.code, 'internal');
    assert.doesNotMatch(JSON.stringify(res.body), /secret internal detail|at .*\.ts/);
  });

  it('sets the security headers the quality bar asks for', async () => {
    const res = await request(t.app).get('/healthz').expect(200);
    const csp = res.headers['content-security-policy'];
    for (const part of ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"]) assert.ok(csp.includes(part), part);
    assert.match(res.headers['strict-transport-security'], /max-age=\d+/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['referrer-policy'], 'no-referrer');
    assert.equal(res.headers['x-powered-by'], undefined);
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    const cors = await request(t.app).get('/healthz').set('Origin', 'https://evil.example').expect(200);
    assert.equal(cors.headers['access-control-allow-origin'], undefined);
  });
});
