import { Types, type Connection, type Model, type Query, type Schema } from 'mongoose';
import { maskName } from '../lib/idnumber';
import { chinaDate, type IsoDate } from '../lib/workdays';
import type { StatsBucketDoc, StatsFactHomeDoc, StatsModels } from './stats.model';

/**
 * What the statistics, the dashboard and the register read: slim facts in period buckets, fetched by
 * `_id` only (issue 15). The embedded database (FerretDB over SQLite) decodes the whole collection
 * for any filter but `{_id}`, so counting the applications of a period by their dates costs the
 * county's whole history; reading the buckets of the period's months costs the period's volume.
 *
 * - A month bucket (`<YYYY-MM>:<township>`, China calendar month, township = first 9 digits of the
 *   division) holds, under its id and as one JSON string (`encodeFact`), the fact of every application with an event in that month
 *   (submitted, returned, a stage decided, finally decided, withdrawn), every complaint and rating
 *   made in it, and every certificate issued, revoked or running out in it. A fact is the same in
 *   every bucket holding it; a reader dedupes by id and filters by the fact's own dates, exactly as
 *   the old queries filtered the documents.
 * - An open bucket (`open:<township>`) holds the applications pending or in review (backlog,
 *   overdue) and the unanswered complaints.
 * - A directory (`townships:<YYYY-MM>`, `townships:open`) lists the townships having such a bucket,
 *   written before the bucket, so a reader asks only for buckets that exist.
 *
 * Written after every write: the application model's post hook (every write pinning an `_id`, and
 * `save`), and the complaint, rating and certificate models' hooks, one id at a time in this process
 * (each sync reads the document afresh, so the last write reflects the last state). An application's
 * fact home (`stats_fact_homes`) remembers what was written where: a claim or a history line changes
 * no fact and costs one small read; a fact leaving a month is removed from it. A sync that failed is
 * retried minutely; a crash between a write and its sync leaves a bucket stale, which
 * `rebuildStatsBuckets` (start-up after an unclean stop; the bench after bulk seeding) repairs with
 * one scan of each source, compared in memory.
 *
 * This module imports no model file (the model files import it for their hooks): the documents it
 * reads are described by the few fields it needs.
 */

/* ---------- facts ---------- */

export type FactState = 'open' | 'returned' | 'approved' | 'rejected' | 'withdrawn';

export interface StageFact {
  decidedAt: Date;
  committed?: IsoDate;
  statutory?: IsoDate;
}

/** An application, as the statistics and the register read it. */
export interface ApplicationFact {
  type: string;
  channel: string;
  division: string;
  /** pending and in review are one state here: a claim changes no figure. */
  state: FactState;
  /** The stage the application is at (for a final decision: the one that decided). */
  level?: string;
  submittedAt: Date;
  decidedAt?: Date;
  returnedAt?: Date;
  withdrawnAt?: Date;
  pausedWorkingDays: number;
  /** The stages decided so far, with the deadlines they were held to. */
  stages: StageFact[];
  number?: string;
  decidedBy?: string;
  reason?: string;
  nameMasked?: string;
  idMasked?: string;
  certificateSerial?: string;
}

/** An application pending or in review: the backlog and what is overdue now. */
export interface OpenFact {
  type: string;
  division: string;
  committed?: IsoDate;
  statutory?: IsoDate;
}

export interface ComplaintFact {
  type: string;
  division: string;
  createdAt: Date;
  answered: boolean;
  answeredOnTime: boolean;
}

export interface OpenComplaintFact {
  type: string;
  division: string;
  responseDeadline: IsoDate;
}

export interface RatingFact {
  type: string;
  division: string;
  createdAt: Date;
  score: number;
  followUp: string | null;
  onTime: boolean | null;
}

export interface CertificateFact {
  type: string;
  issuerDivision: string;
  issuedAt: Date;
  status: string;
  revokedAt?: Date;
  validUntil?: Date;
}

