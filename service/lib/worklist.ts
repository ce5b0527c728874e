import type { Model, Types } from 'mongoose';
import sift from 'sift';
import { jurisdictionFilter, overlapsJurisdiction } from './access';
import type { Principal } from './auth';
import { addKey, backfillKeys, findByKey, keyValues, pruneKey, type KeyDoc } from './keyindex';
import { chinaDate } from './workdays';

/**
 * Worklists: open work kept apart from history, in key documents (keyindex.ts), so that an
 * officer's inbox reads a few small documents by `_id` and then the open items themselves by `_id`,
 * never the whole collection (which the embedded database decodes for any other filter).
 *
 * Per township (the first 9 digits of the item's division), four kinds of key:
 * - `<name>-townships:all`: the townships that have items at all (which lists exist);
 * - `<name>-open:<township>`: the open items;
 * - `<name>-months:<township>`: the China months in which items of the township went to history;
 * - `<name>-done:<township>:<YYYY-MM>`: the items that went to history that month.
 *
 * Moves are crash-safe without transactions: an item is put on its new list before its document
 * changes, and taken off the open list after; every read checks each document in memory (still
 * open, or done in that very month, in that township, in the caller's jurisdiction), so an id left
 * behind on a list finds nothing. Open lists drop such ids when read; `backfillWorklist` adds the
 * missing ones (data stored before the lists, or a key lost) from one scan.
 */
type Keys = { KeyIndex: Model<KeyDoc> };

export interface WorkItem {
  _id: Types.ObjectId;
  division: string;
}

export interface Worklist<T extends WorkItem> {
  /** The prefix of the key kinds, e.g. `complaint`. */
  name: string;
  model: Model<T>;
  isOpen(doc: T): boolean;
  /** When the item went to history (null while it is open): its month bucket, and the history's order. */
  doneAt(doc: T): Date | null;
}

export interface Page<T> {
  items: T[];
  /** The `before` of the next page (null: this is the last). */
  next: string | null;
}

const ALL = 'all';
const kinds = (name: string) => ({ townships: `${name}-townships`, open: `${name}-open`, months: `${name}-months`, done: `${name}-done` });

/** The township an item is listed under; `-` for a division that names none. */
export const townshipOf = (division: string): string => (/^\d{9}/.test(division) ? division.slice(0, 9) : '-');
/** The China calendar month of an instant, e.g. `2025-10`. */
export const monthOf = (at: Date): string => chinaDate(at).slice(0, 7);

/** Puts a new open item on its township's list: before the item is written. */
export async function enlist(models: Keys, name: string, division: string, id: Types.ObjectId): Promise<void> {
  const k = kinds(name);
  const township = townshipOf(division);
  await addKey(models, k.townships, ALL, township);
  await addKey(models, k.open, township, id);
}

/** Puts an item into the history of the month of `at`: before its document says it is done (at `at`). */
export async function enterHistory(models: Keys, name: string, division: string, id: Types.ObjectId, at: Date): Promise<void> {
  const k = kinds(name);
  const township = townshipOf(division);
  const month = monthOf(at);
  await addKey(models, k.townships, ALL, township);
  await addKey(models, k.months, township, month);
  await addKey(models, k.done, `${township}:${month}`, id);
}

/** Takes an item off its open list: after its document says it is done. */
export async function leaveOpen(models: Keys, name: string, division: string, id: Types.ObjectId): Promise<void> {
  await pruneKey(models, kinds(name).open, townshipOf(division), [id]);
}

async function townshipsFor(models: Keys, name: string, p: Principal): Promise<string[]> {
  return (await keyValues(models, kinds(name).townships, ALL)).filter((t) => overlapsJurisdiction(p, t));
}

/** The open items in the caller's jurisdiction matching `filter` (checked in memory), in `order`. */
export async function openItems<T extends WorkItem>(models: Keys, list: Worklist<T>, p: Principal, filter: Record<string, unknown>, order: (a: T, b: T) => number): Promise<T[]> {
  const k = kinds(list.name);
  const matches = sift({ $and: [filter, jurisdictionFilter(p)] });
  const found: T[] = [];
  for (const township of await townshipsFor(models, list.name, p)) {
    const docs = await findByKey<T>(models, list.model, k.open, township, {});
    // Done, but a crash came before it left the list: it leaves now.
    const moved = docs.filter((d) => !list.isOpen(d));
    if (moved.length) await pruneKey(models, k.open, township, moved.map((d) => d._id));
    found.push(...docs.filter((d) => list.isOpen(d) && townshipOf(d.division) === township && matches(d)));
  }
  return found.sort(order);
}

