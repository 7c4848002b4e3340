// The circuit breakers in the status item's tooltip (daemon/breakers.ts), and when a
// finished request has the status fetched again to show them.
import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { breakerLines, breakersMayHaveMoved } from "../daemon/breakers";
import type { BreakerStatus, StatusResult } from "../daemon/protocol";

const closed: BreakerStatus = { model: "gpt5", state: "closed", failures: 0, retry_at: null };
// 14:03:20 local time, whatever the machine's zone: the tooltip shows local time
const due = new Date(2026, 11, 8, 14, 3, 20).toISOString();

function status(breakers?: BreakerStatus[]): StatusResult {
  return {
    version: "4.0.0",
    pid: 1,
    phase: "running",
    listen_url: "http://127.0.0.1:44497",
    control_socket: "/run/user/1000/argo-proxy/control.sock",
    uptime_s: 1,
    config_path: null,
    argo_base_url: "https://apps.inside.anl.gov/argoapi",
    legacy: false,
    models: { unique_models: 1, total_aliases: 2 },
    counters: { requests: 1, active_streams: 0, errors: 0 },
    last_reload: null,
    last_refresh: null,
    ...(breakers && { breakers }),
  };
}

describe("breakerLines", () => {
  it("shows nothing for an older daemon, no breakers, or closed ones only", () => {
    assert.deepEqual(breakerLines(undefined), []);
    assert.deepEqual(breakerLines([]), []);
    assert.deepEqual(breakerLines([closed]), []);
  });

  it("lists open and half-open breakers, with failures and when an open one is tried again", () => {
    const lines = breakerLines([
      closed,
      { model: "claudeopus46", state: "open", failures: 5, retry_at: due },
      { model: "gemini25pro", state: "half_open", failures: 1, retry_at: null },
    ]);
    assert.deepEqual(lines, [
      "**Models skipped** (circuit breaker open: requests go to their fallbacks): 1",
      "- `claudeopus46`: open after 5 failures, skipped until 14:03:20",
      "- `gemini25pro`: half-open, the next request tries it again (1 failure)",
    ]);
  });

  it("says half-open alone as a trial, and leaves out a time it cannot read", () => {
    assert.deepEqual(breakerLines([{ model: "gpt5", state: "half_open", failures: 3, retry_at: null }]), [
      "**Models on trial** (circuit breaker half-open)",
      "- `gpt5`: half-open, the next request tries it again (3 failures)",
    ]);
    assert.deepEqual(breakerLines([{ model: "o`3", state: "open", failures: 2, retry_at: "soon" }]).slice(1), [
      "- `o'3`: open after 2 failures",
    ]);
  });
});

describe("breakersMayHaveMoved", () => {
  it("is false for a daemon without breakers, and for a success while all are closed", () => {
    assert.equal(breakersMayHaveMoved({ status: 500 }, status()), false);
    assert.equal(breakersMayHaveMoved({ status: 500 }, undefined), false);
    assert.equal(breakersMayHaveMoved({ status: 200 }, status([closed])), false);
  });

  it("is true for a failure, or while a breaker is open or half-open", () => {
    assert.equal(breakersMayHaveMoved({ status: 429 }, status([closed])), true);
    assert.equal(breakersMayHaveMoved({ status: 200, error: { type: "timeout" } }, status([])), true);
    const open = status([{ model: "gpt5", state: "open", failures: 3, retry_at: due }]);
    assert.equal(breakersMayHaveMoved({ status: 200 }, open), true);
  });
});
