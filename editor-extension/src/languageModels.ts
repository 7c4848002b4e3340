// ARGO's chat models as VS Code language models (vendor `argo`): the Chat view's
// model picker and every extension using `vscode.lm` reach them. This module only
// maps between VS Code's types and src/daemon/chat.ts, which does the talking.
import * as vscode from "vscode";
import {
  ChatError,
  ChatMessage,
  ChatModel,
  ChatPart,
  countTokens,
  Endpoint,
  ImagePart,
  streamChat,
  TextPart,
  textMessage,
} from "./daemon/chat";

export const VENDOR = "argo";

/** What the provider needs from the rest of the extension. */
export interface DaemonAccess {
  /** The daemon's endpoint, starting it when `start` (or undefined when it cannot run). */
  endpoint(start: boolean): Promise<Endpoint | undefined>;
  /** Its chat models (`models.list`). */
  listModels(): Promise<ChatModel[]>;
  log(message: string): void;
}

export interface ArgoModelInformation extends vscode.LanguageModelChatInformation {
  readonly argo: ChatModel;
}

/** VS Code's description of one ARGO model. */
export function modelInformation(model: ChatModel): ArgoModelInformation {
  return {
    id: model.id,
    name: model.name,
    // what `selectChatModels({ family })` matches: the alias without `argo:`, e.g. `gpt-4o`
    family: model.id.replace(/^argo:/, ""),
    version: model.internal_id,
    detail: "ARGO",
    tooltip: `${model.name} on ARGO, through argo-proxy (${model.id})`,
    maxInputTokens: model.max_input_tokens,
    maxOutputTokens: model.max_output_tokens,
    capabilities: { toolCalling: model.tool_calling, imageInput: model.image_input },
    argo: model,
  };
}

const decoder = new TextDecoder();

function dataPart(part: { mimeType: string; data: Uint8Array }): TextPart | ImagePart | undefined {
  if (part.mimeType.startsWith("image/")) return { type: "image", mimeType: part.mimeType, data: part.data };
  if (part.mimeType.startsWith("text/") || part.mimeType.includes("json")) {
    return { type: "text", text: decoder.decode(part.data) };
  }
  return undefined; // e.g. cache-control markers: nothing the model reads
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** A tool result's content: text, images, and prompt-tsx parts as their JSON. */
function resultContent(content: readonly unknown[]): (TextPart | ImagePart)[] {
  const out: (TextPart | ImagePart)[] = [];
  for (const item of content) {
    if (item instanceof vscode.LanguageModelTextPart) out.push({ type: "text", text: item.value });
    else if (item instanceof vscode.LanguageModelDataPart) {
      const part = dataPart(item);
      if (part) out.push(part);
    } else if (item instanceof vscode.LanguageModelPromptTsxPart) out.push({ type: "text", text: JSON.stringify(item.value) });
    else if (isObject(item) && typeof item.value === "string") out.push({ type: "text", text: item.value });
  }
  return out;
}

/** One part of a message, by class (or, for parts another copy of the API made, by shape). */
function chatPart(part: unknown): ChatPart | undefined {
  if (part instanceof vscode.LanguageModelTextPart) return { type: "text", text: part.value };
  if (part instanceof vscode.LanguageModelToolCallPart) {
    return { type: "toolCall", callId: part.callId, name: part.name, input: part.input };
  }
  if (part instanceof vscode.LanguageModelToolResultPart) {
    return { type: "toolResult", callId: part.callId, content: resultContent(part.content) };
  }
  if (part instanceof vscode.LanguageModelDataPart) return dataPart(part);
  if (!isObject(part)) return undefined;
  if (typeof part.callId === "string" && typeof part.name === "string" && isObject(part.input)) {
    return { type: "toolCall", callId: part.callId, name: part.name, input: part.input };
  }
  if (typeof part.callId === "string" && Array.isArray(part.content)) {
    return { type: "toolResult", callId: part.callId, content: resultContent(part.content as unknown[]) };
  }
  if (typeof part.mimeType === "string" && part.data instanceof Uint8Array) {
    return dataPart({ mimeType: part.mimeType, data: part.data });
  }
  if (typeof part.value === "string") return { type: "text", text: part.value };
  return undefined;
}

export function chatMessage(message: vscode.LanguageModelChatRequestMessage): ChatMessage {
  const role =
    message.role === vscode.LanguageModelChatMessageRole.User
      ? "user"
      : message.role === vscode.LanguageModelChatMessageRole.Assistant
        ? "assistant"
        : "system"; // the System role some callers (the Chat view) send
  const parts = message.content.map(chatPart).filter((p): p is ChatPart => p !== undefined);
  return { role, parts };
}

/** A ChatError as VS Code's LanguageModelError, keeping the daemon's message. */
export function languageModelError(error: unknown): Error {
  if (error instanceof ChatError) {
    switch (error.kind) {
      case "cancelled":
        return new vscode.CancellationError();
      case "auth":
        return vscode.LanguageModelError.NoPermissions(error.message);
      case "notFound":
        return vscode.LanguageModelError.NotFound(error.message);
      default:
        return new vscode.LanguageModelError(error.message);
    }
  }
  return new vscode.LanguageModelError(error instanceof Error ? error.message : String(error));
}

function abortOn(token: vscode.CancellationToken): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  if (token.isCancellationRequested) controller.abort();
  const sub = token.onCancellationRequested(() => controller.abort());
  return {
    signal: controller.signal,
    dispose: () => {
      sub.dispose();
    },
  };
}

