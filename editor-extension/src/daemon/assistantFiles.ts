// What "Point … at argo-proxy" writes into each assistant's own config files, as
// pure functions from the files' content to their new content: Codex, Gemini CLI,
// Aider, OpenCode, Continue and Cline. Each keeps everything else in the file
// (comments too, where the format has them) and changes only its own entries; the
// extension shows the result, asks, writes it with fileEdits.ts (which can undo it)
// and keeps it current when the port or the token changes.
import * as path from "node:path";
import { applyEdits, modify, parse, ParseError } from "jsonc-parser";
import { isMap, isSeq, parseDocument } from "yaml";
import { withCodexProvider } from "./assistantSettings";
import type { ChatModel } from "./chat";
import type { FileChange } from "./fileEdits";

export const FILE_ASSISTANTS = ["codex", "gemini", "aider", "opencode", "continue", "cline"] as const;
export type FileAssistant = (typeof FILE_ASSISTANTS)[number];

/** Where the user's files are. */
export interface Places {
  home: string;
  env: Readonly<Record<string, string | undefined>>;
}

/** What to point the assistant at. */
export interface WireTarget {
  /** The daemon's base URL for clients (no `/v1`). */
  url: string;
  /** The access token (or, with `auth: none`, the username). */
  key: string;
  /** ARGO's chat models (`models.list`). */
  models: ChatModel[];
}

export interface AssistantFiles {
  label: string;
  /** The files it may write. */
  files: (places: Places) => string[];
  /** The new content of each file (`read` gives the current one, undefined when missing). */
  changes: (read: (file: string) => string | undefined, places: Places, target: WireTarget) => FileChange[];
  /** For the dialog: where the key goes. */
  keyNote: string;
}

const trimSlash = (url: string): string => url.replace(/\/+$/, "");

/** The model an assistant starts with, when the user has not chosen one: Claude Sonnet, else GPT-4o, else the first. */
export function defaultModel(models: ChatModel[]): string {
  const pick = ["claudesonnet46", "claudesonnet45", "gpt4o"];
  for (const id of pick) {
    const found = models.find((m) => m.internal_id === id);
    if (found) return found.id;
  }
  return models[0]?.id ?? "argo:gpt-4o";
}

// ------------------------------------------------------------------ JSON (with comments)

const FORMAT = { formattingOptions: { insertSpaces: true, tabSize: 2, eol: "\n" } };

function jsonRoot(text: string | undefined, file: string): Record<string, unknown> {
  if (text === undefined || text.trim() === "") return {};
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: true });
  if (errors.length || typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${file} is not a JSON object; fix it (or move it away) and try again`);
  }
  return value as Record<string, unknown>;
}

/** `text` with each (path, value) set, comments and layout kept. */
function setJson(text: string | undefined, file: string, edits: [(string | number)[], unknown][]): string {
  jsonRoot(text, file); // refuses a broken file instead of mangling it
  let out = text === undefined || text.trim() === "" ? "{}\n" : text;
  for (const [at, value] of edits) out = applyEdits(out, modify(out, at, value, FORMAT));
  return out.endsWith("\n") ? out : `${out}\n`;
}

// ------------------------------------------------------------------ dotenv

/** `.env` text with these variables set (replaced where they are, else appended). */
export function withEnvVariables(text: string | undefined, vars: Record<string, string>): string {
  const lines = text === undefined || text === "" ? [] : text.replace(/\n$/, "").split(/\r?\n/);
  const left = new Map(Object.entries(vars));
  const out = lines.map((line) => {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line);
    if (m && left.has(m[1])) {
      const value = left.get(m[1])!;
      left.delete(m[1]);
      return `${m[1]}=${value}`;
    }
    return line;
  });
  for (const [name, value] of left) out.push(`${name}=${value}`);
  return `${out.join("\n")}\n`;
}

// ------------------------------------------------------------------ the assistants

function configHome(places: Places): string {
  return places.env.XDG_CONFIG_HOME || path.join(places.home, ".config");
}

const codex: AssistantFiles = {
  label: "Codex CLI",
  files: (places) => [path.join(places.env.CODEX_HOME || path.join(places.home, ".codex"), "config.toml")],
  changes(read, places, target) {
    const [file] = this.files(places);
    const before = read(file);
    return [{ file, before, after: withCodexProvider(before ?? "", target.url) }];
  },
  keyNote:
    'No secret goes into the file: env_key = "ARGO_PROXY_TOKEN" makes Codex read the key from that variable, ' +
    "which VS Code's integrated terminals have; elsewhere start Codex with `argo-proxy run -- codex`.",
};

const gemini: AssistantFiles = {
  label: "Gemini CLI",
  files: (places) => {
    const dir = path.join(places.env.GEMINI_CLI_HOME || places.home, ".gemini");
    return [path.join(dir, "settings.json"), path.join(dir, ".env")];
  },
  changes(read, places, target) {
    const [settings, env] = this.files(places);
    const settingsBefore = read(settings);
    const envBefore = read(env);
    return [
      {
        file: settings,
        before: settingsBefore,
        after: setJson(settingsBefore, settings, [[["security", "auth", "selectedType"], "gemini-api-key"]]),
      },
      {
        file: env,
        before: envBefore,
        after: withEnvVariables(envBefore, { GOOGLE_GEMINI_BASE_URL: trimSlash(target.url), GEMINI_API_KEY: target.key }),
        mode: 0o600,
      },
    ];
  },
  keyNote:
    "GEMINI_API_KEY (the access token) goes into ~/.gemini/.env (mode 0600), which Gemini CLI reads when no " +
    ".env of a project comes first; variables already set (VS Code's terminals) win over it.",
};

function yamlDoc(text: string | undefined, file: string): ReturnType<typeof parseDocument> {
  const doc = parseDocument(text ?? "");
  if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}; fix it and try again`);
  if (doc.contents !== null && !isMap(doc.contents)) throw new Error(`${file} is not a YAML mapping`);
  return doc;
}

