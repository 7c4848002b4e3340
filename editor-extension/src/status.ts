// The status bar item, owned here alone: phase, port, legacy mode, active streams
// and today's tokens; the tooltip has the address, whether a token is needed,
// version, models, requests and errors, the models whose circuit breaker is open or
// half-open, and today's usage. Clicking it opens the command menu.
import * as vscode from "vscode";
import { breakerLines } from "./daemon/breakers";
import { StatusResult } from "./daemon/protocol";
import { compactCount } from "./daemon/records";
import { SupervisorState } from "./daemon/supervisor";
import { totalTokens, UsageSource, UsageTotals } from "./daemon/usage";

const ICONS: Record<SupervisorState["phase"], string> = {
  running: "$(radio-tower)",
  starting: "$(sync~spin)",
  stopping: "$(sync~spin)",
  stopped: "$(circle-slash)",
  error: "$(error)",
};

function port(url: string | undefined): string {
  if (!url) return "";
  try {
    return new URL(url).port;
  } catch {
    return "";
  }
}

/** Today's usage as the status item shows it. */
export interface TodayUsage {
  totals: UsageTotals;
  source: UsageSource;
}

export class StatusItem implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private last: { state: SupervisorState; status?: StatusResult } = { state: { phase: "stopped" } };
  private today?: TodayUsage;

  constructor(command: string) {
    this.item = vscode.window.createStatusBarItem("argoProxy.status", vscode.StatusBarAlignment.Right, 100);
    this.item.name = "argo-proxy";
    this.item.command = command;
    this.update({ phase: "stopped" });
    this.item.show();
  }

  /** Today's tokens (input + output), shown next to the state while the daemon runs. */
  setToday(today: TodayUsage | undefined): void {
    this.today = today;
    this.update(this.last.state, this.last.status);
  }

  update(state: SupervisorState, status?: StatusResult): void {
    this.last = { state, status };
    const today = state.phase === "running" ? this.today : undefined;
    const parts = [`${ICONS[state.phase]} argo-proxy`];
    if (state.phase === "running") {
      const p = port(state.listenUrl);
      if (p) parts.push(`:${p}`);
      if (state.legacy) parts.push("legacy");
      const streams = status?.counters.active_streams ?? 0;
      if (streams > 0) parts.push(`$(pulse) ${streams}`);
      if (today) parts.push(`$(graph) ${today.totals.estimated ? "~" : ""}${compactCount(totalTokens(today.totals))} tokens`);
    } else {
      parts.push(state.phase);
    }
    this.item.text = parts.join(" ");
    this.item.backgroundColor =
      state.phase === "error" ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;

    const tip = new vscode.MarkdownString(undefined, true);
    tip.appendMarkdown(`**argo-proxy**: ${state.phase}`);
    if (state.mode) tip.appendMarkdown(` (${state.mode === "attached" ? "attached to a running daemon" : "started here"})`);
    tip.appendMarkdown("\n\n");
    if (state.listenUrl) tip.appendMarkdown(`Listening on \`${state.listenUrl}\`\n\n`);
    if (state.access) {
      tip.appendMarkdown(
        state.access.auth === "token"
          ? "Access token: required\n\n"
          : "Access token: none (`auth: none`)\n\n",
      );
    }
    if (status) {
      tip.appendMarkdown(`Version ${status.version}, pid ${status.pid}\n\n`);
      tip.appendMarkdown(`Models: ${status.models.unique_models} (${status.models.total_aliases} aliases)\n\n`);
      tip.appendMarkdown(`Requests: ${status.counters.requests}, errors: ${status.counters.errors}, `);
      tip.appendMarkdown(`active streams: ${status.counters.active_streams}\n\n`);
      tip.appendMarkdown(`Legacy mode: ${status.legacy ? "on" : "off"}\n\n`);
      const breakers = breakerLines(status.breakers);
      if (breakers.length) tip.appendMarkdown(`${breakers.join("\n")}\n\n`);
    }
    if (today) {
      const t = today.totals;
      tip.appendMarkdown(
        `Today: ${totalTokens(t).toLocaleString("en-US")} tokens (${t.input_tokens.toLocaleString("en-US")} in, ` +
          `${t.output_tokens.toLocaleString("en-US")} out) in ${t.requests} requests` +
          (t.estimated ? `, ${t.estimated} estimated` : "") +
          (today.source === "records" ? " (from the requests this window has seen)" : "") +
          "\n\n",
      );
    }
    if (state.message) tip.appendText(state.message.split("\n")[0]);
    this.item.tooltip = tip;
  }

  dispose(): void {
    this.item.dispose();
  }
}