export class ArgoChatProvider implements vscode.LanguageModelChatProvider<ArgoModelInformation>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeLanguageModelChatInformation = this.changed.event;
  /** The models last listed, by id: what a request's model is looked up in. */
  private known = new Map<string, ChatModel>();

  constructor(
    private readonly daemon: DaemonAccess,
    private readonly autoStart: () => boolean,
  ) {}

  /** The daemon's models may have changed (it started, stopped, refreshed its list). */
  refresh(): void {
    this.changed.fire();
  }

  dispose(): void {
    this.changed.dispose();
  }

  async provideLanguageModelChatInformation(
    options: vscode.PrepareLanguageModelChatModelOptions,
    _token: vscode.CancellationToken,
  ): Promise<ArgoModelInformation[]> {
    // asked silently (at start-up, by the model picker) it starts the daemon only if that is
    // the setting; asked by the user, always
    const endpoint = await this.daemon.endpoint(!options.silent || this.autoStart());
    if (!endpoint) return [];
    try {
      const models = await this.daemon.listModels();
      this.known = new Map(models.map((m) => [m.id, m]));
      return models.map(modelInformation);
    } catch (error) {
      this.daemon.log(`could not list ARGO's models: ${error instanceof Error ? error.message : String(error)}`);
      return [];
    }
  }

  /** Our own description of a model VS Code hands back (which may be a copy without `argo`). */
  private modelFor(info: vscode.LanguageModelChatInformation & { argo?: ChatModel }): ChatModel {
    const found = this.known.get(info.id) ?? info.argo;
    if (found) return found;
    return {
      id: info.id,
      internal_id: info.version,
      name: info.name,
      family: info.family,
      max_input_tokens: info.maxInputTokens,
      max_output_tokens: info.maxOutputTokens,
      tool_calling: Boolean(info.capabilities.toolCalling),
      image_input: Boolean(info.capabilities.imageInput),
    };
  }

  async provideLanguageModelChatResponse(
    model: ArgoModelInformation,
    messages: readonly vscode.LanguageModelChatRequestMessage[],
    options: vscode.ProvideLanguageModelChatResponseOptions,
    progress: vscode.Progress<vscode.LanguageModelResponsePart>,
    token: vscode.CancellationToken,
  ): Promise<void> {
    const endpoint = await this.daemon.endpoint(true);
    if (!endpoint) throw new vscode.LanguageModelError("argo-proxy is not running; see the argo-proxy log for why.");
    const abort = abortOn(token);
    try {
      const request = {
        model: this.modelFor(model),
        messages: messages.map(chatMessage),
        tools: options.tools?.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema })),
        toolMode: options.toolMode === vscode.LanguageModelChatToolMode.Required ? ("required" as const) : ("auto" as const),
        options: options.modelOptions,
      };
      for await (const event of streamChat(endpoint, request, abort.signal)) {
        if (event.type === "text") progress.report(new vscode.LanguageModelTextPart(event.text));
        else progress.report(new vscode.LanguageModelToolCallPart(event.callId, event.name, event.input));
      }
    } catch (error) {
      throw languageModelError(error);
    } finally {
      abort.dispose();
    }
  }

  async provideTokenCount(
    model: ArgoModelInformation,
    text: string | vscode.LanguageModelChatRequestMessage,
    token: vscode.CancellationToken,
  ): Promise<number> {
    const message = typeof text === "string" ? textMessage(text) : chatMessage(text);
    const endpoint = await this.daemon.endpoint(false);
    const abort = abortOn(token);
    try {
      if (endpoint) return await countTokens(endpoint, this.modelFor(model), [message], abort.signal);
    } catch (error) {
      if (error instanceof ChatError && error.kind === "cancelled") throw new vscode.CancellationError();
      this.daemon.log(`token count by the daemon failed, estimating: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      abort.dispose();
    }
    // the daemon is not running: about four characters a token
    const chars = message.parts.reduce((n, p) => n + (p.type === "text" ? p.text.length : 4000), 0);
    return Math.ceil(chars / 4);
  }
}
