// What the ARGO view shows, kept current without polling: when the daemon connects,
// its recent records (`requests.list`) and today's and the week's usage
// (`usage.get`, or added up here from the records when the daemon has no such
// method); then each `request.finished` adds its record and, debounced, asks for the
// usage again. At local midnight "today" starts over: the usage is asked for once
// then (a timer for the day's end, not a poll). Plain Node: the VS Code views only
// draw what this holds.
import { Emitter } from "./events";
import { MethodMissing, RequestsListParams } from "./protocol";
import { RequestList, RequestRecord, toRecord } from "./records";
import { fetchUsage, startOfDay, UsageLedger, UsageQuery, UsageReport, UsageSource } from "./usage";

/** What the activity asks of the daemon (the supervisor, or a fake in tests). */
export interface ActivityDaemon {
  listRequests(params: RequestsListParams): Promise<unknown[]>;
  getUsage(query: UsageQuery): Promise<unknown>;
}

export interface UsageSnapshot {
  today: UsageReport;
  week: UsageReport;
  source: UsageSource;
}

export const TODAY: UsageQuery = { since: "today", by: "model" };
export const WEEK: UsageQuery = { since: "7d", by: "model" };

/** At connect, the records of the week (for the fallback's sums), at most this many. */
const CONNECT_LIMIT = 5000;

export interface ActivityOptions {
  /** Usage is asked for again this long after the last record (several records, one ask). */
  debounceMs?: number;
  now?: () => number;
  log?: (message: string) => void;
}

export class Activity {
  readonly requests = new RequestList();
  readonly ledger = new UsageLedger();
  private usageValue?: UsageSnapshot;
  private daemon?: ActivityDaemon;
  /** Bumped on every connect and disconnect: answers for an older connection are dropped. */
  private generation = 0;
  private timer?: NodeJS.Timeout;
  /** Fires just after local midnight, when "today" becomes a new day. */
  private midnight?: NodeJS.Timeout;
  private fetching?: Promise<void>;
  private fetchAgain = false;
  /** This connection's daemon has no `usage.get`: usage is added up here without asking. */
  private usageGetMissing = false;
  private readonly debounceMs: number;
  private readonly now: () => number;
  private readonly log: (message: string) => void;

  private readonly requestsEmitter = new Emitter<void>();
  private readonly usageEmitter = new Emitter<UsageSnapshot | undefined>();
  readonly onRequests = this.requestsEmitter.event;
  readonly onUsage = this.usageEmitter.event;

  constructor(options: ActivityOptions = {}) {
    this.debounceMs = options.debounceMs ?? 400;
    this.now = options.now ?? ((): number => Date.now() / 1000);
    this.log = options.log ?? ((): void => undefined);
  }

  get usage(): UsageSnapshot | undefined {
    return this.usageValue;
  }

  get connected(): boolean {
    return this.daemon !== undefined;
  }

  /** A daemon is up (started, attached or restarted): load what it has, then follow its notifications. */
  async connect(daemon: ActivityDaemon): Promise<void> {
    const generation = ++this.generation;
    this.daemon = daemon;
    this.usageGetMissing = false;
    this.cancelTimer();
    try {
      const raw = await daemon.listRequests({ since: "7d", limit: CONNECT_LIMIT });
      if (generation !== this.generation) return;
      const records = raw.map(toRecord).filter((r): r is RequestRecord => r !== undefined);
      for (const r of records) this.ledger.add(r, this.now());
      if (this.requests.addAll(records)) this.requestsEmitter.fire();
    } catch (error) {
      this.log(`could not list the daemon's recent requests: ${errorText(error)}`);
    }
    await this.refreshUsage();
  }

  /** The daemon went away: nothing is asked of it until the next connect; what was seen stays. */
  disconnect(): void {
    this.generation++;
    this.daemon = undefined;
    this.cancelTimer();
    if (this.midnight) clearTimeout(this.midnight);
    this.midnight = undefined;
  }

  /** A `request.finished` notification's params. */
  recordFinished(params: unknown): void {
    const record = toRecord(params);
    if (!record) {
      this.log(`request.finished without a record: ${JSON.stringify(params)}`);
      return;
    }
    this.ledger.add(record, this.now());
    if (this.requests.add(record)) this.requestsEmitter.fire();
    this.scheduleUsage();
  }

  /** "Clear request list": the view only; usage and the daemon's own records stay. */
  clearRequests(): void {
    this.requests.clear(this.now());
    this.requestsEmitter.fire();
  }

  /** Ask for the usage now (one ask at a time; asks meanwhile make one more). */
  refreshUsage(): Promise<void> {
    this.cancelTimer();
    if (this.fetching) {
      this.fetchAgain = true;
      return this.fetching;
    }
    this.fetching = (async () => {
      do {
        this.fetchAgain = false;
        await this.fetchOnce();
      } while (this.fetchAgain);
    })().finally(() => {
      this.fetching = undefined;
    });
    return this.fetching;
  }

  dispose(): void {
    this.disconnect();
    this.requestsEmitter.dispose();
    this.usageEmitter.dispose();
  }

  private scheduleUsage(): void {
    this.cancelTimer();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refreshUsage();
    }, this.debounceMs);
  }

  private untilMidnight(now: number): void {
    if (this.midnight) clearTimeout(this.midnight);
    // the day's start plus a bit over a day, back to its midnight: right on 23- and 25-hour days
    const ms = (startOfDay(startOfDay(now) + 90_000) - now) * 1000 + 1000;
    this.midnight = setTimeout(() => {
      this.midnight = undefined;
      void this.refreshUsage();
    }, ms);
    this.midnight.unref();
  }

  private cancelTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async fetchOnce(): Promise<void> {
    const { daemon, generation } = this;
    if (!daemon) return;
    const get = (q: UsageQuery): Promise<unknown> =>
      this.usageGetMissing ? Promise.reject(new MethodMissing("usage.get")) : daemon.getUsage(q);
    try {
      const now = this.now();
      const today = await fetchUsage(get, this.ledger, TODAY, now);
      if (today.source === "records" && !this.usageGetMissing && generation === this.generation) {
        this.usageGetMissing = true;
        this.log("this daemon has no usage.get: usage is added up from the records seen here");
      }
      const week = await fetchUsage(get, this.ledger, WEEK, now);
      if (generation !== this.generation) return;
      this.usageValue = { today: today.report, week: week.report, source: week.source };
      this.usageEmitter.fire(this.usageValue);
      this.untilMidnight(now);
    } catch (error) {
      if (generation === this.generation) this.log(`could not get the usage: ${errorText(error)}`);
    }
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
