// The ARGO view's Usage chart: a webview view whose page usageChart.ts draws (plain
// SVG, a strict Content-Security-Policy, the theme's colours). New figures replace the
// page's content by message while it is visible; a hidden view's page is rebuilt
// from the latest figures when it shows again.
import { randomBytes } from "node:crypto";
import * as vscode from "vscode";
import { Activity } from "./daemon/activity";
import { usageBody, usagePage } from "./daemon/usageChart";

export const USAGE_VIEW = "argoProxy.usage";

class UsageView implements vscode.WebviewViewProvider {
  private view?: vscode.WebviewView;

  constructor(
    private readonly activity: Activity,
    private readonly running: () => boolean,
  ) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    // scripts for the one nonce'd script that swaps the content; no local files at all
    view.webview.options = { enableScripts: true, localResourceRoots: [] };
    this.render();
    view.onDidChangeVisibility(() => {
      if (view.visible) this.render();
    });
    view.onDidDispose(() => {
      if (this.view === view) this.view = undefined;
    });
  }

  /** New figures: into the page if it is there, else kept for when it is. */
  update(): void {
    const view = this.view;
    if (!view) return;
    if (view.visible) void view.webview.postMessage({ html: this.body() });
    else this.render();
  }

  private body(): string {
    return usageBody(this.activity.usage, this.running());
  }

  private render(): void {
    if (this.view) this.view.webview.html = usagePage(randomBytes(16).toString("base64"), this.body());
  }
}

/** Registers the view; it follows the activity's usage and the daemon's state (`changed`). */
export function registerUsageView(activity: Activity, running: () => boolean): { update(): void } & vscode.Disposable {
  const view = new UsageView(activity, running);
  const registration = vscode.window.registerWebviewViewProvider(USAGE_VIEW, view);
  const subscription = activity.onUsage(() => view.update());
  return {
    update: () => view.update(),
    dispose: () => {
      subscription.dispose();
      registration.dispose();
    },
  };
}