/** The fields of the sources a fact is made of. */
interface StageSource {
  decidedAt?: Date;
  committedDeadline?: string;
  statutoryDeadline?: string;
}
export interface ApplicationSource {
  _id: Types.ObjectId;
  type: string;
  status: string;
  channel: string;
  division?: string;
  queueLevel?: string;
  submittedAt?: Date;
  decidedAt?: Date;
  returnedAt?: Date;
  updatedAt: Date;
  pausedWorkingDays?: number;
  stages?: StageSource[];
  stageIndex?: number;
  number?: string;
  decision?: { by?: { name?: string }; reason?: string } | null;
  resident?: { nameMasked?: string; name?: string; idMasked?: string };
  certificateSerial?: string;
}
export const APPLICATION_FACT_FIELDS = {
  _id: 1, type: 1, status: 1, channel: 1, division: 1, queueLevel: 1, submittedAt: 1, decidedAt: 1, returnedAt: 1, updatedAt: 1, pausedWorkingDays: 1,
  stages: 1, stageIndex: 1, number: 1, decision: 1, 'resident.nameMasked': 1, 'resident.name': 1, 'resident.idMasked': 1, certificateSerial: 1,
} as const;

interface ComplaintSource {
  _id: Types.ObjectId;
  type: string;
  division?: string;
  status: string;
  createdAt: Date;
  responseDeadline: string;
  answeredAt?: Date | null;
  answeredOnTime?: boolean | null;
}
interface RatingSource {
  _id: Types.ObjectId;
  type: string;
  division?: string;
  score: number;
  createdAt: Date;
  followUp?: { status?: string; onTime?: boolean } | null;
}
interface CertificateSource {
  _id: Types.ObjectId;
  type: string;
  issuerDivision?: string;
  issuedAt: Date;
  status: string;
  revokedAt?: Date | null;
  validUntil?: Date | null;
}

/** Without the keys whose value is undefined (the stored copy has none, and the two must compare equal). */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const date = (d: Date | string | undefined | null): Date | undefined => (d ? new Date(d) : undefined);
export const monthOf = (d: Date): string => chinaDate(d).slice(0, 7);
/** The township part of a division code (first 9 digits); '-' when there is none. */
export const townshipOf = (division: string | undefined | null): string => (division ?? '').slice(0, 9) || '-';
const bucketId = (month: string, township: string): string => `${month}:${township}`;
const openId = (township: string): string => `open:${township}`;
const directoryId = (month: string): string => `townships:${month}`;
const OPEN_DIRECTORY = 'townships:open';

const STATES: Record<string, FactState | undefined> = { pending: 'open', in_review: 'open', returned: 'returned', approved: 'approved', rejected: 'rejected', withdrawn: 'withdrawn' };

export function applicationFact(app: ApplicationSource): ApplicationFact | null {
  const state = STATES[app.status];
  if (!app.submittedAt || !state) return null;
  const stages = (app.stages ?? [])
    .filter((s) => s.decidedAt)
    .map((s) => compact({ decidedAt: new Date(s.decidedAt!), committed: s.committedDeadline, statutory: s.statutoryDeadline }));
  const resident = app.resident ?? {};
  return compact({
    type: app.type,
    channel: app.channel,
    division: app.division ?? '',
    state,
    level: app.queueLevel,
    submittedAt: new Date(app.submittedAt),
    decidedAt: date(app.decidedAt),
    returnedAt: date(app.returnedAt),
    // A withdrawn application changes no further: its last change is the withdrawal.
    withdrawnAt: state === 'withdrawn' ? new Date(app.updatedAt) : undefined,
    pausedWorkingDays: app.pausedWorkingDays ?? 0,
    stages,
    number: app.number,
    decidedBy: app.decision?.by?.name,
    reason: app.decision?.reason,
    nameMasked: resident.nameMasked ?? (resident.name ? maskName(resident.name) : undefined),
    idMasked: resident.idMasked,
    certificateSerial: app.certificateSerial,
  });
}

export function openFact(app: ApplicationSource): OpenFact | null {
  if (!app.submittedAt || STATES[app.status] !== 'open') return null;
  const stage = app.stages?.[app.stageIndex ?? 0];
  return compact({ type: app.type, division: app.division ?? '', committed: stage?.committedDeadline, statutory: stage?.statutoryDeadline });
}

