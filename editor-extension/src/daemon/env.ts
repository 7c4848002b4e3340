// What coding assistants read to find the proxy: environment variables for
// integrated terminals, and a copyable set-up text per client.

export const ASSISTANTS = ["claude", "codex", "gemini", "aider", "openai-sdk", "anthropic-sdk"] as const;
export type Assistant = (typeof ASSISTANTS)[number];

export const ASSISTANT_LABELS: Record<Assistant, string> = {
  claude: "Claude Code",
  codex: "Codex CLI",
  gemini: "Gemini CLI",
  aider: "Aider",
  "openai-sdk": "OpenAI SDK",
  "anthropic-sdk": "Anthropic SDK",
};

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

/** The variables each assistant reads (the proxy takes the ARGO username as API key). */
function variablesFor(assistant: Assistant, url: string, user: string): Record<string, string> {
  const base = trimSlash(url);
  const anthropic = { ANTHROPIC_BASE_URL: base, ANTHROPIC_API_KEY: user };
  const openai = { OPENAI_BASE_URL: `${base}/v1`, OPENAI_API_BASE: `${base}/v1`, OPENAI_API_KEY: user };
  switch (assistant) {
    case "claude":
      return { ...anthropic, CLAUDE_CODE_SKIP_ANTHROPIC_AUTH: "1" };
    case "anthropic-sdk":
      return anthropic;
    case "codex":
      return { ...openai, ARGO_USERNAME: user };
    case "aider":
    case "openai-sdk":
      return openai;
    case "gemini":
      return { GOOGLE_GEMINI_BASE_URL: base, GEMINI_API_KEY: user };
  }
}

/** Environment for integrated terminals, for the chosen assistants (all by default). */
export function terminalEnv(
  url: string,
  user: string,
  assistants: readonly Assistant[] = ASSISTANTS,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const a of assistants) Object.assign(env, variablesFor(a, url, user));
  return env;
}

/** A copyable set-up for one client, pointing at `url`. */
export function clientSetup(assistant: Assistant, url: string, user: string): string {
  const base = trimSlash(url);
  switch (assistant) {
    case "claude":
      return [
        `export ANTHROPIC_BASE_URL=${base}`,
        `export ANTHROPIC_API_KEY=${user}`,
        "export CLAUDE_CODE_SKIP_ANTHROPIC_AUTH=1",
        "claude --model claude-sonnet-4-6",
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
        'env_key = "ARGO_USERNAME"',
        'wire_api = "responses"',
        "",
        `# then: export ARGO_USERNAME=${user}`,
      ].join("\n");
    case "gemini":
      return [
        `export GOOGLE_GEMINI_BASE_URL=${base}`,
        `export GEMINI_API_KEY=${user}`,
        '# ~/.gemini/settings.json: {"security": {"auth": {"selectedType": "gemini-api-key"}}}',
        "gemini -m gemini-2.5-pro",
      ].join("\n");
    case "aider":
      return [
        `export OPENAI_API_BASE=${base}/v1`,
        `export OPENAI_API_KEY=${user}`,
        "aider --model openai/argo:gpt-4o",
      ].join("\n");
    case "openai-sdk":
      return [
        "from openai import OpenAI",
        `client = OpenAI(base_url="${base}/v1", api_key="${user}")`,
      ].join("\n");
    case "anthropic-sdk":
      return [
        "from anthropic import Anthropic",
        `client = Anthropic(base_url="${base}", api_key="${user}")`,
      ].join("\n");
  }
}
