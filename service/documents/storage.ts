import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Request } from 'express';
import type { StorageEngine } from 'multer';
import { notFound } from '../lib/errors';
import { SNIFF_BYTES } from './sniff';

/**
 * Where uploaded bytes live. An upload is first written to a local staging file (`create`), checked
 * there (type, malware scan) and only then made permanent (`commit`); until then it exists under no
 * real name, so a crash or a refusal can leave at most a staging file, which `sweepStaging` removes.
 *
 * Ids are 128 random bits in hex, made here: a client's filename never becomes part of a path.
 *
 * A GridFS store fits the same shape: `create` still stages on local disk (the scanner reads a path),
 * `commit` streams the staging file into a GridFSBucket under `_id: id` and deletes it, `open`,
 * `stat`, `remove` and `list` map to openDownloadStream, files.findOne, delete and files.find; a crash
 * between upload and delete leaves only a staging file again. Derived files fit as files named
 * `<id>/<name>` in a second bucket, removed with their file.
 */
export interface FileStore {
  /** Reserves a new id and a staging path to write the upload to (nothing exists there yet). */
  create(): Promise<StagedFile>;
  /** Makes the staged bytes durable and visible under the id. */
  commit(id: string): Promise<void>;
  /** Opens a committed file; rejects with not_found before any byte is read if there is none. */
  open(id: string): Promise<Readable>;
  stat(id: string): Promise<StoredFileStat | undefined>;
  /** Removes the committed file, any staging file and every derived file of this id; removing nothing is not an error. */
  remove(id: string): Promise<void>;
  /**
   * Stores a file made from the committed one (a PDF page rendered as an image), under a name of
   * ours (`derivedName`), replacing any earlier one. Derived files can always be made again: they
   * are never listed, and go with their file's `remove`.
   */
  writeDerived(id: string, name: string, bytes: Buffer): Promise<void>;
  /** A derived file's bytes, or undefined if none was made (or it was lost). */
  readDerived(id: string, name: string): Promise<Buffer | undefined>;
  /** Every committed id, for the sweep that removes files no document references. */
  list(): AsyncIterable<string>;
  /** Removes staging files last written before `olderThan`, and derived files whose file is gone; returns the staging files' ids. */
  sweepStaging(olderThan: Date): Promise<string[]>;
}

export interface StagedFile {
  id: string;
  stagingPath: string;
}

export interface StoredFileStat {
  size: number;
  modifiedAt: Date;
}

const ID = /^[0-9a-f]{32}$/;
const SHARD = /^[0-9a-f]{2}$/;
const STAGING_SUFFIX = '.part';
const DERIVED_SUFFIX = '.derived';
/** Names of derived files: ours, never a client's (`preview.json`, `preview-1.png`). */
const DERIVED_NAME = /^[a-z0-9][a-z0-9-]{0,40}\.(png|json)$/;

function checkDerivedName(name: string): string {
  if (!DERIVED_NAME.test(name)) throw new Error(`not a derived file name: ${name}`);
  return name;
}

