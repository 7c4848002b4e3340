// The ARGO view's Requests list (a tree of one level) and the read-only JSON document
// a request opens into. What to show comes from the Activity (src/daemon/activity.ts);
// the words and the tooltip from records.ts.
import * as vscode from "vscode";
import { Activity } from "./daemon/activity";
import { RequestRecord, recordDescription, recordDetails, recordLabel, statusKind, StatusKind, toRecord } from "./daemon/records";

export const REQUESTS_VIEW = "argoProxy.requests";
export const OPEN_REQUEST_COMMAND = "argoProxy.openRequest";
/** Documents of this scheme are a request's whole record; VS Code opens them read-only. */
export const RECORD_SCHEME = "argo-request";

/** Each status's icon and theme colour (made when drawn: nothing of vscode runs at import). */
const ICONS: Record<StatusKind, [icon: string, color: string]> = {
  ok: ["pass", "testing.iconPassed"],
  clientError: ["warning", "list.warningForeground"],
  serverError: ["error", "list.errorForeground"],
};

function statusIcon(status: number): vscode.ThemeIcon {
  const [icon, color] = ICONS[statusKind(status)];
  return new vscode.ThemeIcon(icon, new vscode.ThemeColor(color));
}

function tooltip(record: RequestRecord): vscode.MarkdownString {
  const tip = new vscode.MarkdownString();
  for (const [name, value] of recordDetails(record)) {
    tip.appendMarkdown(`**${name}**: `);
    tip.appendText(value); // escaped: a model name is whatever the client sent
    tip.appendMarkdown("  \n");
  }
  return tip;
}

export class RequestsTree implements vscode.TreeDataProvider<RequestRecord>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly activity: Activity) {
    this.subscription = activity.onRequests(() => this.changed.fire(undefined));
  }

  getChildren(element?: RequestRecord): RequestRecord[] {
    return element ? [] : [...this.activity.requests.items];
  }

  getTreeItem(record: RequestRecord): vscode.TreeItem {
    const item = new vscode.TreeItem(recordLabel(record), vscode.TreeItemCollapsibleState.None);
    item.id = record.id;
    item.description = recordDescription(record);
    item.tooltip = tooltip(record);
    item.iconPath = statusIcon(record.status);
    item.contextValue = "argoRequest";
    item.accessibilityInformation = { label: `${recordLabel(record)}, status ${record.status}, ${recordDescription(record)}` };
    item.command = { command: OPEN_REQUEST_COMMAND, title: "Open the request's record", arguments: [record.id] };
    return item;
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}

export function recordUri(id: string): vscode.Uri {
  return vscode.Uri.from({ scheme: RECORD_SCHEME, path: `/${id}.json` });
}

/** A record as a JSON document: from the list, else asked of the daemon (`requests.get`). */
export class RecordDocuments implements vscode.TextDocumentContentProvider {
  constructor(
    private readonly activity: Activity,
    private readonly fetch: (id: string) => Promise<unknown>,
  ) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const id = uri.path.replace(/^\//, "").replace(/\.json$/, "");
    const record = this.activity.requests.get(id) ?? toRecord(await this.fetch(id));
    if (!record) throw new Error(`no record of request ${id}`);
    return `${JSON.stringify(record, null, 2)}\n`;
  }
}

/** Registers the tree, the documents and the command that opens one. */
export function registerRequestsView(activity: Activity, fetch: (id: string) => Promise<unknown>): vscode.Disposable {
  const tree = new RequestsTree(activity);
  const view = vscode.window.createTreeView(REQUESTS_VIEW, { treeDataProvider: tree });
  const count = (): void => {
    const n = activity.requests.items.length;
    view.description = n ? `${n}` : undefined;
  };
  count();
  return vscode.Disposable.from(
    tree,
    view,
    activity.onRequests(count),
    vscode.workspace.registerTextDocumentContentProvider(RECORD_SCHEME, new RecordDocuments(activity, fetch)),
    vscode.commands.registerCommand(OPEN_REQUEST_COMMAND, async (id: unknown) => {
      if (typeof id !== "string") return;
      const doc = await vscode.workspace.openTextDocument(recordUri(id));
      await vscode.window.showTextDocument(doc, { preview: true });
    }),
  );
}
