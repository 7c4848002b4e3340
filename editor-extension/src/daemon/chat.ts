// The language models' wire side, in plain Node: which chat models the daemon
// serves (`models.list`, docs/control.md), a conversation turned into one Anthropic
// Messages request (`POST /v1/messages`, docs/translation.md; the daemon serves every
// ARGO model in that format), its stream read back as text and tool calls, and the
// daemon's token count (`POST /v1/messages/count_tokens`). The VS Code adapter
// (languageModels.ts) only maps VS Code's parts to these types and back.
//
// Anthropic's format is chosen because VS Code's own message model is the same
// shape: tool calls are parts of an assistant turn, tool results parts of a user
// turn, images parts of either.
import { clientUrl } from "./access";

import type { ChatModel } from "./protocol";

// The wire types of `models.list` live in protocol.ts; named here too for the adapters.
export type { ChatModel, ModelsListResult } from "./protocol";

export interface TextPart {
  type: "text";
  text: string;
}

export interface ImagePart {
  type: "image";
  mimeType: string;
  data: Uint8Array;
}

export interface ToolCallPart {
  type: "toolCall";
  callId: string;
  name: string;
  input: object;
}

export interface ToolResultPart {
  type: "toolResult";
  callId: string;
  content: (TextPart | ImagePart)[];
}

export type ChatPart = TextPart | ImagePart | ToolCallPart | ToolResultPart;

export interface ChatMessage {
  role: "user" | "assistant" | "system";
  parts: ChatPart[];
}

export interface ChatTool {
  name: string;
  description: string;
  inputSchema?: object;
}

export interface ChatRequest {
  model: ChatModel;
  messages: ChatMessage[];
  tools?: readonly ChatTool[];
  /** `required`: the model must call one of the tools. */
  toolMode?: "auto" | "required";
  /** The caller's `modelOptions`: `max_tokens`, `temperature`, `top_p`, `stop_sequences` are passed on. */
  options?: Readonly<Record<string, unknown>>;
}

/** What a stream yields: text as it comes, each tool call once its arguments are complete. */
export type ChatEvent = { type: "text"; text: string } | { type: "toolCall"; callId: string; name: string; input: object };

/** Where the daemon's HTTP API is and the key it wants. */
export interface Endpoint {
  listenUrl: string;
  key: string;
  /** The extension's version: the daemon's records name the client `argo-proxy-vscode` by it. */
  version?: string;
}

export type ChatErrorKind = "auth" | "notFound" | "badRequest" | "upstream" | "unavailable" | "cancelled";

/** A failed request, with the daemon's own message. */
export class ChatError extends Error {
  constructor(
    message: string,
    readonly kind: ChatErrorKind,
    readonly status?: number,
  ) {
    super(message);
    this.name = "ChatError";
  }
}

/** The output budget when the caller names none: the model's, up to a size every ARGO model streams. */
export const DEFAULT_MAX_TOKENS = 16_384;
const PASSED_OPTIONS = ["temperature", "top_p", "top_k", "stop_sequences"];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function base64(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64");
}

type Block = Record<string, unknown>;

function imageBlock(part: ImagePart): Block {
  return { type: "image", source: { type: "base64", media_type: part.mimeType, data: base64(part.data) } };
}

function blocksOf(message: ChatMessage): Block[] {
  const results: Block[] = [];
  const rest: Block[] = [];
  for (const part of message.parts) {
    switch (part.type) {
      case "text":
        if (part.text !== "") rest.push({ type: "text", text: part.text });
        break;
      case "image":
        rest.push(imageBlock(part));
        break;
      case "toolCall":
        rest.push({ type: "tool_use", id: part.callId, name: part.name, input: part.input });
        break;
      case "toolResult": {
        const content = part.content.map((c) => (c.type === "text" ? { type: "text", text: c.text } : imageBlock(c)));
        // a result with no text at all is sent as an empty string: Anthropic rejects empty text blocks
        const nonEmpty = content.filter((c) => c.type !== "text" || c.text !== "");
        results.push({ type: "tool_result", tool_use_id: part.callId, content: nonEmpty.length ? nonEmpty : "" });
        break;
      }
    }
  }
  // Anthropic wants a user turn's tool results before anything else in it
  return [...results, ...rest];
}