function yamlText(doc: ReturnType<typeof parseDocument>): string {
  const text = doc.toString({ lineWidth: 0 });
  return text.endsWith("\n") ? text : `${text}\n`;
}

const aider: AssistantFiles = {
  label: "Aider",
  files: (places) => [path.join(places.home, ".aider.conf.yml")],
  changes(read, places, target) {
    const [file] = this.files(places);
    const before = read(file);
    const doc = yamlDoc(before, file);
    doc.set("openai-api-base", `${trimSlash(target.url)}/v1`);
    doc.set("openai-api-key", target.key);
    if (!doc.has("model")) doc.set("model", `openai/${defaultModel(target.models)}`);
    return [{ file, before, after: yamlText(doc), mode: 0o600 }];
  },
  keyNote:
    "openai-api-key (the access token) goes into ~/.aider.conf.yml (mode 0600); a .aider.conf.yml in a " +
    "repository or the current folder still wins over it, as Aider has it.",
};

function opencodeFile(places: Places): string {
  const dir = path.join(configHome(places), "opencode");
  return path.join(dir, "opencode.json");
}

const opencode: AssistantFiles = {
  label: "OpenCode",
  files: (places) => [opencodeFile(places)],
  changes(read, places, target) {
    const [file] = this.files(places);
    const before = read(file);
    const root = jsonRoot(before, file);
    const models: Record<string, unknown> = {};
    for (const m of target.models) {
      models[m.id] = {
        name: `${m.name} (ARGO)`,
        tool_call: m.tool_calling,
        attachment: m.image_input,
        limit: { context: m.max_input_tokens, output: m.max_output_tokens },
      };
    }
    const provider = {
      npm: "@ai-sdk/openai-compatible",
      name: "ARGO (argo-proxy)",
      options: { baseURL: `${trimSlash(target.url)}/v1`, apiKey: "{env:ARGO_PROXY_TOKEN}" },
      models,
    };
    const edits: [(string | number)[], unknown][] = [];
    if (before === undefined || before.trim() === "") edits.push([["$schema"], "https://opencode.ai/config.json"]);
    edits.push([["provider", "argo"], provider]);
    if (root.model === undefined) edits.push([["model"], `argo/${defaultModel(target.models)}`]);
    return [{ file, before, after: setJson(before, file, edits) }];
  },
  keyNote:
    'No secret goes into the file: apiKey is "{env:ARGO_PROXY_TOKEN}", which VS Code\'s integrated terminals ' +
    "have; elsewhere start OpenCode with `argo-proxy run -- opencode`.",
};

