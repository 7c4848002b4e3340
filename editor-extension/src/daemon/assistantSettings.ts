// Writing a coding assistant's own settings so it uses the daemon — as pure
// functions from the old content to the new, keeping everything that was there.
// The extension shows the change and writes it only after the user confirms; later
// it keeps what it wrote current (a new port, a rotated token), but only while the
// setting still holds what it wrote: `Written` remembers that, with a hash of the key.
import { createHash } from "node:crypto";

const trimSlash = (url: string): string => url.replace(/\/+$/, "");

/** What the extension last wrote to an assistant's settings: never the key itself. */
export interface Written {
  url: string;
  keyHash?: string;
}

export function keyHash(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

function sameWritten(a: Written, b: Written): boolean {
  return trimSlash(a.url) === trimSlash(b.url) && a.keyHash === b.keyHash;
}

/** One entry of Claude Code's `claudeCode.environmentVariables` setting. */
export interface EnvEntry {
  name: string;
  value: string;
}

/** The variables Claude Code needs to reach the daemon (`key`: the access token). */
export function claudeCodeVariables(url: string, key: string): EnvEntry[] {
  return [
    { name: "ANTHROPIC_BASE_URL", value: trimSlash(url) },
    { name: "ANTHROPIC_API_KEY", value: key },
    { name: "CLAUDE_CODE_SKIP_ANTHROPIC_AUTH", value: "1" },
  ];
}

function isEnvEntry(value: unknown): value is EnvEntry {
  if (typeof value !== "object" || value === null) return false;
  const entry = value as Record<string, unknown>;
  return typeof entry.name === "string" && typeof entry.value === "string";
}

function envEntries(existing: unknown): EnvEntry[] {
  return (Array.isArray(existing) ? existing : []).filter(isEnvEntry);
}

/** Claude Code's variables with ours set: other entries kept, in their order. */
export function withClaudeCodeVariables(existing: unknown, url: string, key: string): EnvEntry[] {
  const ours = claudeCodeVariables(url, key);
  const names = new Set(ours.map((e) => e.name));
  return [...envEntries(existing).filter((e) => !names.has(e.name)), ...ours];
}

/** What Claude Code's variables point at now, in the terms of `Written`. */
export function claudeCodeWritten(existing: unknown): Written | undefined {
  const entries = envEntries(existing);
  const url = entries.find((e) => e.name === "ANTHROPIC_BASE_URL")?.value;
  const key = entries.find((e) => e.name === "ANTHROPIC_API_KEY")?.value;
  return url === undefined || key === undefined ? undefined : { url: trimSlash(url), keyHash: keyHash(key) };
}

/**
 * Claude Code's variables brought up to date with the daemon's URL and key, when
 * they still hold what the extension last wrote (`last`); undefined when they are
 * current, or when the user has changed them since (then they are theirs).
 */
export function followClaudeCode(
  existing: unknown,
  last: Written | undefined,
  url: string,
  key: string,
): EnvEntry[] | undefined {
  const found = claudeCodeWritten(existing);
  if (!last || !found || !sameWritten(found, last)) return undefined;
  if (sameWritten(found, { url, keyHash: keyHash(key) })) return undefined;
  return withClaudeCodeVariables(existing, url, key);
}

const PROVIDER = "argo";
const HEADER = /^\s*\[([^\]]+)\]\s*(#.*)?$/;

/**
 * The `[model_providers.argo]` table Codex needs: the Responses wire API, and the
 * key read from the ARGO_PROXY_TOKEN variable (`env_key`), so that no secret is
 * written into the file and a rotated token needs no edit.
 */
export function codexProviderLines(url: string): string[] {
  return [
    `[model_providers.${PROVIDER}]`,
    'name = "ARGO via argo-proxy"',
    `base_url = "${trimSlash(url)}/v1"`,
    'env_key = "ARGO_PROXY_TOKEN"',
    'wire_api = "responses"',
  ];
}

function tomlLines(toml: string): string[] {
  return toml === "" ? [] : toml.replace(/\r\n/g, "\n").replace(/\n$/, "").split("\n");
}

/**
 * `~/.codex/config.toml` with the argo provider added (or replaced) and selected.
 * Everything else — other providers, profiles, comments — stays as it was; only
 * the top-level `model_provider` line and our own table are written.
 */
export function withCodexProvider(toml: string, url: string): string {
  const lines = tomlLines(toml);
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
    "# Where the daemon listens (loopback only unless you change host). The editor",
    "# extension starts it with --port auto: when another daemon (another user's) holds",
    "# this port, it listens on a free one, and terminals get the real address.",
    "host: 127.0.0.1",
    "port: 44497",
    "",
    "# Every API request must carry the access token from token_file (default",
    "# ~/.config/argo-proxy/token); VS Code's terminals have it as ARGO_PROXY_TOKEN,",
    "# `argo-proxy token` prints it. `none` lets in anything that reaches the port.",
    "auth: token",
    "",
    "# A model to use when a client asks for one ARGO does not have (else a 404).",
    "# default_model: argo:gpt-4.1-mini",
    "",
    "# Legacy ARGO gateway API (/v1/chat, /v1/embed, /v1/completions).",
    "use_legacy_argo: false",
    "",
  ].join("\n");
}
