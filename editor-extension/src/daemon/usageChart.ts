// The Usage view's HTML: today and the last 7 days by model, as plain SVG bars (input
// and output tokens stacked), drawn here from a usage snapshot. No library, nothing
// fetched: the page's Content-Security-Policy allows only its own nonce'd style and
// script, and names from clients (a model is what the client asked for) are escaped.
// Colours come from the theme's CSS variables. Plain Node, so it is unit-tested.
import type { UsageSnapshot } from "./activity";
import { compactCount } from "./records";
import { totalTokens, UsageReport, UsageRow } from "./usage";

/** Rows drawn per period; the rest are summed up in one line. */
const MAX_ROWS = 12;
/** The bars' drawing width (SVG user units; the SVG itself stretches to the view). */
const BAR_WIDTH = 1000;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function plural(n: number, word: string): string {
  return `${n.toLocaleString("en-US")} ${word}${n === 1 ? "" : "s"}`;
}

function bar(row: UsageRow, max: number): string {
  const width = (n: number): number => (max > 0 ? Math.round((n / max) * BAR_WIDTH * 10) / 10 : 0);
  const input = width(row.input_tokens);
  const output = width(row.output_tokens);
  const label = `${row.key}: ${row.input_tokens} input tokens, ${row.output_tokens} output tokens, ${plural(row.requests, "request")}`;
  return (
    `<svg class="bar" viewBox="0 0 ${BAR_WIDTH} 10" preserveAspectRatio="none" role="img" aria-label="${escapeHtml(label)}">` +
    `<rect class="track" x="0" y="0" width="${BAR_WIDTH}" height="10"/>` +
    `<rect class="in" x="0" y="0" width="${input}" height="10"/>` +
    `<rect class="out" x="${input}" y="0" width="${output}" height="10"/>` +
    `</svg>`
  );
}

function rowHtml(row: UsageRow, max: number): string {
  const tokens = totalTokens(row);
  const mark = row.estimated ? "~" : "";
  const title = `${row.key}: ${row.input_tokens} in, ${row.output_tokens} out, ${plural(row.requests, "request")}` +
    (row.errors ? `, ${plural(row.errors, "error")}` : "") +
    (row.estimated ? `; ${row.estimated} estimated` : "");
  return (
    `<tr class="row" data-key="${escapeHtml(row.key)}" data-tokens="${tokens}" title="${escapeHtml(title)}">` +
    `<th scope="row" class="key">${escapeHtml(row.key)}</th>` +
    `<td class="chart">${bar(row, max)}</td>` +
    `<td class="num">${mark}${compactCount(tokens)}</td>` +
    `</tr>`
  );
}

function periodHtml(id: string, title: string, report: UsageReport): string {
  const total = report.total;
  const tokens = totalTokens(total);
  const facts = [
    `<span class="tokens" data-tokens="${tokens}">${total.estimated ? "~" : ""}${compactCount(tokens)} tokens</span>`,
    `${compactCount(total.input_tokens)} in / ${compactCount(total.output_tokens)} out`,
    plural(total.requests, "request"),
  ];
  if (total.errors) facts.push(plural(total.errors, "error"));
  if (total.cached_tokens) facts.push(`${compactCount(total.cached_tokens)} cached`);
  const shown = report.rows.slice(0, MAX_ROWS);
  const rest = report.rows.slice(MAX_ROWS);
  const max = Math.max(0, ...shown.map(totalTokens));
  const rows = shown.map((r) => rowHtml(r, max)).join("");
  const more = rest.length
    ? `<tr class="more"><td colspan="3">${plural(rest.length, "more model")}: ` +
      `${compactCount(rest.reduce((n, r) => n + totalTokens(r), 0))} tokens</td></tr>`
    : "";
  const body = total.requests
    ? `<table class="models">${rows}${more}</table>`
    : `<p class="empty">No requests.</p>`;
  return (
    `<section id="${id}"><h2>${escapeHtml(title)}</h2>` +
    `<p class="facts">${facts.join(" · ")}</p>${body}</section>`
  );
}

/** The view's content for a snapshot (none yet: why not). */
export function usageBody(snapshot: UsageSnapshot | undefined, running: boolean): string {
  if (!snapshot) {
    return `<p class="empty">${running ? "Asking argo-proxy for its usage…" : "argo-proxy is not running."}</p>`;
  }
  const legend =
    `<p class="legend"><svg class="swatch" viewBox="0 0 10 10"><rect class="in" width="10" height="10"/></svg> input ` +
    `<svg class="swatch" viewBox="0 0 10 10"><rect class="out" width="10" height="10"/></svg> output tokens, by model</p>`;
  const note =
    snapshot.source === "records"
      ? `<p class="note">Added up from the requests this window has seen: this argo-proxy has no <code>usage.get</code>.</p>`
      : "";
  return (
    legend +
    periodHtml("today", "Today", snapshot.today) +
    periodHtml("week", "Last 7 days", snapshot.week) +
    note
  );
}

const STYLE = `
body { padding: 0 8px 8px; color: var(--vscode-foreground); font-family: var(--vscode-font-family);
  font-size: var(--vscode-font-size); }
h2 { font-size: 1em; font-weight: 600; margin: 12px 0 2px; text-transform: uppercase; letter-spacing: .04em; }
p { margin: 4px 0; }
.facts, .legend, .note, .empty, .more { color: var(--vscode-descriptionForeground); }
.tokens { color: var(--vscode-foreground); font-weight: 600; }
table.models { width: 100%; border-collapse: collapse; table-layout: fixed; }
th.key { width: 40%; text-align: left; font-weight: normal; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; padding: 2px 6px 2px 0; }
td.chart { padding: 2px 0; }
td.num { width: 4.5em; text-align: right; padding-left: 6px; font-variant-numeric: tabular-nums; }
svg.bar { display: block; width: 100%; height: 10px; }
svg.swatch { width: 10px; height: 10px; vertical-align: -1px; }
rect.track { fill: var(--vscode-editorWidget-background, transparent); }
rect.in { fill: var(--vscode-charts-blue); }
rect.out { fill: var(--vscode-charts-orange); }
code { font-family: var(--vscode-editor-font-family); }
`;

// Replaces the content when the extension sends new HTML: no reload, no flicker.
const SCRIPT = `
const root = document.getElementById("root");
window.addEventListener("message", (event) => {
  if (event.data && typeof event.data.html === "string") root.innerHTML = event.data.html;
});
`;

/** The Content-Security-Policy: nothing but this page's own style and script (by nonce). */
export function usageCsp(nonce: string): string {
  return `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}';`;
}

/** The whole page, with `body` (usageBody) inside; later content arrives as `{html}` messages. */
export function usagePage(nonce: string, body: string): string {
  return (
    `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">` +
    `<meta http-equiv="Content-Security-Policy" content="${usageCsp(nonce)}">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1.0">` +
    `<style nonce="${nonce}">${STYLE}</style><title>ARGO usage</title></head>` +
    `<body><div id="root">${body}</div><script nonce="${nonce}">${SCRIPT}</script></body></html>`
  );
}
