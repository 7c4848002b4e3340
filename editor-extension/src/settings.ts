// `argoProxy.*` read in one place into a typed object.
import * as os from "node:os";
import { Assistant, ASSISTANTS } from "./daemon/env";
import { getConfiguration } from "./vscodeapi";

export const SECTION = "argoProxy";

export interface Settings {
  executablePath: string;
  /** true: start at start-up; false: on the first command that needs the daemon. */
  autoStart: boolean;
  configFile: string;
  serveArgs: string[];
  controlSocket: string;
  wireTerminals: boolean;
  assistants: Assistant[];
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
  const assistants = c.get<string[]>("assistants", [...ASSISTANTS]);
  return {
    executablePath: c.get<string>("executablePath", "").trim(),
    autoStart: c.get<boolean>("autoStart", true),
    configFile: c.get<string>("configFile", "").trim(),
    serveArgs: c.get<string[]>("serveArgs", []),
    controlSocket: c.get<string>("controlSocket", "").trim(),
    wireTerminals: c.get<boolean>("wireTerminals", true),
    assistants: ASSISTANTS.filter((a) => assistants.includes(a)),
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