/** The Anthropic Messages body for a conversation (streamed). */
export function messagesBody(request: ChatRequest): Record<string, unknown> {
  const system: string[] = [];
  const messages: { role: "user" | "assistant"; content: Block[] }[] = [];
  for (const message of request.messages) {
    if (message.role === "system") {
      for (const part of message.parts) if (part.type === "text" && part.text) system.push(part.text);
      continue;
    }
    const content = blocksOf(message);
    if (!content.length) continue;
    const last = messages[messages.length - 1];
    // two turns of one role in a row become one: not every ARGO model takes them apart
    if (last?.role === message.role) {
      const results = content.filter((b) => b.type === "tool_result");
      const others = content.filter((b) => b.type !== "tool_result");
      const lastResults = last.content.filter((b) => b.type === "tool_result");
      const lastOthers = last.content.filter((b) => b.type !== "tool_result");
      last.content = [...lastResults, ...results, ...lastOthers, ...others];
    } else {
      messages.push({ role: message.role, content });
    }
  }
  const options = request.options ?? {};
  const asked = options.max_tokens;
  const maxTokens =
    typeof asked === "number" && asked > 0
      ? Math.min(asked, request.model.max_output_tokens)
      : Math.min(DEFAULT_MAX_TOKENS, request.model.max_output_tokens);
  const body: Record<string, unknown> = {
    model: request.model.id,
    max_tokens: maxTokens,
    messages,
    stream: true,
  };
  if (system.length) body.system = system.join("\n\n");
  if (request.tools?.length) {
    body.tools = request.tools.map((t) => ({
      name: t.name,
      description: t.description,
      input_schema: t.inputSchema ?? { type: "object", properties: {} },
    }));
    if (request.toolMode === "required") body.tool_choice = { type: "any" };
  }
  for (const key of PASSED_OPTIONS) if (options[key] !== undefined) body[key] = options[key];
  return body;
}

function headers(endpoint: Endpoint): Record<string, string> {
  return {
    "content-type": "application/json",
    "x-api-key": endpoint.key,
    "anthropic-version": "2023-06-01",
    "user-agent": `argo-proxy-vscode/${endpoint.version ?? "0"}`,
  };
}

function kindOf(status: number): ChatErrorKind {
  if (status === 401 || status === 403) return "auth";
  if (status === 404) return "notFound";
  if (status >= 400 && status < 500) return "badRequest";
  if (status === 503) return "unavailable";
  return "upstream";
}

/** The message of an error body in any of the daemon's envelopes, else the body itself. */
export function errorMessage(body: string): string {
  try {
    const parsed: unknown = JSON.parse(body);
    if (isRecord(parsed)) {
      const error = parsed.error;
      if (isRecord(error) && typeof error.message === "string") return error.message;
      if (typeof error === "string") return error;
      if (typeof parsed.message === "string") return parsed.message;
    }
  } catch {
    // not JSON: the text is the message
  }
  return body.trim() || "no message";
}

function aborted(signal: AbortSignal | undefined, error: unknown): boolean {
  return signal?.aborted === true || (error instanceof Error && error.name === "AbortError");
}

async function post(endpoint: Endpoint, path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  let reply: Response;
  try {
    reply = await fetch(`${clientUrl(endpoint.listenUrl)}${path}`, {
      method: "POST",
      headers: headers(endpoint),
      body: JSON.stringify(body),
      signal,
    });
  } catch (error) {
    if (aborted(signal, error)) throw new ChatError("the request was cancelled", "cancelled");
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
    throw new ChatError(`argo-proxy does not answer at ${endpoint.listenUrl}${cause}`, "unavailable");
  }
  if (!reply.ok) {
    const text = await reply.text().catch(() => "");
    throw new ChatError(`argo-proxy: ${errorMessage(text)} (HTTP ${reply.status})`, kindOf(reply.status), reply.status);
  }
  return reply;
}

/** Server-sent events out of a byte stream: each event's `data` as parsed JSON. */
export async function* sseEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let buffer = "";
  const parse = (raw: string): unknown => {
    const data = raw
      .split(/\r?\n/)
      .filter((l) => l.startsWith("data:"))
      .map((l) => l.slice(5).replace(/^ /, ""))
      .join("\n");
    if (!data || data === "[DONE]") return undefined;
    return JSON.parse(data) as unknown;
  };
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    for (;;) {
      const match = /\r?\n\r?\n/.exec(buffer);
      if (!match) break;
      const raw = buffer.slice(0, match.index);
      buffer = buffer.slice(match.index + match[0].length);
      const event = parse(raw);
      if (event !== undefined) yield event;
    }
  }
  buffer += decoder.decode();
  const last = buffer.trim() ? parse(buffer) : undefined;
  if (last !== undefined) yield last;
}

interface OpenToolCall {
  id: string;
  name: string;
  json: string;
  input?: object;
}

