import crypto from 'node:crypto';
import type { Logger } from '../lib/logger';
import type { Recipient } from './notifications.model';

export interface OutgoingMessage {
  /** The outbox key: a gateway that accepts a client message id gets this one, so it can drop a repeat. */
  key: string;
  recipient: Recipient;
  text: string;
}

/** Delivers one message (SMS gateway, app push, …). Throwing means "not delivered, try again later". */
export interface Notifier {
  deliver(message: OutgoingMessage): Promise<void>;
}

/** A mobile number as logs may show it: 138****8000. */
export const maskPhone = (phone: string): string => (phone.length >= 7 ? `${phone.slice(0, 3)}****${phone.slice(-4)}` : '****');

/** Development stand-in: writes the text to the log instead of sending it (a one-time code included, so a developer can sign up). */
export class LogNotifier implements Notifier {
  constructor(private readonly logger: Pick<Logger, 'info'>) {}
  async deliver(message: OutgoingMessage): Promise<void> {
    const { phone, ...rest } = message.recipient;
    const recipient = phone ? { ...rest, phone: maskPhone(phone) } : rest;
    this.logger.info({ notification: message.key, recipient }, `通知：${message.text}`);
  }
}

/** Test stand-in: keeps what it was given, so a test reads a one-time code the way a resident would. */
export class MemoryNotifier implements Notifier {
  readonly sent: OutgoingMessage[] = [];
  async deliver(message: OutgoingMessage): Promise<void> {
    this.sent.push(message);
  }
  /** Messages to one phone number, oldest first. */
  to(phone: string): OutgoingMessage[] {
    return this.sent.filter((m) => m.recipient.phone === phone);
  }
  /** The last six-digit code sent to a phone number, waiting briefly since codes are sent after the answer. */
  async lastCode(phone: string, timeoutMs = 2_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const code = this.to(phone).map((m) => /验证码[：:]?\s*(\d{6})/.exec(m.text)?.[1]).filter(Boolean).at(-1);
      if (code) return code;
      if (Date.now() > deadline) throw new Error(`no code was sent to ${maskPhone(phone)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

export interface WebhookOptions {
  url: string;
  /** Shared with the gateway: the body's HMAC-SHA256 goes in `X-FPC-Signature`. */
  secret: string;
  timeoutMs: number;
  /** The applicant's mobile number, looked up at delivery time (never stored in the outbox). */
  phoneOf: (applicantId: string) => Promise<string | undefined>;
}

/**
 * Hands each message to the county's SMS gateway (or any adapter) as a signed JSON POST:
 * `{key, event, recipient: {phone? | terminalId?, township?}, text}`, with the outbox key also as
 * `Idempotency-Key` so the gateway can drop a repeat. Anything but a 2xx answer, or no answer within
 * the timeout, counts as not delivered and the dispatcher tries again later.
 */
export class WebhookNotifier implements Notifier {
  constructor(private readonly options: WebhookOptions) {}

  async deliver(message: OutgoingMessage): Promise<void> {
    const { recipient } = message;
    const phone = recipient.phone ?? (recipient.applicantId ? await this.options.phoneOf(recipient.applicantId) : undefined);
    const body = JSON.stringify({
      key: message.key,
      recipient: phone ? { phone } : { terminalId: recipient.terminalId, township: recipient.township },
      text: message.text,
    });
    const signature = crypto.createHmac('sha256', this.options.secret).update(body).digest('hex');
    const res = await fetch(this.options.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': message.key, 'X-FPC-Signature': `sha256=${signature}` },
      body,
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`notification gateway answered ${res.status}`);
  }
}