/** The months whose buckets hold the fact: those of its events. */
function monthsOf(f: ApplicationFact): string[] {
  return [...new Set(applicationEvents(f).map(monthOf))].sort();
}

/**
 * The dates of a fact's events: the months whose buckets hold it, and every date a period's figures
 * count it by (stats.service.ts); a complaint's and a rating's one event is `createdAt`.
 */
const dates = (ds: (Date | undefined)[]): Date[] => ds.filter((d): d is Date => !!d);
export const applicationEvents = (f: ApplicationFact): Date[] => dates([f.submittedAt, f.decidedAt, f.returnedAt, f.withdrawnAt, ...f.stages.map((s) => s.decidedAt)]);
export const certificateEvents = (f: CertificateFact): Date[] => dates([f.issuedAt, f.revokedAt, f.validUntil]);

interface Plan {
  buckets: string[];
  fact: ApplicationFact | null;
  open: string | null;
  openFact: OpenFact | null;
}
const EMPTY: Plan = { buckets: [], fact: null, open: null, openFact: null };

export function planOf(app: ApplicationSource | null): Plan {
  if (!app) return EMPTY;
  const fact = applicationFact(app);
  const open = openFact(app);
  const township = townshipOf(app.division);
  return { buckets: fact ? monthsOf(fact).map((m) => bucketId(m, township)) : [], fact, open: open ? openId(township) : null, openFact: open };
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

function complaintFacts(c: ComplaintSource): { month: string; fact: ComplaintFact; open: OpenComplaintFact | null } {
  const division = c.division ?? '';
  return {
    month: monthOf(new Date(c.createdAt)),
    fact: { type: c.type, division, createdAt: new Date(c.createdAt), answered: c.answeredAt !== null && c.answeredAt !== undefined, answeredOnTime: c.answeredOnTime === true },
    open: c.status === 'open' ? { type: c.type, division, responseDeadline: c.responseDeadline } : null,
  };
}

function ratingFact(r: RatingSource): { month: string; fact: RatingFact } {
  return {
    month: monthOf(new Date(r.createdAt)),
    fact: { type: r.type, division: r.division ?? '', createdAt: new Date(r.createdAt), score: r.score, followUp: r.followUp?.status ?? null, onTime: r.followUp?.onTime ?? null },
  };
}

function certificateFact(c: CertificateSource): { months: string[]; fact: CertificateFact } {
  const fact = compact({ type: c.type, issuerDivision: c.issuerDivision ?? '', issuedAt: new Date(c.issuedAt), status: c.status, revokedAt: date(c.revokedAt), validUntil: date(c.validUntil) });
  return { months: [...new Set(certificateEvents(fact).map(monthOf))], fact };
}

/* ---------- writing ---------- */

/** A source collection's model (this module reads the few fields it names). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any source model fits
type SourceModel = Model<any>;

type Section = 'applications' | 'complaints' | 'ratings' | 'certificates';

/** Registers townships in the directories of their buckets (before the buckets are written). */
async function register(models: StatsModels, ids: string[]): Promise<void> {
  const byDirectory = new Map<string, Set<string>>();
  for (const id of ids) {
    const open = id.startsWith('open:');
    const dir = open ? OPEN_DIRECTORY : directoryId(id.slice(0, 7));
    const township = open ? id.slice(5) : id.slice(8);
    (byDirectory.get(dir) ?? byDirectory.set(dir, new Set()).get(dir)!).add(township);
  }
  for (const [dir, codes] of byDirectory) await upsert(models, dir, { $addToSet: { codes: { $each: [...codes] } } });
}

async function upsert(models: StatsModels, id: string, update: Record<string, unknown>): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await models.StatsBucket.updateOne({ _id: id }, update, { upsert: true });
      return;
    } catch (err) {
      // Two first-ever upserts of one bucket race on its _id; the loser simply writes again.
      if ((err as { code?: number }).code !== 11000 || attempt >= 3) throw err;
    }
  }
}

/**
 * A fact is stored in its bucket as one JSON string, not as a subdocument: FerretDB decodes a document
 * field by field, and a fact of fifteen fields costs it about three times what the same fact as one
 * string costs (measured: a bucket of 750 facts read in 141 ms as subdocuments, 46 ms as strings).
 * Dates come back as Date objects (by field name).
 */