const CURSOR = /^(\d{1,15})-([0-9a-f]{24})$/;
/** The pattern a `before` cursor has (for the request schemas). */
export const CURSOR_PATTERN = CURSOR.source;

/**
 * A page of the history in the caller's jurisdiction, newest first (by `doneAt`, then `_id`), from
 * the month buckets: it reads the months' lists, then the buckets from the cursor's month back,
 * until the page is full. A page reads its items and at most one month's more.
 */
export async function historyPage<T extends WorkItem>(
  models: Keys,
  list: Worklist<T>,
  p: Principal,
  filter: Record<string, unknown>,
  q: { limit: number; before?: string },
): Promise<Page<T>> {
  const k = kinds(list.name);
  const cursor = q.before ? CURSOR.exec(q.before) : null;
  const before = cursor ? { at: Number(cursor[1]), id: cursor[2]! } : null;
  const matches = sift({ $and: [filter, jurisdictionFilter(p)] });
  const at = (d: T): number => list.doneAt(d)?.getTime() ?? 0;
  const newestFirst = (a: T, b: T): number => at(b) - at(a) || b._id.toString().localeCompare(a._id.toString());
  const older = (d: T): boolean => !before || at(d) < before.at || (at(d) === before.at && d._id.toString() < before.id);

  const townshipsByMonth = new Map<string, string[]>();
  for (const township of await townshipsFor(models, list.name, p)) {
    for (const month of await keyValues(models, k.months, township)) townshipsByMonth.set(month, [...(townshipsByMonth.get(month) ?? []), township]);
  }
  const last = before ? monthOf(new Date(before.at)) : null;
  const months = [...townshipsByMonth.keys()].filter((m) => !last || m <= last).sort().reverse();
  const items: T[] = [];
  for (const month of months) {
    const inMonth: T[] = [];
    for (const township of townshipsByMonth.get(month)!) {
      const docs = await findByKey<T>(models, list.model, k.done, `${township}:${month}`, {});
      inMonth.push(
        ...docs.filter((d) => {
          const done = list.doneAt(d);
          return !list.isOpen(d) && done !== null && monthOf(done) === month && townshipOf(d.division) === township && matches(d) && older(d);
        }),
      );
    }
    items.push(...inMonth.sort(newestFirst));
    if (items.length > q.limit) break;
  }
  const page = items.slice(0, q.limit);
  const end = page.at(-1);
  return { items: page, next: items.length > q.limit && end ? `${at(end)}-${end._id.toString()}` : null };
}

/** Adds the list entries missing for `docs` (one scan of the collection, read by the caller). */
export async function backfillWorklist<T extends WorkItem>(models: Keys, list: Worklist<T>, docs: T[]): Promise<number> {
  const k = kinds(list.name);
  const townships: [string, string][] = [];
  const open: [string, Types.ObjectId][] = [];
  const months: [string, string][] = [];
  const done: [string, Types.ObjectId][] = [];
  for (const d of docs) {
    const township = townshipOf(d.division);
    const at = list.doneAt(d);
    if (list.isOpen(d)) {
      townships.push([ALL, township]);
      open.push([township, d._id]);
    } else if (at) {
      townships.push([ALL, township]);
      months.push([township, monthOf(at)]);
      done.push([`${township}:${monthOf(at)}`, d._id]);
    }
  }
  const unique = <V>(entries: [string, V][]): [string, V][] => [...new Map(entries.map((e) => [`${e[0]}\u0000${String(e[1])}`, e])).values()];
  return (
    (await backfillKeys(models, k.townships, unique(townships))) +
    (await backfillKeys(models, k.months, unique(months))) +
    (await backfillKeys(models, k.open, open)) +
    (await backfillKeys(models, k.done, done))
  );
}
