// The ARGO view's logic, one module at a time with a fake daemon: reading records,
// the words of a list item, the request list (newest first, bounded, cleared), usage
// added up from records, `usage.get`'s answer checked and its fallback, the activity
// that ties them to notifications, the chart's HTML and the environment switch's words.
import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ResponseError, ErrorCodes } from "vscode-jsonrpc/node";
import { Activity, ActivityDaemon } from "../daemon/activity";
import { environmentMessage, environmentOf, environmentUnavailable } from "../daemon/environments";
import { MethodMissing, missingMethod } from "../daemon/protocol";
import {
  compactCount,
  formatDuration,
  recordDescription,
  recordDetails,
  recordLabel,
  RequestList,
  RequestRecord,
  statusKind,
  toRecord,
  tokensText,
} from "../daemon/records";
import { aggregateUsage, fetchUsage, resolveTime, startOfDay, toUsageReport, UsageLedger, UsageQuery } from "../daemon/usage";
import { escapeHtml, usageBody, usageCsp, usagePage } from "../daemon/usageChart";

/** Noon today, local time: "today" and "7d" are well inside their periods. */
const NOW = startOfDay(Date.now() / 1000) + 12 * 3600;

function record(overrides: Partial<RequestRecord> = {}): RequestRecord {
  return {
    id: "r1",
    started_at: NOW - 60,
    endpoint: "/v1/chat/completions",
    client_format: "openai",
    client: "openai-python",
    client_version: "1.99.0",
    model: "gpt-4o",
    argo_model: "gpt4o",
    upstream: "openai",
    converted: false,
    stream: false,
    status: 200,
    error: null,
    latency_ms: 1234,
    ttft_ms: null,
    input_tokens: 12,
    output_tokens: 8,
    cached_tokens: 0,
    cache_write_tokens: 0,
    reasoning_tokens: 0,
    estimated: false,
    retries: 0,
    ...overrides,
  };
}

describe("toRecord", () => {
  it("reads the daemon's JSON and fills what an older or newer daemon left out", () => {
    const r = toRecord({ id: "a", started_at: 5, model: "gpt-4o", status: 200, extra: "ignored" });
    assert.ok(r);
    assert.equal(r.model, "gpt-4o");
    assert.equal(r.argo_model, null);
    assert.equal(r.client, "unknown");
    assert.equal(r.input_tokens, 0);
    assert.equal(r.ttft_ms, null);
    assert.equal(r.estimated, false);
    assert.equal(toRecord({ ...record(), error: { type: "Upstream", message: "boom" } })?.error?.message, "boom");
  });

  it("is undefined for what is not a record", () => {
    for (const value of [null, 3, "x", [], {}, { id: "a" }, { started_at: 1 }, { id: 1, started_at: 1 }]) {
      assert.equal(toRecord(value), undefined, JSON.stringify(value));
    }
  });
});

describe("formatting", () => {
  it("counts compactly: 12.3k", () => {
    assert.deepEqual(
      [0, 950, 999, 1000, 1234, 12_345, 99_949, 99_950, 123_456, 999_999, 1_234_567, 2e9].map(compactCount),
      ["0", "950", "999", "1k", "1.2k", "12.3k", "99.9k", "100k", "123k", "1M", "1.2M", "2G"],
    );
  });

  it("says durations as a person reads them", () => {
    assert.deepEqual([85, 999, 1234, 12_400, 125_000].map(formatDuration), ["85 ms", "999 ms", "1.2 s", "12 s", "2 min 5 s"]);
  });

  it("colours by status: ok, the client's error, the server's", () => {
    assert.deepEqual([200, 304, 400, 404, 499, 500, 502, 0].map(statusKind), [
      "ok",
      "ok",
      "clientError",
      "clientError",
      "clientError",
      "serverError",
      "serverError",
      "serverError",
    ]);
  });

  it("labels model → ARGO model, and the asked model alone when they are the same", () => {
    assert.equal(recordLabel(record()), "gpt-4o → gpt4o");
    assert.equal(recordLabel(record({ model: "gpt4o", argo_model: "gpt4o" })), "gpt4o");
    assert.equal(recordLabel(record({ model: null, argo_model: null })), "(no model)");
  });

  it("describes client · latency · tokens in/out, estimates marked ~", () => {
    assert.equal(recordDescription(record()), "openai-python · 1.2 s · 12 in / 8 out");
    assert.equal(
      tokensText(record({ input_tokens: 12_345, output_tokens: 40, estimated: true })),
      "~12.3k in / ~40 out",
    );
  });

  it("details the request in the tooltip: error, client version, ARGO API, cache, retries", () => {
    const rows = new Map(
      recordDetails(
        record({
          status: 502,
          error: { type: "UpstreamError", message: "ARGO answered 500" },
          stream: true,
          converted: true,
          upstream: "anthropic",
          ttft_ms: 300,
          cached_tokens: 5,
          reasoning_tokens: 7,
          retries: 2,
          estimated: true,
        }),
      ),
    );
    assert.equal(rows.get("Status"), "502 UpstreamError: ARGO answered 500");
    assert.equal(rows.get("Client"), "openai-python 1.99.0");
    assert.equal(rows.get("ARGO API"), "anthropic, converted, streamed");
    assert.equal(rows.get("Latency"), "1.2 s, first byte 300 ms");
    assert.equal(rows.get("Tokens"), "~12 in / ~8 out (estimated: ARGO reported none)");
    assert.equal(rows.get("Of which"), "5 cached, 7 reasoning");
    assert.equal(rows.get("Retries"), "2");
    assert.equal(rows.get("Id"), "r1");
    const plain = new Map(recordDetails(record()));
    assert.equal(plain.has("Of which"), false);
    assert.equal(plain.has("Retries"), false);
  });
});