const DATE_FIELDS = ['submittedAt', 'decidedAt', 'returnedAt', 'withdrawnAt', 'createdAt', 'issuedAt', 'revokedAt', 'validUntil'] as const;
export const encodeFact = (fact: unknown): string => JSON.stringify(fact);
export function decodeFact<T>(stored: unknown): T {
  if (typeof stored !== 'string') return stored as T; // a bucket written before facts were strings (rebuilt at the next start)
  // The dates set afterwards, not by a JSON.parse reviver: a reviver called on every value costs three times as much.
  const fact = JSON.parse(stored) as Record<string, unknown> & { stages?: { decidedAt?: unknown }[] };
  for (const k of DATE_FIELDS) if (typeof fact[k] === 'string') fact[k] = new Date(fact[k]);
  for (const stage of fact.stages ?? []) if (typeof stage.decidedAt === 'string') stage.decidedAt = new Date(stage.decidedAt);
  return fact as T;
}

const put = (models: StatsModels, bucket: string, section: Section, id: string, fact: unknown) => upsert(models, bucket, { $set: { [`${section}.${id}`]: encodeFact(fact) } });
const drop = (models: StatsModels, bucket: string, section: Section, id: string) => models.StatsBucket.updateOne({ _id: bucket }, { $unset: { [`${section}.${id}`]: '' } });

/** Brings the buckets from what the home says was written (`have`) to what the application needs (`want`). */
async function applyPlan(models: StatsModels, id: Types.ObjectId, have: Plan, want: Plan): Promise<void> {
  const key = id.toString();
  const added = want.buckets.filter((b) => !have.buckets.includes(b));
  const newOpen = want.open && want.open !== have.open ? [want.open] : [];
  if (added.length || newOpen.length) await register(models, [...added, ...newOpen]);
  const factChanged = !same(have.fact, want.fact);
  for (const b of want.buckets) if (factChanged || added.includes(b)) await put(models, b, 'applications', key, want.fact);
  for (const b of have.buckets) if (!want.buckets.includes(b)) await drop(models, b, 'applications', key);
  if (want.open && (want.open !== have.open || !same(have.openFact, want.openFact))) await put(models, want.open, 'applications', key, want.openFact);
  if (have.open && have.open !== want.open) await drop(models, have.open, 'applications', key);
  if (want.fact || want.open) await models.StatsFactHome.replaceOne({ _id: id }, { _id: id, ...want }, { upsert: true });
  else if (have.fact || have.open) await models.StatsFactHome.deleteOne({ _id: id });
}

const homePlan = (home: StatsFactHomeDoc | null): Plan =>
  home ? { buckets: home.buckets ?? [], fact: (home.fact as ApplicationFact) ?? null, open: home.open ?? null, openFact: (home.openFact as OpenFact) ?? null } : EMPTY;

/** One id's syncs run one after another in this process; a failed one is retried by the minutely housekeeping. */
const inFlight = new Map<string, Promise<void>>();
const failed = new Map<string, () => Promise<void>>();

function serialised(key: string, work: () => Promise<void>): Promise<void> {
  const run = (inFlight.get(key) ?? Promise.resolve()).then(async () => {
    try {
      await work();
      failed.delete(key);
    } catch {
      failed.set(key, () => serialised(key, work));
    }
  });
  inFlight.set(key, run);
  void run.then(() => {
    if (inFlight.get(key) === run) inFlight.delete(key);
  });
  return run;
}

export async function retryFailedStatsSyncs(): Promise<void> {
  for (const retry of [...failed.values()]) await retry();
}

/** The statistics' models on a connection, when they are registered there (every service connection). */
export function statsModelsOf(conn: Connection): StatsModels | undefined {
  const { StatsBucket, StatsFactHome } = conn.models as Partial<StatsModels>;
  return StatsBucket && StatsFactHome ? { StatsBucket, StatsFactHome } : undefined;
}