function parseInput(call: OpenToolCall): object {
  if (call.json.trim() === "") return call.input ?? {};
  const parsed: unknown = JSON.parse(call.json);
  return isRecord(parsed) ? parsed : { value: parsed };
}

/**
 * Streams one chat request through the daemon. Aborting `signal` closes the HTTP
 * request (the daemon then stops asking ARGO). Throws a ChatError with the daemon's
 * message for an error answer or an error event in the stream.
 */
export async function* streamChat(endpoint: Endpoint, request: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatEvent> {
  const reply = await post(endpoint, "/v1/messages", messagesBody(request), signal);
  if (!reply.body) throw new ChatError("argo-proxy answered with no body", "upstream");
  const calls = new Map<number, OpenToolCall>();
  let stopped = false;
  try {
    for await (const event of sseEvents(reply.body)) {
      if (!isRecord(event)) continue;
      const index = typeof event.index === "number" ? event.index : -1;
      switch (event.type) {
        case "content_block_start": {
          const block = event.content_block;
          if (isRecord(block) && block.type === "tool_use") {
            calls.set(index, {
              id: String(block.id),
              name: String(block.name),
              json: "",
              input: isRecord(block.input) ? block.input : undefined,
            });
          } else if (isRecord(block) && block.type === "text" && typeof block.text === "string" && block.text) {
            yield { type: "text", text: block.text };
          }
          break;
        }
        case "content_block_delta": {
          const delta = event.delta;
          if (!isRecord(delta)) break;
          if (delta.type === "text_delta" && typeof delta.text === "string") yield { type: "text", text: delta.text };
          if (delta.type === "input_json_delta" && typeof delta.partial_json === "string") {
            const call = calls.get(index);
            if (call) call.json += delta.partial_json;
          }
          break;
        }
        case "content_block_stop": {
          const call = calls.get(index);
          if (call) {
            calls.delete(index);
            yield { type: "toolCall", callId: call.id, name: call.name, input: parseInput(call) };
          }
          break;
        }
        case "error": {
          const error = isRecord(event.error) ? event.error : {};
          const message = typeof error.message === "string" ? error.message : JSON.stringify(event);
          throw new ChatError(`argo-proxy: ${message}`, "upstream");
        }
        case "message_stop":
          stopped = true;
          break;
      }
    }
  } catch (error) {
    if (error instanceof ChatError) throw error;
    if (aborted(signal, error)) throw new ChatError("the request was cancelled", "cancelled");
    throw new ChatError(`argo-proxy: the stream broke off: ${error instanceof Error ? error.message : String(error)}`, "upstream");
  }
  if (!stopped) throw new ChatError("argo-proxy: the stream ended before the answer was complete", "upstream");
}

/** The daemon's token count (docs/translation.md, "Token counting": a local estimate) for messages. */
export async function countTokens(
  endpoint: Endpoint,
  model: ChatModel,
  messages: ChatMessage[],
  signal?: AbortSignal,
): Promise<number> {
  const body = messagesBody({ model, messages });
  const reply = await post(endpoint, "/v1/messages/count_tokens", { model: body.model, messages: body.messages, system: body.system }, signal);
  const parsed: unknown = await reply.json();
  if (!isRecord(parsed) || typeof parsed.input_tokens !== "number") {
    throw new ChatError("argo-proxy: the token count has no input_tokens", "upstream");
  }
  return parsed.input_tokens;
}

/** A text alone, counted as one user turn. */
export function textMessage(text: string, role: ChatMessage["role"] = "user"): ChatMessage {
  return { role, parts: [{ type: "text", text }] };
}

/**
 * Chat models from `GET /v1/models`, for a daemon older than `models.list`: no
 * limits known, so the figures every current chat model allows.
 */
export function modelsFromListing(body: unknown): ChatModel[] {
  const data = isRecord(body) && Array.isArray(body.data) ? body.data : [];
  const models: ChatModel[] = [];
  const seen = new Set<string>();
  for (const entry of data) {
    if (!isRecord(entry) || typeof entry.id !== "string" || entry.type === "embed") continue;
    const internal = typeof entry.internal_name === "string" ? entry.internal_name : entry.id;
    if (seen.has(internal)) continue;
    seen.add(internal);
    models.push({
      id: entry.id,
      internal_id: internal,
      name: entry.id.replace(/^argo:/, ""),
      family: typeof entry.owned_by === "string" ? entry.owned_by : "unknown",
      max_input_tokens: 128_000,
      max_output_tokens: 8_192,
      tool_calling: true,
      image_input: false,
    });
  }
  return models;
}
