// Writing a coding assistant's own settings so it uses the daemon — as pure
// functions from the old content to the new, keeping everything that was there.
// The extension shows the change and writes it only after the user confirms.

/** One entry of Claude Code's `claudeCode.environmentVariables` setting. */
export interface EnvEntry {
  name: string;
  value: string;
}

/** The variables Claude Code needs to reach the daemon. */
export function claudeCodeVariables(url: string, user: string): EnvEntry[] {
  return [
    { name: "ANTHROPIC_BASE_URL", value: url.replace(/\/+$/, "") },
    { name: "ANTHROPIC_API_KEY", value: user },
    { name: "CLAUDE_CODE_SKIP_ANTHROPIC_AUTH", value: "1" },
  ];
}

function isEnvEntry(value: unknown): value is EnvEntry {
  if (typeof value !== "object" || value === null) return false;
  const entry = value as Record<string, unknown>;
  return typeof entry.name === "string" && typeof entry.value === "string";
}

/** Claude Code's variables with ours set: other entries kept, in their order. */
export function withClaudeCodeVariables(existing: unknown, url: string, user: string): EnvEntry[] {
  const ours = claudeCodeVariables(url, user);
  const names = new Set(ours.map((e) => e.name));
  const kept = (Array.isArray(existing) ? existing : []).filter(isEnvEntry).filter((e) => !names.has(e.name));
  return [...kept, ...ours];
}

const PROVIDER = "argo";
const HEADER = /^\s*\[([^\]]+)\]\s*(#.*)?$/;

/** The `[model_providers.argo]` table Codex needs (Responses wire API, username as key). */
export function codexProviderLines(url: string): string[] {
  return [
    `[model_providers.${PROVIDER}]`,
    'name = "ARGO via argo-proxy"',
    `base_url = "${url.replace(/\/+$/, "")}/v1"`,
    'env_key = "ARGO_USERNAME"',
    'wire_api = "responses"',
  ];
}

/**
 * `~/.codex/config.toml` with the argo provider added (or replaced) and selected.
 * Everything else — other providers, profiles, comments — stays as it was; only
 * the top-level `model_provider` line and our own table are written.
 */
export function withCodexProvider(toml: string, url: string): string {
  const lines = toml === "" ? [] : toml.replace(/\r\n/g, "\n").replace(/\n$/, "").split("\n");
  const out: string[] = [];
  let table: string | undefined; // the table the current line belongs to
  let providerSet = false;
  for (const line of lines) {
    const header = HEADER.exec(line);
    if (header) table = header[1].trim();
    if (table === `model_providers.${PROVIDER}`) continue; // replaced below
    if (table === undefined && /^\s*model_provider\s*=/.test(line)) {
      out.push(`model_provider = "${PROVIDER}"`);
      providerSet = true;
      continue;
    }
    out.push(line);
  }
  if (!providerSet) {
    // top-level keys must come before the first table
    const firstTable = out.findIndex((l) => HEADER.test(l));
    out.splice(firstTable === -1 ? out.length : firstTable, 0, `model_provider = "${PROVIDER}"`);
  }
  while (out.length > 0 && out[out.length - 1].trim() === "") out.pop();
  return [...out, ...(out.length ? [""] : []), ...codexProviderLines(url), ""].join("\n");
}

/** A commented config file for `argo-proxy serve`, for users who have none yet. */
export function configTemplate(user: string): string {
  return [
    "# argo-proxy configuration (reloaded automatically when you save).",
    "# Every key is described in argo-proxy's docs/configuration.md.",
    "config_version: '3'",
    "",
    "# Your ANL username: ARGO's only credential.",
    `user: ${user}`,
    "",
    "# ARGO environment: prod https://apps.inside.anl.gov/argoapi,",
    "# dev https://apps-dev.inside.anl.gov/argoapi (argo-proxy's default).",
    "argo_base_url: https://apps.inside.anl.gov/argoapi",
    "",
    "# Where the daemon listens (loopback only unless you change host).",
    "host: 127.0.0.1",
    "port: 44497",
    "",
    "# A model to use when a client asks for one ARGO does not have (else a 404).",
    "# default_model: argo:gpt-4.1-mini",
    "",
    "# Legacy ARGO gateway API (/v1/chat, /v1/embed, /v1/completions).",
    "use_legacy_argo: false",
    "",
  ].join("\n");
}