/** Makes the application's facts match the application as stored now (the application model's hook). */
export function syncApplicationFacts(models: StatsModels & { Application: SourceModel }, id: Types.ObjectId): Promise<void> {
  return serialised(`a:${id.toString()}`, async () => {
    const app = await models.Application.findById(id, APPLICATION_FACT_FIELDS).lean<ApplicationSource>();
    const want = planOf(app);
    const have = homePlan(await models.StatsFactHome.findById(id).lean<StatsFactHomeDoc>());
    if (same(have, want)) return;
    await applyPlan(models, id, have, want);
  });
}

/** A complaint's fact in the month it was filed, and in its township's open bucket while unanswered. */
/**
 * Keeps a model's facts in the period buckets in step with its documents: after a document is saved,
 * and after every write that pins its `_id` (the hooks the complaint, rating and certificate models add).
 */
export function factsFollow(schema: Schema, sync: (models: StatsModels, model: SourceModel, id: Types.ObjectId) => Promise<void>): void {
  schema.post('save', async (doc: { _id: Types.ObjectId; constructor: SourceModel }) => {
    const stats = statsModelsOf(doc.constructor.db);
    if (stats) await sync(stats, doc.constructor, doc._id);
  });
  schema.post(['findOneAndUpdate', 'updateOne'], async function (this: Query<unknown, unknown>, res: unknown) {
    const id = (this.getFilter() as { _id?: unknown })._id;
    if (!(id instanceof Types.ObjectId) || res === null) return;
    const stats = statsModelsOf(this.model.db);
    if (stats) await sync(stats, this.model, id);
  });
}

export function syncComplaintFacts(models: StatsModels & { Complaint: SourceModel }, id: Types.ObjectId): Promise<void> {
  return serialised(`c:${id.toString()}`, async () => {
    const c = await models.Complaint.findById(id).lean<ComplaintSource>();
    if (!c) return;
    const { month, fact, open } = complaintFacts(c);
    const township = townshipOf(c.division);
    const bucket = bucketId(month, township);
    await register(models, open ? [bucket, openId(township)] : [bucket]);
    await put(models, bucket, 'complaints', id.toString(), fact);
    if (open) await put(models, openId(township), 'complaints', id.toString(), open);
    else await drop(models, openId(township), 'complaints', id.toString());
  });
}

export function syncRatingFacts(models: StatsModels & { Rating: SourceModel }, id: Types.ObjectId): Promise<void> {
  return serialised(`r:${id.toString()}`, async () => {
    const r = await models.Rating.findById(id).lean<RatingSource>();
    if (!r) return;
    const { month, fact } = ratingFact(r);
    const bucket = bucketId(month, townshipOf(r.division));
    await register(models, [bucket]);
    await put(models, bucket, 'ratings', id.toString(), fact);
  });
}

/** A certificate's fact in the months it was issued, revoked and runs out (its months only grow: nothing to remove). */
export function syncCertificateFacts(models: StatsModels & { Certificate: SourceModel }, id: Types.ObjectId): Promise<void> {
  return serialised(`x:${id.toString()}`, async () => {
    const c = await models.Certificate.findById(id).lean<CertificateSource>();
    if (!c) return;
    const { months, fact } = certificateFact(c);
    const buckets = months.map((m) => bucketId(m, townshipOf(c.issuerDivision)));
    await register(models, buckets);
    for (const b of buckets) await put(models, b, 'certificates', id.toString(), fact);
  });
}

/* ---------- reading (by _id only) ---------- */

export interface PeriodFacts {
  applications: Map<string, ApplicationFact>;
  complaints: Map<string, ComplaintFact>;
  ratings: Map<string, RatingFact>;
  certificates: Map<string, CertificateFact>;
}

export interface OpenFacts {
  applications: Map<string, OpenFact>;
  complaints: Map<string, OpenComplaintFact>;
}

/** The China calendar months from `from` to `to` (dates), both included. */
export function monthsBetween(from: IsoDate, to: IsoDate): string[] {
  const months: string[] = [];
  let [y, m] = [Number(from.slice(0, 4)), Number(from.slice(5, 7))];
  const last = to.slice(0, 7);
  for (;;) {
    const month = `${y}-${String(m).padStart(2, '0')}`;
    if (month > last) return months;
    months.push(month);
    m += 1;
    if (m > 12) [y, m] = [y + 1, 1];
  }
}

