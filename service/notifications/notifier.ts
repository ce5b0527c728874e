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

/** Development and test stand-in: writes the text to the log instead of sending it. */
export class LogNotifier implements Notifier {
  constructor(private readonly logger: Pick<Logger, 'info'>) {}
  async deliver(message: OutgoingMessage): Promise<void> {
    this.logger.info({ notification: message.key, recipient: message.recipient }, `通知：${message.text}`);
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
    const phone = recipient.applicantId ? await this.options.phoneOf(recipient.applicantId) : undefined;
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