describe("RequestList", () => {
  it("keeps the newest first, each id once, and at most its capacity", () => {
    const list = new RequestList(3);
    assert.equal(list.add(record({ id: "a", started_at: 10, latency_ms: 0 })), true);
    assert.equal(list.add(record({ id: "c", started_at: 30, latency_ms: 0 })), true);
    // started earlier but finished last: ordered by when it finished
    assert.equal(list.add(record({ id: "b", started_at: 5, latency_ms: 40_000 })), true);
    assert.deepEqual(list.items.map((r) => r.id), ["b", "c", "a"]);
    assert.equal(list.add(record({ id: "c", started_at: 30, latency_ms: 0 })), false);
    assert.equal(list.add(record({ id: "d", started_at: 50, latency_ms: 0 })), true);
    assert.deepEqual(list.items.map((r) => r.id), ["d", "b", "c"]);
    // older than all it keeps, and full: not taken
    assert.equal(list.add(record({ id: "old", started_at: 1, latency_ms: 0 })), false);
    assert.equal(list.get("d")?.id, "d");
    assert.equal(list.get("a"), undefined);
  });

  it("keeps about 200 by default", () => {
    const list = new RequestList();
    list.addAll(Array.from({ length: 250 }, (_, i) => record({ id: `r${i}`, started_at: i })));
    assert.equal(list.items.length, 200);
    assert.equal(list.items[0].id, "r249");
    assert.equal(list.items[199].id, "r50");
  });

  it("after Clear, keeps out what had finished before and takes what comes after", () => {
    const list = new RequestList();
    list.add(record({ id: "a", started_at: 10, latency_ms: 0 }));
    list.clear(20);
    assert.equal(list.items.length, 0);
    assert.equal(list.addAll([record({ id: "a", started_at: 10, latency_ms: 0 })]), false);
    assert.equal(list.add(record({ id: "b", started_at: 21, latency_ms: 0 })), true);
    assert.deepEqual(list.items.map((r) => r.id), ["b"]);
  });
});