/** Reads documents by `_id`, a few at a time (enough to overlap the round trips). */
async function byIds(models: StatsModels, ids: string[]): Promise<StatsBucketDoc[]> {
  const out: StatsBucketDoc[] = [];
  for (let i = 0; i < ids.length; i += 8) {
    const docs = await Promise.all(ids.slice(i, i + 8).map((id) => models.StatsBucket.findById(id).lean<StatsBucketDoc>()));
    for (const d of docs) if (d) out.push(d);
  }
  return out;
}

const entries = <T>(section: Record<string, unknown> | undefined): [string, T][] => Object.entries(section ?? {}).map(([id, stored]) => [id, decodeFact<T>(stored)]);

/**
 * The facts of the months from `from` to `to`, for the townships `wanted` says (a superset of what
 * the caller may see: the figures filter each fact by its division). Later months' copies win.
 */
export async function readPeriodFacts(models: StatsModels, from: IsoDate, to: IsoDate, wanted: (township: string) => boolean): Promise<PeriodFacts> {
  const months = monthsBetween(from, to);
  const directories = await byIds(models, months.map(directoryId));
  const ids = directories.flatMap((d) => (d.codes ?? []).filter(wanted).map((t) => bucketId(d._id.slice('townships:'.length), t))).sort();
  const facts: PeriodFacts = { applications: new Map(), complaints: new Map(), ratings: new Map(), certificates: new Map() };
  for (const bucket of await byIds(models, ids)) {
    for (const [id, f] of entries<ApplicationFact>(bucket.applications)) facts.applications.set(id, f);
    for (const [id, f] of entries<ComplaintFact>(bucket.complaints)) facts.complaints.set(id, f);
    for (const [id, f] of entries<RatingFact>(bucket.ratings)) facts.ratings.set(id, f);
    for (const [id, f] of entries<CertificateFact>(bucket.certificates)) facts.certificates.set(id, f);
  }
  return facts;
}

/** The open work of the townships `wanted` says. */
export async function readOpenFacts(models: StatsModels, wanted: (township: string) => boolean): Promise<OpenFacts> {
  const [directory] = await byIds(models, [OPEN_DIRECTORY]);
  const facts: OpenFacts = { applications: new Map(), complaints: new Map() };
  for (const bucket of await byIds(models, (directory?.codes ?? []).filter(wanted).map(openId))) {
    for (const [id, f] of entries<OpenFact>(bucket.applications)) facts.applications.set(id, f);
    for (const [id, f] of entries<OpenComplaintFact>(bucket.complaints)) facts.complaints.set(id, f);
  }
  return facts;
}

/**
 * Which townships' buckets may hold facts inside these jurisdiction prefixes (null: all): a
 * township inside a prefix, or containing one (a village-level jurisdiction).
 */
export function townshipSelector(prefixes: string[] | null): (township: string) => boolean {
  if (prefixes === null) return () => true;
  const codes = prefixes.map((j) => j.replace(/\D/g, '')).filter(Boolean);
  return (township) => township !== '-' && codes.some((j) => township.startsWith(j) || j.startsWith(township));
}

/* ---------- the repair ---------- */

interface Sources {
  Application: SourceModel;
  Complaint: SourceModel;
  Rating: SourceModel;
  Certificate: SourceModel;
}

/** Beyond this many differences in one bucket, the repair writes the bucket anew. */
const WHOLE_BUCKET = 20;

/**
 * Start-up repair, and the bench's after bulk seeding: one scan of applications, complaints, ratings
 * and certificates builds every bucket and fact home as it should be; one scan of the buckets and
 * homes finds the differences, and only those are written (a fact set or removed, a directory
 * entry added). Linear in the stored data, once; works on data written without any hook.
 */
