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
