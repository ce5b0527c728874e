import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dispatchDue } from '../service/notifications/notifications.service';
import { makeTestApp, registerAndLogin, testConfig, type TestApp } from './support/app';
import { birthServiceForm, submittedApplication } from './support/forms';

interface Received {
  body: { key: string; recipient: { phone?: string; terminalId?: string }; text: string };
  raw: string;
  headers: http.IncomingHttpHeaders;
}

describe('Notifications through the SMS gateway webhook (NOTIFY_WEBHOOK_URL)', () => {
  const secret = 'a-shared-secret-of-the-gateway';
  let server: http.Server;
  let received: Received[] = [];
  let failNext = 0;
  let t: TestApp;

  before(async () => {
    server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        if (failNext > 0) {
          failNext -= 1;
          res.writeHead(503).end();
          return;
        }
        received.push({ body: JSON.parse(raw), raw, headers: req.headers });
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`;
    t = await makeTestApp({ config: testConfig({ NOTIFY_WEBHOOK_URL: url, NOTIFY_WEBHOOK_SECRET: secret }) });
  });
  after(async () => {
    await t.close();
    server.close();
  });

  it('when an application is submitted, then the gateway gets one signed message with the applicant’s phone and the number, even after a failed attempt', async () => {
    const applicant = await registerAndLogin(t.app);
    const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', birthServiceForm());
    received = [];
    failNext = 1;
    const first = await dispatchDue(t.ctx);
    assert.equal(first.failed, 1, 'the gateway refused once');
    await t.ctx.models.Notification.updateMany({}, { $set: { nextAttemptAt: new Date(0) } });
    const second = await dispatchDue(t.ctx);
    assert.equal(second.delivered, 1);
    await dispatchDue(t.ctx);

    assert.equal(received.length, 1, 'delivered exactly once');
    const [msg] = received;
    assert.equal(msg!.body.recipient.phone, applicant.phone);
    assert.match(msg!.body.text, new RegExp(sub.number));
    assert.equal(msg!.headers['idempotency-key'], msg!.body.key);
    const expected = crypto.createHmac('sha256', secret).update(msg!.raw).digest('hex');
    assert.equal(msg!.headers['x-fpc-signature'], `sha256=${expected}`);
  });

  it('when the webhook is configured without a secret, then the configuration is refused', () => {
    assert.throws(() => testConfig({ NOTIFY_WEBHOOK_URL: 'http://127.0.0.1:9/sms' }), /NOTIFY_WEBHOOK_SECRET/);
  });
});