describe("usage from records", () => {
  // keyed as usage.get keys them: the ARGO model, else (never resolved) the model asked for
  const records = [
    record({ id: "1", model: "gpt-4o", argo_model: "gpt4o", input_tokens: 10, output_tokens: 5 }),
    record({ id: "2", model: "gpt-4o", argo_model: "gpt4o", input_tokens: 20, output_tokens: 5, status: 500, error: { type: "E", message: "" } }),
    record({ id: "3", model: "claude", argo_model: null, client: "anthropic-python", input_tokens: 100, output_tokens: 1, estimated: true }),
    record({ id: "4", model: "gpt-4o", argo_model: "gpt4o", started_at: NOW - 2 * 86_400, input_tokens: 1000, output_tokens: 0 }),
    record({ id: "5", model: "gpt-4o", argo_model: "gpt4o", started_at: NOW - 9 * 86_400, input_tokens: 5000, output_tokens: 0 }),
  ];

  it("adds up today by model, biggest first", () => {
    const report = aggregateUsage(records, { since: "today", by: "model" }, NOW);
    assert.equal(report.since, startOfDay(NOW));
    assert.deepEqual(
      report.rows.map((r) => [r.key, r.requests, r.errors, r.input_tokens, r.output_tokens, r.estimated]),
      [
        ["claude", 1, 0, 100, 1, 1],
        ["gpt4o", 2, 1, 30, 10, 0],
      ],
    );
    assert.deepEqual(
      [report.total.requests, report.total.errors, report.total.input_tokens, report.total.output_tokens],
      [3, 1, 130, 11],
    );
  });

  it("adds up the last 7 days, and by client and by day", () => {
    const week = aggregateUsage(records, { since: "7d", by: "model" }, NOW);
    assert.equal(week.total.requests, 4);
    assert.equal(week.rows[0].key, "gpt4o");
    assert.equal(week.rows[0].input_tokens, 1030);
    const byClient = aggregateUsage(records, { since: "7d", by: "client" }, NOW);
    assert.deepEqual(byClient.rows.map((r) => r.key), ["openai-python", "anthropic-python"]);
    const byDay = aggregateUsage(records, { since: "7d", by: "day" }, NOW);
    assert.equal(byDay.rows.length, 2);
    assert.ok(byDay.rows[0].key < byDay.rows[1].key, "oldest day first");
    const until = aggregateUsage(records, { since: "7d", until: "today", by: "model" }, NOW);
    assert.equal(until.total.requests, 1);
  });

  it("reads since/until as the daemon does", () => {
    assert.equal(resolveTime(123, NOW), 123);
    assert.equal(resolveTime("today", NOW), startOfDay(NOW));
    assert.equal(resolveTime("7d", NOW), NOW - 7 * 86_400);
  });

  it("ledger keeps each record once and forgets what is over a week old", () => {
    const ledger = new UsageLedger();
    for (const r of records) ledger.add(r, NOW);
    ledger.add(records[0], NOW);
    assert.equal(ledger.size, 4);
  });
});

describe("usage.get", () => {
  const query: UsageQuery = { since: "today", by: "model" };

  it("checks the daemon's answer: missing figures are 0, rows without a key dropped", () => {
    const report = toUsageReport(
      {
        since: 100,
        until: 200,
        by: "model",
        rows: [
          { key: "small", requests: 1, input_tokens: 1, output_tokens: 1 },
          { key: "big", requests: 2, input_tokens: 500, output_tokens: 20, estimated: 1 },
          { requests: 9 },
          "junk",
        ],
        total: { requests: 3, input_tokens: 501, output_tokens: 21 },
      },
      query,
    );
    assert.deepEqual(report.rows.map((r) => r.key), ["big", "small"]);
    assert.equal(report.rows[0].estimated, 1);
    assert.equal(report.rows[1].errors, 0);
    assert.equal(report.total.input_tokens, 501);
    assert.equal(report.since, 100);
    assert.throws(() => toUsageReport("no", query), /usage.get answered/);
  });

  it("falls back to the records seen here when the daemon has no usage.get", async () => {
    const ledger = new UsageLedger();
    ledger.add(record({ input_tokens: 7, output_tokens: 3 }), NOW);
    const missing = (): Promise<unknown> => Promise.reject(new MethodMissing("usage.get"));
    const fallback = await fetchUsage(missing, ledger, query, NOW);
    assert.equal(fallback.source, "records");
    assert.equal(fallback.report.total.input_tokens, 7);
    const daemon = await fetchUsage(() => Promise.resolve({ rows: [], total: { requests: 4 } }), ledger, query, NOW);
    assert.equal(daemon.source, "daemon");
    assert.equal(daemon.report.total.requests, 4);
    // any other failure is not hidden
    await assert.rejects(fetchUsage(() => Promise.reject(new Error("socket closed")), ledger, query, NOW), /socket closed/);
  });

  it("JSON-RPC's method-not-found is MethodMissing; other errors stay as they were", () => {
    const missing = missingMethod(new ResponseError(ErrorCodes.MethodNotFound, "Unhandled method usage.get"), "usage.get");
    assert.ok(missing instanceof MethodMissing);
    assert.match(missing.message, /no usage\.get/);
    const invalid = new ResponseError(ErrorCodes.InvalidParams, "bad since");
    assert.equal(missingMethod(invalid, "usage.get"), invalid);
  });
});