function checkId(id: string): string {
  if (!ID.test(id)) throw notFound({ zh: '文件不存在', en: 'No such file' });
  return id;
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

async function unlinkIfPresent(file: string): Promise<void> {
  try {
    await fs.promises.unlink(file);
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
}

/**
 * Files under `dir/<first two hex digits>/<id>`, so no folder grows past a few thousand entries at a
 * county's volume; the staging file `<id>.part` sits in the same folder, so commit is one rename on
 * one file system (atomic), after an fsync so the name never points at bytes not yet on disk.
 */
export class DiskFileStore implements FileStore {
  constructor(private readonly dir: string) {}

  private finalPath(id: string): string {
    return path.join(this.dir, checkId(id).slice(0, 2), id);
  }

  private stagingPath(id: string): string {
    return this.finalPath(id) + STAGING_SUFFIX;
  }

  /** Derived files sit in `<id>.derived/` beside their file: no listing or sweep mistakes them for one. */
  private derivedDir(id: string): string {
    return this.finalPath(id) + DERIVED_SUFFIX;
  }

  async create(): Promise<StagedFile> {
    const id = crypto.randomBytes(16).toString('hex');
    await fs.promises.mkdir(path.dirname(this.finalPath(id)), { recursive: true, mode: 0o700 });
    return { id, stagingPath: this.stagingPath(id) };
  }

  async commit(id: string): Promise<void> {
    const staging = this.stagingPath(id);
    const handle = await fs.promises.open(staging, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    const target = this.finalPath(id);
    await fs.promises.rename(staging, target);
    const folder = await fs.promises.open(path.dirname(target), 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  }

  async open(id: string): Promise<Readable> {
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(this.finalPath(id), 'r');
    } catch (err) {
      if (isMissing(err)) throw notFound({ zh: '文件不存在', en: 'No such file' });
      throw err;
    }
    return handle.createReadStream();
  }

  async stat(id: string): Promise<StoredFileStat | undefined> {
    try {
      const s = await fs.promises.stat(this.finalPath(id));
      return { size: s.size, modifiedAt: s.mtime };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async remove(id: string): Promise<void> {
    // Derived files first: a crash in between leaves the file itself, which the orphan sweep removes again.
    await fs.promises.rm(this.derivedDir(id), { recursive: true, force: true });
    await unlinkIfPresent(this.finalPath(id));
    await unlinkIfPresent(this.stagingPath(id));
  }

  async writeDerived(id: string, name: string, bytes: Buffer): Promise<void> {
    if (!(await this.stat(id))) throw notFound({ zh: '文件不存在', en: 'No such file' });
    const dir = this.derivedDir(id);
    const target = path.join(dir, checkDerivedName(name));
    await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
    // Written aside and renamed: a reader sees the old bytes or the new, never half of them.
    const temp = `${target}.${crypto.randomBytes(6).toString('hex')}${STAGING_SUFFIX}`;
    try {
      await fs.promises.writeFile(temp, bytes, { flag: 'wx', mode: 0o600 });
      await fs.promises.rename(temp, target);
    } catch (err) {
      await unlinkIfPresent(temp);
      throw err;
    }
  }

  async readDerived(id: string, name: string): Promise<Buffer | undefined> {
    try {
      return await fs.promises.readFile(path.join(this.derivedDir(id), checkDerivedName(name)));
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async *list(): AsyncIterable<string> {
    for (const { shard, name } of await this.entries()) {
      if (ID.test(name) && name.startsWith(shard)) yield name;
    }
  }

  async sweepStaging(olderThan: Date): Promise<string[]> {
    const removed: string[] = [];
    for (const { shard, name } of await this.entries()) {
      const owner = name.slice(0, -DERIVED_SUFFIX.length);
      if (name.endsWith(DERIVED_SUFFIX) && ID.test(owner) && owner.startsWith(shard)) {
        // A render that finished just as its file was removed can leave derived files behind.
        if (!(await this.stat(owner))) await fs.promises.rm(this.derivedDir(owner), { recursive: true, force: true });
        continue;
      }
      const id = name.slice(0, -STAGING_SUFFIX.length);
      if (!name.endsWith(STAGING_SUFFIX) || !ID.test(id) || !id.startsWith(shard)) continue;
      const s = await fs.promises.stat(this.stagingPath(id)).catch((err: unknown) => {
        if (isMissing(err)) return undefined;
        throw err;
      });
      if (s && s.mtime < olderThan) {
        await unlinkIfPresent(this.stagingPath(id));
        removed.push(id);
      }
    }
    return removed;
  }

  private async entries(): Promise<Array<{ shard: string; name: string }>> {
    let shards: string[];
    try {
      shards = await fs.promises.readdir(this.dir);
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
    const found: Array<{ shard: string; name: string }> = [];
    for (const shard of shards.filter((s) => SHARD.test(s)).sort()) {
      for (const name of (await fs.promises.readdir(path.join(this.dir, shard))).sort()) found.push({ shard, name });
    }
    return found;
  }
}

/** What the upload engine learnt while streaming, in one pass over the bytes. */
export interface ReceivedUpload {
  id: string;
  stagingPath: string;
  size: number;
  sha256: string;
  /** The first bytes, enough for `sniff`. */
  head: Buffer;
  /** The client's name, for the extension check and the download header only. */
  originalName: string;
}

interface EngineFileInfo {
  /** multer's name for the file's name inside its destination; here the store id. */
  filename: string;
  path: string;
  size: number;
  sha256: string;
  head: Buffer;
}

/** The upload a multer request handled by `uploadEngine` received (req.file / req.files entries). */
export function receivedUpload(file: Express.Multer.File): ReceivedUpload {
  const info = file as Express.Multer.File & Partial<EngineFileInfo>;
  if (typeof info.sha256 !== 'string' || !Buffer.isBuffer(info.head) || !ID.test(info.filename ?? '')) {
    throw new Error('receivedUpload: this file was not stored by uploadEngine');
  }
  return {
    id: info.filename,
    stagingPath: info.path,
    size: info.size,
    sha256: info.sha256,
    head: info.head,
    originalName: info.originalname,
  };
}

/**
 * A multer storage engine that streams each file into a staging file of the store while hashing
 * it, counting it and keeping its first bytes. Limits stay multer's; the route decides what to do
 * with the staged file (sniff, scan, commit or remove).
 *
 * A custom engine rather than diskStorage plus a second read: diskStorage would need a second pass
 * over every file for the hash, and its file name would be ours to invent anyway.
 *
 * multer may ask to remove a file while we are still writing it (an aborted request removes every
 * pending file that has a `path`); the write would then finish, or create the staging file after the
 * removal, and leave it behind. So a removal marks the upload abandoned, and the engine removes the
 * staging file itself when the write settles.
 */
export function uploadEngine(store: FileStore): StorageEngine {
  const abandoned = new WeakSet<object>();

  return {
    _handleFile(_req: Request, file: Express.Multer.File, cb: (error?: unknown, info?: Partial<Express.Multer.File>) => void) {
      receive(store, file, () => abandoned.has(file)).then(
        (info) => cb(null, info as Partial<Express.Multer.File>),
        (err: unknown) => cb(err),
      );
    },
    _removeFile(_req: Request, file: Express.Multer.File, cb: (error: Error | null) => void) {
      abandoned.add(file);
      const id = file.filename;
      if (!id || !ID.test(id)) {
        cb(null);
        return;
      }
      store.remove(id).then(
        () => cb(null),
        (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
      );
    },
  };
}

async function receive(store: FileStore, file: Express.Multer.File, isAbandoned: () => boolean): Promise<EngineFileInfo> {
  const { id, stagingPath } = await store.create();
  // Set before the first byte so that multer's abort cleanup (which looks for `path`) finds it.
  file.filename = id;
  file.path = stagingPath;
  const hash = crypto.createHash('sha256');
  const headChunks: Buffer[] = [];
  let headLength = 0;
  let size = 0;
  try {
    await pipeline(
      file.stream,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk);
          size += chunk.length;
          if (headLength < SNIFF_BYTES) {
            headChunks.push(chunk.subarray(0, SNIFF_BYTES - headLength));
            headLength += Math.min(chunk.length, SNIFF_BYTES - headLength);
          }
          yield chunk;
        }
      },
      fs.createWriteStream(stagingPath, { flags: 'wx', mode: 0o600 }),
    );
    if (isAbandoned()) throw new Error('the upload was abandoned while it was being written');
  } catch (err) {
    await store.remove(id);
    throw err;
  }
  return { filename: id, path: stagingPath, size, sha256: hash.digest('hex'), head: Buffer.concat(headChunks) };
}
