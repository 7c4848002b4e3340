// The daemon's per-model circuit breakers, as the status item's tooltip tells them:
// a model skipped after failures in a row (open), or being tried again (half-open).
// Closed breakers are the normal case and are not shown. Plain Node.
import type { BreakerStatus, StatusResult } from "./protocol";

/** Wall-clock time `HH:MM:SS`, local. */
function clock(date: Date): string {
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

function failures(n: number): string {
  return n === 1 ? "1 failure" : `${n} failures`;
}

/** A model name inside Markdown backticks. */
function code(name: string): string {
  return `\`${name.replace(/`/g, "'")}\``;
}

function breakerLine(b: BreakerStatus): string {
  if (b.state === "half_open") return `- ${code(b.model)}: half-open, the next request tries it again (${failures(b.failures)})`;
  const due = b.retry_at ? new Date(b.retry_at) : undefined;
  const when = due && !Number.isNaN(due.getTime()) ? `, skipped until ${clock(due)}` : "";
  return `- ${code(b.model)}: open after ${failures(b.failures)}${when}`;
}

/** The tooltip's lines (Markdown) for the breakers that are not closed; empty when none is. */
export function breakerLines(breakers: readonly BreakerStatus[] | undefined): string[] {
  const tripped = (breakers ?? []).filter((b) => b.state === "open" || b.state === "half_open");
  if (!tripped.length) return [];
  const open = tripped.filter((b) => b.state === "open").length;
  const head = open
    ? `**Models skipped** (circuit breaker open: requests go to their fallbacks): ${open}`
    : "**Models on trial** (circuit breaker half-open)";
  return [head, ...tripped.map(breakerLine)];
}

/**
 * Whether a finished request may have moved a breaker, so the status is fetched
 * again: it failed, or some breaker is not closed (a success closes it).
 */
export function breakersMayHaveMoved(finished: Readonly<Record<string, unknown>>, last: StatusResult | undefined): boolean {
  if (last?.breakers === undefined) return false; // a daemon without breakers
  const failed = (typeof finished.status === "number" && finished.status >= 400) || Boolean(finished.error);
  return failed || last.breakers.some((b) => b.state !== "closed");
}