/** A daemon for the activity: records and usage as given; every call counted. */
class FakeDaemon implements ActivityDaemon {
  calls: string[] = [];
  usage: ((q: UsageQuery) => Promise<unknown>) | undefined;
  constructor(private readonly records: unknown[] = []) {}

  listRequests(): Promise<unknown[]> {
    this.calls.push("requests.list");
    return Promise.resolve(this.records);
  }

  getUsage(query: UsageQuery): Promise<unknown> {
    this.calls.push(`usage.get ${query.since}`);
    return this.usage ? this.usage(query) : Promise.reject(new MethodMissing("usage.get"));
  }
}

/** Resolves when `event` next fires. */
function next<T>(event: (listener: (value: T) => void) => { dispose(): void }): Promise<T> {
  return new Promise((resolve) => {
    const sub = event((value) => {
      sub.dispose();
      resolve(value);
    });
  });
}

describe("Activity", () => {
  it("loads the daemon's records at connect and adds up usage when usage.get is missing", async () => {
    const daemon = new FakeDaemon([
      { ...record({ id: "b", started_at: NOW - 10 }) },
      { ...record({ id: "a", started_at: NOW - 20, input_tokens: 100 }) },
      { not: "a record" },
    ]);
    const logs: string[] = [];
    const activity = new Activity({ now: () => NOW, log: (m) => logs.push(m) });
    await activity.connect(daemon);
    assert.deepEqual(activity.requests.items.map((r) => r.id), ["b", "a"]);
    assert.equal(activity.usage?.source, "records");
    assert.equal(activity.usage?.today.total.input_tokens, 112);
    assert.equal(activity.usage?.week.total.requests, 2);
    // asked once, then known missing for this connection
    assert.deepEqual(daemon.calls, ["requests.list", "usage.get today"]);
    assert.ok(logs.some((m) => m.includes('no usage.get')));
    activity.dispose();
  });

  it("follows request.finished: the list at once, usage debounced into one ask", async () => {
    const daemon = new FakeDaemon();
    let asked = 0;
    daemon.usage = (q): Promise<unknown> => {
      asked++;
      return Promise.resolve({ rows: [{ key: "gpt-4o", requests: asked }], total: { requests: asked, input_tokens: q.since === "today" ? 1 : 2 } });
    };
    const activity = new Activity({ now: () => NOW, debounceMs: 20 });
    await activity.connect(daemon);
    assert.equal(asked, 2, "today and the week, once each at connect");
    assert.equal(activity.usage?.source, "daemon");
    let listChanges = 0;
    activity.onRequests(() => listChanges++);
    const updated = next(activity.onUsage);
    activity.recordFinished(record({ id: "x", started_at: NOW }));
    activity.recordFinished(record({ id: "y", started_at: NOW + 1 }));
    activity.recordFinished({ junk: true });
    assert.equal(listChanges, 2);
    assert.deepEqual(activity.requests.items.map((r) => r.id), ["y", "x"]);
    await updated;
    assert.equal(asked, 4, "two records, one debounced ask (today and the week)");
    assert.equal(activity.usage?.today.total.input_tokens, 1);
    assert.equal(activity.usage?.week.total.input_tokens, 2);
    activity.dispose();
  });

  it("clears the list only; usage still counts the cleared requests", async () => {
    const activity = new Activity({ now: () => NOW });
    await activity.connect(new FakeDaemon([record({ id: "a", input_tokens: 40, output_tokens: 2 })]));
    activity.clearRequests();
    assert.equal(activity.requests.items.length, 0);
    await activity.refreshUsage();
    assert.equal(activity.usage?.today.total.input_tokens, 40);
    activity.dispose();
  });

  it("drops answers from a daemon that went away, and asks nothing after disconnect", async () => {
    let release: (v: unknown[]) => void = () => undefined;
    const slow: ActivityDaemon = {
      listRequests: () => new Promise((resolve) => (release = resolve)),
      getUsage: () => Promise.reject(new Error("must not be asked")),
    };
    const activity = new Activity({ now: () => NOW });
    const connecting = activity.connect(slow);
    activity.disconnect();
    release([record({ id: "late" })]);
    await connecting;
    assert.equal(activity.requests.items.length, 0);
    assert.equal(activity.usage, undefined);
    activity.dispose();
  });

  it("a failing requests.list is logged and usage is still asked for", async () => {
    const logs: string[] = [];
    const daemon: ActivityDaemon = {
      listRequests: () => Promise.reject(new Error("socket closed")),
      getUsage: () => Promise.resolve({ rows: [], total: { requests: 0 } }),
    };
    const activity = new Activity({ now: () => NOW, log: (m) => logs.push(m) });
    await activity.connect(daemon);
    assert.ok(logs.some((m) => m.includes("socket closed")));
    assert.equal(activity.usage?.source, "daemon");
    activity.dispose();
  });
});