export async function rebuildStatsBuckets(ctx: { models: StatsModels & Sources }): Promise<{ written: number; removed: number }> {
  const { models } = ctx;
  const want = new Map<string, Record<Section, Map<string, unknown>>>();
  const section = (bucket: string, s: Section): Map<string, unknown> => {
    let b = want.get(bucket);
    if (!b) want.set(bucket, (b = { applications: new Map(), complaints: new Map(), ratings: new Map(), certificates: new Map() }));
    return b[s];
  };
  const homes = new Map<string, Plan>();
  for await (const app of models.Application.find({}, APPLICATION_FACT_FIELDS).lean<ApplicationSource[]>().cursor() as AsyncIterable<ApplicationSource>) {
    const plan = planOf(app);
    if (!plan.fact && !plan.open) continue;
    const key = app._id.toString();
    homes.set(key, plan);
    for (const b of plan.buckets) section(b, 'applications').set(key, plan.fact);
    if (plan.open) section(plan.open, 'applications').set(key, plan.openFact);
  }
  for await (const c of models.Complaint.find({}).lean<ComplaintSource[]>().cursor() as AsyncIterable<ComplaintSource>) {
    const { month, fact, open } = complaintFacts(c);
    const township = townshipOf(c.division);
    section(bucketId(month, township), 'complaints').set(c._id.toString(), fact);
    if (open) section(openId(township), 'complaints').set(c._id.toString(), open);
  }
  for await (const r of models.Rating.find({}).lean<RatingSource[]>().cursor() as AsyncIterable<RatingSource>) {
    const { month, fact } = ratingFact(r);
    section(bucketId(month, townshipOf(r.division)), 'ratings').set(r._id.toString(), fact);
  }
  const certFields = { _id: 1, type: 1, issuerDivision: 1, issuedAt: 1, status: 1, revokedAt: 1, validUntil: 1 };
  for await (const c of models.Certificate.find({}, certFields).lean<CertificateSource[]>().cursor() as AsyncIterable<CertificateSource>) {
    const { months, fact } = certificateFact(c);
    for (const m of months) section(bucketId(m, townshipOf(c.issuerDivision)), 'certificates').set(c._id.toString(), fact);
  }

  const wantedIds = [...want.keys()];
  let written = 0;
  let removed = 0;
  const directories = new Map<string, Set<string>>();
  const fresh: StatsBucketDoc[] = [];
  const updates: [string, Record<string, unknown>][] = [];
  const rewrite = new Set<string>();
  for await (const doc of models.StatsBucket.find({}).lean<StatsBucketDoc[]>().cursor() as AsyncIterable<StatsBucketDoc>) {
    if (doc._id.startsWith('townships:')) {
      directories.set(doc._id, new Set(doc.codes ?? []));
      continue;
    }
    if (doc._id === BUILT) continue;
    const wanted = want.get(doc._id);
    want.delete(doc._id);
    const $set: Record<string, unknown> = {};
    const $unset: Record<string, ''> = {};
    for (const s of ['applications', 'complaints', 'ratings', 'certificates'] as const) {
      const have = (doc[s] ?? {}) as Record<string, unknown>;
      const should = wanted?.[s] ?? new Map<string, unknown>();
      const set = [...should].filter(([id, fact]) => have[id] !== encodeFact(fact));
      const unset = Object.keys(have).filter((id) => !should.has(id));
      written += set.length;
      removed += unset.length;
      for (const [id, fact] of set) $set[`${s}.${id}`] = encodeFact(fact);
      for (const id of unset) $unset[`${s}.${id}`] = '';
    }
    const changes = Object.keys($set).length + Object.keys($unset).length;
    // Many differences (data imported without hooks): the bucket is written anew, with the others in
    // one insert (on FerretDB an update of many paths costs tens of milliseconds, an insert one or two).
    if (changes > WHOLE_BUCKET) rewrite.add(doc._id);
    else if (changes) updates.push([doc._id, { ...(Object.keys($set).length ? { $set } : {}), ...(Object.keys($unset).length ? { $unset } : {}) }]);
    if (changes > WHOLE_BUCKET && wanted) want.set(doc._id, wanted);
  }
  // Written after the scan, not during it: on FerretDB a write waits while a cursor of the collection is open.
  for (const [id, update] of updates) await models.StatsBucket.updateOne({ _id: id }, update);
  for (const id of rewrite) await models.StatsBucket.deleteOne({ _id: id });
  for (const [id, sections] of want) {
    const doc: StatsBucketDoc = { _id: id };
    for (const s of ['applications', 'complaints', 'ratings', 'certificates'] as const) {
      if (sections[s].size) doc[s] = Object.fromEntries([...sections[s]].map(([id, fact]) => [id, encodeFact(fact)]));
      if (!rewrite.has(id)) written += sections[s].size;
    }
    fresh.push(doc);
  }
  // Directories before new buckets: a bucket is never there without its township listed (and a
  // lost directory entry of an existing bucket comes back).
  const missing = new Map<string, string[]>();
  for (const id of wantedIds) {
    const open = id.startsWith('open:');
    const dir = open ? OPEN_DIRECTORY : directoryId(id.slice(0, 7));
    const township = open ? id.slice(5) : id.slice(8);
    if (directories.get(dir)?.has(township)) continue;
    (directories.get(dir) ?? directories.set(dir, new Set()).get(dir)!).add(township);
    (missing.get(dir) ?? missing.set(dir, []).get(dir)!).push(township);
  }
  for (const [dir, codes] of missing) await upsert(models, dir, { $addToSet: { codes: { $each: codes } } });
  for (let i = 0; i < fresh.length; i += 50) await insertOrMerge(models, fresh.slice(i, i + 50));

  const homeFresh: StatsFactHomeDoc[] = [];
  const stale: Types.ObjectId[] = [];
  const changed: StatsFactHomeDoc[] = [];
  for await (const home of models.StatsFactHome.find({}).lean<StatsFactHomeDoc[]>().cursor() as AsyncIterable<StatsFactHomeDoc>) {
    const key = home._id.toString();
    const plan = homes.get(key);
    homes.delete(key);
    if (!plan) stale.push(home._id);
    else if (!same(homePlan(home), plan)) changed.push({ _id: home._id, ...plan });
  }
  for (const _id of stale) await models.StatsFactHome.deleteOne({ _id });
  for (const home of changed) await models.StatsFactHome.replaceOne({ _id: home._id }, home);
  for (const [key, plan] of homes) homeFresh.push({ _id: new Types.ObjectId(key), ...plan });
  for (let i = 0; i < homeFresh.length; i += 1_000) {
    await models.StatsFactHome.insertMany(homeFresh.slice(i, i + 1_000), { ordered: false }).catch((err: unknown) => {
      // A home a hook wrote meanwhile is the current one.
      if ((err as { code?: number }).code !== 11000 && !/E11000|duplicate key/.test(String(err))) throw err;
    });
  }
  await models.StatsBucket.replaceOne({ _id: BUILT }, { _id: BUILT, version: FACTS_VERSION }, { upsert: true });
  return { written, removed };
}

