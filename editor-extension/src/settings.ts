// `argoProxy.*` read in one place into a typed object.
import * as os from "node:os";
import { getConfiguration } from "./vscodeapi";

export const SECTION = "argoProxy";

/** `argoProxy.assistants`' default (package.json): the variables of all of them. */
const DEFAULT_ASSISTANTS = ["claude", "codex", "gemini", "aider", "openai-sdk", "anthropic-sdk"];

export interface Settings {
  executablePath: string;
  /** true: start at start-up; false: on the first command that needs the daemon. */
  autoStart: boolean;
  configFile: string;
  serveArgs: string[];
  controlSocket: string;
  wireTerminals: boolean;
  /** Whose variables terminals get: ids of `argo-proxy env --json`'s `assistants` table. */
  assistants: string[];
  /** The ARGO username clients send as API key; defaults to the login name. */
  username: string;
}

function loginName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? "";
  }
}

export function getSettings(): Settings {
  const c = getConfiguration(SECTION);
  return {
    executablePath: c.get<string>("executablePath", "").trim(),
    autoStart: c.get<boolean>("autoStart", true),
    configFile: c.get<string>("configFile", "").trim(),
    serveArgs: c.get<string[]>("serveArgs", []),
    controlSocket: c.get<string>("controlSocket", "").trim(),
    wireTerminals: c.get<boolean>("wireTerminals", true),
    assistants: c.get<string[]>("assistants", [...DEFAULT_ASSISTANTS]),
    username: c.get<string>("username", "").trim() || loginName(),
  };
}

/** Keys whose change needs the daemon restarted (several changes in a row cause one restart). */
export const RESTART_KEYS = ["executablePath", "configFile", "serveArgs", "controlSocket"] as const;

export function needsRestart(affects: (section: string) => boolean): boolean {
  return RESTART_KEYS.some((key) => affects(`${SECTION}.${key}`));
}

/** Keys that change only the terminal wiring. */
export function affectsTerminals(affects: (section: string) => boolean): boolean {
  return ["wireTerminals", "assistants", "username"].some((key) => affects(`${SECTION}.${key}`));
}