describe("the usage chart", () => {
  const activity = (): Activity => new Activity({ now: () => NOW });

  it("draws a bar per model for today and the week, widest for the most tokens", async () => {
    const a = activity();
    await a.connect(
      new FakeDaemon([
        record({ id: "1", model: "gpt-4o", input_tokens: 300, output_tokens: 100 }),
        record({ id: "2", model: "claude", argo_model: "claudesonnet46", input_tokens: 100, output_tokens: 100, estimated: true }),
        record({ id: "3", model: "gemini", argo_model: "gemini25pro", started_at: NOW - 3 * 86_400, input_tokens: 5, output_tokens: 5 }),
      ]),
    );
    const html = usageBody(a.usage, true);
    const today = html.slice(html.indexOf('id="today"'), html.indexOf('id="week"'));
    const week = html.slice(html.indexOf('id="week"'));
    assert.match(today, /data-tokens="600">~600 tokens/);
    assert.match(today, /data-key="gpt4o" data-tokens="400"/);
    assert.match(today, /data-key="claudesonnet46" data-tokens="200"/);
    assert.doesNotMatch(today, /gemini/);
    assert.match(week, /data-key="gemini25pro" data-tokens="10"/);
    // the biggest fills the width: input 750 + output 250 of 1000
    assert.match(today, /class="in" x="0" y="0" width="750"/);
    assert.match(today, /class="out" x="750" y="0" width="250"/);
    assert.match(html, /no <code>usage\.get<\/code>/);
    a.dispose();
  });

  it("says why there is nothing", () => {
    assert.match(usageBody(undefined, false), /not running/);
    assert.match(usageBody(undefined, true), /Asking argo-proxy/);
  });

  it("escapes names a client chose", async () => {
    assert.equal(escapeHtml(`<img src=x onerror="a">&'`), "&#60;img src=x onerror=&#34;a&#34;&#62;&#38;&#39;");
    const a = activity();
    await a.connect(new FakeDaemon([record({ model: "<script>alert(1)</script>", argo_model: null })]));
    const html = usageBody(a.usage, true);
    assert.doesNotMatch(html, /<script>/);
    assert.match(html, /&#60;script&#62;/);
    a.dispose();
  });

  it("allows nothing but its own nonce'd style and script", () => {
    assert.equal(usageCsp("N"), "default-src 'none'; style-src 'nonce-N'; script-src 'nonce-N';");
    const page = usagePage("N", "<p>x</p>");
    assert.match(page, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'nonce-N'; script-src 'nonce-N';">/);
    assert.match(page, /<style nonce="N">/);
    assert.match(page, /<script nonce="N">/);
    assert.doesNotMatch(page, /https?:\/\//, "nothing fetched from anywhere");
    assert.match(page, /var\(--vscode-charts-blue\)/);
  });
});

describe("environments", () => {
  it("knows which environment a base URL is", () => {
    assert.equal(environmentOf("https://apps.inside.anl.gov/argoapi/"), "prod");
    assert.equal(environmentOf("https://apps-dev.inside.anl.gov/argoapi"), "dev");
    assert.equal(environmentOf("http://127.0.0.1:9999"), undefined);
    assert.equal(environmentOf(undefined), undefined);
  });

  it("says what the switch did, or why it cannot be made", () => {
    assert.equal(
      environmentMessage({ env: "prod", argo_base_url: "https://p", path: "/c.yaml", changed: true }),
      "ARGO: now on prod (https://p), written to /c.yaml.",
    );
    assert.match(environmentMessage({ env: "dev", argo_base_url: "https://d", path: null, changed: false }), /already on dev/);
    assert.match(environmentUnavailable("0.1.0"), /argo-proxy 0\.1\.0 has no config\.setEnvironment/);
  });
});