/**
 * The shape of the facts: raise it when a fact gains or changes a field, and the next start rebuilds
 * every bucket (`statsBucketsCurrent` says no).
 */
const FACTS_VERSION = 2; // 2: facts stored as JSON strings
const BUILT = 'meta:built';

/** Whether the buckets were built by a rebuild of this facts version (else a start-up must rebuild them, clean stop or not). */
export async function statsBucketsCurrent(ctx: { models: StatsModels }): Promise<boolean> {
  const built = await ctx.models.StatsBucket.findById(BUILT).lean<{ version?: number }>();
  return built?.version === FACTS_VERSION;
}

/** New buckets in one insert; one written meanwhile by a hook (duplicate `_id`) gets the facts set into it instead. */
async function insertOrMerge(models: StatsModels, docs: StatsBucketDoc[]): Promise<void> {
  try {
    await models.StatsBucket.insertMany(docs, { ordered: false });
  } catch (err) {
    if ((err as { code?: number }).code !== 11000 && !/E11000|duplicate key/.test(String(err))) throw err;
    for (const doc of docs) {
      const $set: Record<string, unknown> = {};
      for (const s of ['applications', 'complaints', 'ratings', 'certificates'] as const) for (const [id, f] of Object.entries(doc[s] ?? {})) $set[`${s}.${id}`] = f;
      await upsert(models, doc._id, { $set });
    }
  }
}
