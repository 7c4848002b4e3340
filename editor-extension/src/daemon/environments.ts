// ARGO's environments (docs/argo.md, "Environments") as "ARGO: Switch environment"
// offers them, which one the daemon uses now, and what to tell the user after a
// switch (`config.setEnvironment`). Plain Node.
import type { ArgoEnvironment, SetEnvironmentResult } from "./protocol";

export const ENVIRONMENTS: readonly { env: ArgoEnvironment; url: string; note: string }[] = [
  { env: "prod", url: "https://apps.inside.anl.gov/argoapi", note: "the one for real work" },
  { env: "dev", url: "https://apps-dev.inside.anl.gov/argoapi", note: "the default; may be unstable" },
  { env: "test", url: "https://apps-test.inside.anl.gov/argoapi", note: "" },
];

/** Which environment an `argo_base_url` is; undefined for any other (a tunnel, the simulator). */
export function environmentOf(argoBaseUrl: string | undefined): ArgoEnvironment | undefined {
  const url = argoBaseUrl?.replace(/\/+$/, "");
  return ENVIRONMENTS.find((e) => e.url === url)?.env;
}

/** The message after `config.setEnvironment`. */
export function environmentMessage(result: SetEnvironmentResult): string {
  if (!result.changed) return `ARGO: already on ${result.env} (${result.argo_base_url}); nothing changed.`;
  const where = result.path ? `, written to ${result.path}` : "";
  return `ARGO: now on ${result.env} (${result.argo_base_url})${where}.`;
}

/** Why the switch cannot be made with this daemon, and what to do instead. */
export function environmentUnavailable(version: string | undefined): string {
  const daemon = version ? `argo-proxy ${version}` : "this argo-proxy";
  return (
    `ARGO: Switch environment is unavailable: ${daemon} has no config.setEnvironment. ` +
    "Set argo_base_url in the config file instead (Open Config File)."
  );
}
