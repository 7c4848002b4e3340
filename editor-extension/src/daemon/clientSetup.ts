// A copyable set-up text per client ("Copy the set-up of a client"): shell exports
// or a snippet that read the key when they run, never the secret itself. The files
// an assistant reads are written by `argo-proxy setup` (wiring.ts), not here.
import { type Access, clientUrl } from "./access";

export const CLIENTS = ["claude", "codex", "gemini", "aider", "openai-sdk", "anthropic-sdk"] as const;
export type Client = (typeof CLIENTS)[number];

export const CLIENT_LABELS: Record<Client, string> = {
  claude: "Claude Code",
  codex: "Codex CLI",
  gemini: "Gemini CLI",
  aider: "Aider",
  "openai-sdk": "OpenAI SDK",
  "anthropic-sdk": "Anthropic SDK",
};

/** A word for a POSIX shell: as it is when safe, else single-quoted. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Where the `argo-proxy` a pasted command runs is, and which daemon it asks. */
export interface CommandPlace {
  /** The executable's path when it is not on PATH; else `argo-proxy`. */
  executable?: string;
  /** The control socket when it is not the default one. */
  controlSocket?: string;
}

/** `argo-proxy token` or `argo-proxy run … --`, asking the same daemon as the editor. */
export function argoProxyCommand(sub: "token" | "run", place: CommandPlace = {}): string {
  const words = [place.executable ? shellQuote(place.executable) : "argo-proxy", sub];
  if (place.controlSocket) words.push("--control-socket", shellQuote(place.controlSocket));
  if (sub === "run") words.push("--");
  return words.join(" ");
}

/** How a set-up text names the key. */
export interface KeyText {
  /** For shells: `"$(argo-proxy token)"`, or the username (`auth: none`). */
  shell: string;
  /** For Python: `os.environ["ARGO_PROXY_TOKEN"]`, or the username as a literal. */
  python: string;
  /** Lines a Python snippet starts with (`import os`, where the variable comes from). */
  pythonPrelude: string[];
  /** `argo-proxy run --`: runs a command with every variable set. */
  run: string;
}

/**
 * The key as a set-up shows it. With `auth: token` the secret itself never goes to
 * the clipboard (clipboard managers keep it, and it is easy to paste in the wrong
 * place); the text reads it when it runs, so it also stays right after a rotation.
 */
export function keyText(access: Access | undefined, user: string, place: CommandPlace = {}): KeyText {
  const run = argoProxyCommand("run", place);
  if (access?.auth === "token") {
    return {
      shell: `"$(${argoProxyCommand("token", place)})"`,
      python: 'os.environ["ARGO_PROXY_TOKEN"]',
      pythonPrelude: [
        "# ARGO_PROXY_TOKEN: set in VS Code's terminals; elsewhere start with",
        `# ${run} python your_script.py`,
        "import os",
      ],
      run,
    };
  }
  return { shell: shellQuote(user), python: JSON.stringify(user), pythonPrelude: [], run };
}

/** A copyable set-up for one client, pointing at the daemon's real URL. */
export function clientSetup(client: Client, listenUrl: string, key: KeyText): string {
  const base = clientUrl(listenUrl);
  const viaRun = `# or, with none of these exports: ${key.run} `;
  switch (client) {
    case "claude":
      return [
        `export ANTHROPIC_BASE_URL=${base}`,
        `export ANTHROPIC_API_KEY=${key.shell}`,
        "export CLAUDE_CODE_SKIP_ANTHROPIC_AUTH=1",
        "claude --model claude-sonnet-4-6",
        `${viaRun}claude --model claude-sonnet-4-6`,
      ].join("\n");
    case "codex":
      return [
        "# ~/.codex/config.toml",
        'model_provider = "argo"',
        'model = "argo:gpt-4o"',
        "",
        "[model_providers.argo]",
        'name = "argo-proxy"',
        `base_url = "${base}/v1"`,
        'env_key = "ARGO_PROXY_TOKEN"',
        'wire_api = "responses"',
        "",
        "# VS Code's terminals have ARGO_PROXY_TOKEN; elsewhere:",
        `# export ARGO_PROXY_TOKEN=${key.shell}`,
        `# or: ${key.run} codex`,
      ].join("\n");
    case "gemini":
      return [
        `export GOOGLE_GEMINI_BASE_URL=${base}`,
        `export GEMINI_API_KEY=${key.shell}`,
        '# ~/.gemini/settings.json: {"security": {"auth": {"selectedType": "gemini-api-key"}}}',
        "gemini -m gemini-2.5-pro",
        `${viaRun}gemini -m gemini-2.5-pro`,
      ].join("\n");
    case "aider":
      return [
        `export OPENAI_API_BASE=${base}/v1`,
        `export OPENAI_API_KEY=${key.shell}`,
        "aider --model openai/argo:gpt-4o",
        `${viaRun}aider --model openai/argo:gpt-4o`,
      ].join("\n");
    case "openai-sdk":
      return [
        ...key.pythonPrelude,
        "from openai import OpenAI",
        `client = OpenAI(base_url="${base}/v1", api_key=${key.python})`,
      ].join("\n");
    case "anthropic-sdk":
      return [
        ...key.pythonPrelude,
        "from anthropic import Anthropic",
        `client = Anthropic(base_url="${base}", api_key=${key.python})`,
      ].join("\n");
  }
}
