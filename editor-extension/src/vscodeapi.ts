// Every call into the `vscode` module that the rest of the extension needs,
// in one place (only this file, extension.ts and status.ts import `vscode`).
import * as vscode from "vscode";

export type Disposable = vscode.Disposable;
export type LogOutputChannel = vscode.LogOutputChannel;
export type ExtensionContext = vscode.ExtensionContext;

export function createLogOutputChannel(name: string): vscode.LogOutputChannel {
  return vscode.window.createOutputChannel(name, { log: true });
}

export function getConfiguration(section: string): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(section);
}

export function onDidChangeConfiguration(
  listener: (e: vscode.ConfigurationChangeEvent) => void,
): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration(listener);
}

export function registerCommand(command: string, callback: () => unknown): vscode.Disposable {
  return vscode.commands.registerCommand(command, callback);
}

export function executeCommand(command: string, ...args: unknown[]): Thenable<unknown> {
  return vscode.commands.executeCommand(command, ...args);
}

/** A context key for `when` clauses in package.json. */
export function setContext(key: string, value: unknown): Thenable<unknown> {
  return vscode.commands.executeCommand("setContext", key, value);
}

export function showError(message: string, ...actions: string[]): Thenable<string | undefined> {
  return vscode.window.showErrorMessage(message, ...actions);
}

export function showInfo(message: string, ...actions: string[]): Thenable<string | undefined> {
  return vscode.window.showInformationMessage(message, ...actions);
}

export function showWarning(message: string, ...actions: string[]): Thenable<string | undefined> {
  return vscode.window.showWarningMessage(message, ...actions);
}

export interface PickItem<T> extends vscode.QuickPickItem {
  value: T;
}

export function quickPick<T>(items: PickItem<T>[], placeHolder: string): Thenable<PickItem<T> | undefined> {
  return vscode.window.showQuickPick(items, { placeHolder, matchOnDescription: true });
}

export function copyToClipboard(text: string): Thenable<void> {
  return vscode.env.clipboard.writeText(text);
}

export async function openFile(path: string): Promise<void> {
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(path));
  await vscode.window.showTextDocument(doc);
}

/** The subset of the Python extension's API used here. */
interface PythonApi {
  environments: {
    getActiveEnvironmentPath(): { path: string };
    resolveEnvironment(env: string): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
  };
}

/** The active Python interpreter, when the Python extension is installed; else undefined. */
export async function activePythonInterpreter(): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension<PythonApi>("ms-python.python");
  if (!ext) return undefined;
  try {
    const api = ext.isActive ? ext.exports : await ext.activate();
    const active = api.environments.getActiveEnvironmentPath();
    const resolved = await api.environments.resolveEnvironment(active.path);
    return resolved?.executable.uri?.fsPath ?? active.path;
  } catch {
    return undefined;
  }
}

/**
 * Terminal environment: replace the variables, or clear them all. Not persisted:
 * VS Code would keep the access token in its state database, and hand terminals
 * restored at the next start a port and token that may no longer hold.
 */
export function setTerminalEnv(
  collection: vscode.GlobalEnvironmentVariableCollection,
  env: Record<string, string> | undefined,
  description: string,
): void {
  collection.persistent = false;
  collection.clear();
  if (!env) return;
  collection.description = description;
  for (const [name, value] of Object.entries(env)) collection.replace(name, value);
}

/** A modal question; true only if the user picked `action`. */
export async function confirm(message: string, detail: string, action: string): Promise<boolean> {
  const choice = await vscode.window.showWarningMessage(message, { modal: true, detail }, action);
  return choice === action;
}

/** A notification with progress while `task` runs; `report` says the current step. */
export function withProgress<T>(title: string, task: (report: (message: string) => void) => Promise<T>): Thenable<T> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: false },
    (progress) => task((message) => progress.report({ message })),
  );
}

export function registerChatProvider(vendor: string, provider: vscode.LanguageModelChatProvider): vscode.Disposable {
  return vscode.lm.registerLanguageModelChatProvider(vendor, provider);
}