/** Whether a Continue model entry is one of ours (an ARGO alias served by a local argo-proxy). */
function isOurContinueModel(entry: unknown): boolean {
  if (!isMap(entry)) return false;
  const model = entry.get("model");
  const base = entry.get("apiBase");
  return typeof model === "string" && model.startsWith("argo:") && typeof base === "string" && /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(base);
}

const continueDev: AssistantFiles = {
  label: "Continue",
  files: (places) => [path.join(places.env.CONTINUE_GLOBAL_DIR || path.join(places.home, ".continue"), "config.yaml")],
  changes(read, places, target) {
    const [file] = this.files(places);
    const before = read(file);
    const doc = yamlDoc(before, file);
    if (!doc.has("name")) doc.set("name", "Local Config");
    if (!doc.has("version")) doc.set("version", "1.0.0");
    if (!doc.has("schema")) doc.set("schema", "v1");
    const existing: unknown = doc.get("models");
    const ours = target.models.map((m) => {
      const capabilities = [...(m.tool_calling ? ["tool_use"] : []), ...(m.image_input ? ["image_input"] : [])];
      return doc.createNode<unknown>({
        name: `${m.name} (ARGO)`,
        provider: "openai",
        model: m.id,
        apiBase: `${trimSlash(target.url)}/v1`,
        apiKey: target.key,
        roles: ["chat", "edit", "apply"],
        capabilities,
        defaultCompletionOptions: { contextLength: m.max_input_tokens, maxTokens: Math.min(m.max_output_tokens, 16_384) },
      });
    });
    if (isSeq(existing)) {
      // edited in place, so that the user's comments in the list stay
      existing.items = [...existing.items.filter((e) => !isOurContinueModel(e)), ...ours];
    } else {
      doc.set("models", doc.createNode(ours));
    }
    return [{ file, before, after: yamlText(doc), mode: 0o600 }];
  },
  keyNote:
    "apiKey (the access token) goes into each ARGO model of ~/.continue/config.yaml (mode 0600): Continue runs " +
    "inside VS Code and cannot read the terminals' variables.",
};

const cline: AssistantFiles = {
  label: "Cline",
  files: (places) => {
    const dir = path.join(places.env.CLINE_DIR || path.join(places.home, ".cline"), "data");
    return [path.join(dir, "globalState.json"), path.join(dir, "secrets.json")];
  },
  changes(read, places, target) {
    const [state, secrets] = this.files(places);
    const stateBefore = read(state);
    const secretsBefore = read(secrets);
    const current = jsonRoot(stateBefore, state);
    const chosen =
      typeof current.actModeOpenAiModelId === "string" && current.actModeOpenAiModelId.startsWith("argo:")
        ? current.actModeOpenAiModelId
        : defaultModel(target.models);
    const model = target.models.find((m) => m.id === chosen);
    const info = model && {
      maxTokens: Math.min(model.max_output_tokens, 16_384),
      contextWindow: model.max_input_tokens,
      supportsImages: model.image_input,
      supportsPromptCache: false,
    };
    const stateEdits: [(string | number)[], unknown][] = [
      [["actModeApiProvider"], "openai"],
      [["planModeApiProvider"], "openai"],
      [["openAiBaseUrl"], `${trimSlash(target.url)}/v1`],
      [["actModeOpenAiModelId"], chosen],
      [["planModeOpenAiModelId"], chosen],
    ];
    if (info) stateEdits.push([["actModeOpenAiModelInfo"], info], [["planModeOpenAiModelInfo"], info]);
    return [
      { file: state, before: stateBefore, after: setJson(stateBefore, state, stateEdits) },
      { file: secrets, before: secretsBefore, after: setJson(secretsBefore, secrets, [[["openAiApiKey"], target.key]]), mode: 0o600 },
    ];
  },
  keyNote:
    "openAiApiKey (the access token) goes into ~/.cline/data/secrets.json (mode 0600), where Cline keeps its " +
    "keys; Cline reads its files when it starts: reload the window after writing.",
};

export const ASSISTANT_FILES: Record<FileAssistant, AssistantFiles> = {
  codex,
  gemini,
  aider,
  opencode,
  continue: continueDev,
  cline,
};
