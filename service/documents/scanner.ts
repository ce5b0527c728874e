import fs from 'node:fs';
import net from 'node:net';
import { pipeline } from 'node:stream/promises';

/** Checks a staged upload before it counts; an error (scanner down) must be treated as "not clean". */
export interface MalwareScanner {
  scan(path: string): Promise<ScanResult>;
}

export type ScanResult = { clean: true } | { clean: false; signature: string };

/**
 * The EICAR test file's content, assembled at run time so that this source file itself does not
 * trip a virus scanner on a developer's machine.
 */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$' + 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

/**
 * Flags any file containing the EICAR test string anywhere (real scanners want it at the start; being
 * stricter costs nothing here). The scanner for development and tests, where no clamd runs.
 */
export class EicarSignatureScanner implements MalwareScanner {
  async scan(path: string): Promise<ScanResult> {
    const needle = Buffer.from(EICAR, 'latin1');
    let carry = Buffer.alloc(0);
    for await (const chunk of fs.createReadStream(path)) {
      const window = Buffer.concat([carry, chunk as Buffer]);
      if (window.includes(needle)) return { clean: false, signature: 'Eicar-Test-Signature' };
      carry = window.subarray(Math.max(0, window.length - needle.length + 1));
    }
    return { clean: true };
  }
}

export type ClamdEndpoint = { socketPath: string } | { host: string; port: number };

export interface ClamdOptions {
  timeoutMs?: number;
  /** Bytes per INSTREAM chunk; must stay under clamd's StreamMaxLength. */
  chunkBytes?: number;
}

/**
 * clamd's INSTREAM command: `zINSTREAM\0`, then chunks each prefixed with their length as a 4-byte
 * big-endian integer, then a zero length. clamd answers one NUL-terminated line: `stream: OK`,
 * `stream: <signature> FOUND`, or `... ERROR` (e.g. the stream exceeded StreamMaxLength). We stream
 * the file rather than send its path (SCAN) so clamd needs no access to our upload folder.
 */
export class ClamdScanner implements MalwareScanner {
  private readonly timeoutMs: number;
  private readonly chunkBytes: number;

  constructor(
    private readonly endpoint: ClamdEndpoint,
    options: ClamdOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.chunkBytes = options.chunkBytes ?? 64 * 1024;
  }

  async scan(path: string): Promise<ScanResult> {
    const socket = net.createConnection('socketPath' in this.endpoint ? { path: this.endpoint.socketPath } : this.endpoint);
    socket.setTimeout(this.timeoutMs, () => socket.destroy(new Error(`clamd did not answer within ${this.timeoutMs} ms`)));
    try {
      const reply = readReply(socket);
      const sent = pipeline(fs.createReadStream(path, { highWaterMark: this.chunkBytes }), instreamFrames, socket);
      // clamd may answer (an ERROR) and hang up before we finish sending: its answer then explains more
      // than our broken pipe does.
      const [sending, answer] = await Promise.allSettled([sent, reply]);
      if (answer.status === 'fulfilled') return parseReply(answer.value);
      throw sending.status === 'rejected' ? sending.reason : answer.reason;
    } finally {
      socket.destroy();
    }
  }
}

async function* instreamFrames(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  yield Buffer.from('zINSTREAM\0', 'latin1');
  for await (const chunk of source) {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(chunk.length);
    yield Buffer.concat([length, chunk]);
  }
  yield Buffer.alloc(4);
}

function readReply(socket: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const settle = () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const end = text.indexOf('\0');
      if (end >= 0) resolve(text.slice(0, end));
      return end >= 0;
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      settle();
    });
    socket.on('end', () => {
      if (!settle()) reject(new Error(`clamd closed the connection without a complete answer: ${JSON.stringify(Buffer.concat(chunks).toString('utf8'))}`));
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('clamd closed the connection without answering')));
  });
}

function parseReply(line: string): ScanResult {
  if (line === 'stream: OK') return { clean: true };
  const found = /^stream: (.+) FOUND$/.exec(line);
  if (found) return { clean: false, signature: found[1]! };
  throw new Error(`clamd could not scan the file: ${line}`);
}
