// A second extension that uses ARGO's models through `vscode.lm`, as any extension
// would: select them, stream an answer, make a tool call round trip, count tokens.
// It writes what it saw to ~/lm-client-result.json for e2e/workbench.test.mjs.
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const vscode = require("vscode");

const WEATHER = {
  name: "get_weather",
  description: "The weather in a city",
  inputSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

/** ARGO's models, once the provider has listed them (it starts the daemon first). */
async function argoModels(timeoutMs) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const models = await vscode.lm.selectChatModels({ vendor: "argo" });
    if (models.length || Date.now() > end) return models;
    // the list changes when the daemon is up; look again then (or after a while)
    await new Promise((resolve) => {
      const sub = vscode.lm.onDidChangeChatModels(() => {
        sub.dispose();
        resolve();
      });
      setTimeout(() => {
        sub.dispose();
        resolve();
      }, 3000);
    });
  }
}

async function drain(response) {
  const parts = [];
  for await (const part of response.stream) parts.push(part);
  return parts;
}

async function run() {
  const result = { trusted: vscode.workspace.isTrusted };
  const token = new vscode.CancellationTokenSource().token;
  const models = await argoModels(180_000);
  result.models = models.map((m) => ({
    id: m.id,
    name: m.name,
    vendor: m.vendor,
    family: m.family,
    version: m.version,
    maxInputTokens: m.maxInputTokens,
  }));
  const model = models.find((m) => m.id === "argo:claude-sonnet-4.6");
  if (!model) throw new Error(`no argo:claude-sonnet-4.6 among ${models.map((m) => m.id).join(", ")}`);

  const first = await model.sendRequest([vscode.LanguageModelChatMessage.User("hello from another extension")], {}, token);
  const chunks = [];
  for await (const chunk of first.text) chunks.push(chunk);
  result.text = chunks.join("");
  result.textChunks = chunks.length;

  const ask = vscode.LanguageModelChatMessage.User("what is the weather in Paris? use get_weather");
  const parts = await drain(await model.sendRequest([ask], { tools: [WEATHER] }, token));
  const call = parts.find((p) => p instanceof vscode.LanguageModelToolCallPart);
  if (!call) throw new Error(`no tool call in ${JSON.stringify(parts)}`);
  result.toolCall = { name: call.name, callId: call.callId, input: call.input };
  const answer = await drain(
    await model.sendRequest(
      [
        ask,
        vscode.LanguageModelChatMessage.Assistant([call]),
        vscode.LanguageModelChatMessage.User([
          new vscode.LanguageModelToolResultPart(call.callId, [new vscode.LanguageModelTextPart("sunny, 21 C")]),
        ]),
      ],
      { tools: [WEATHER] },
      token,
    ),
  );
  result.final = answer.filter((p) => p instanceof vscode.LanguageModelTextPart).map((p) => p.value).join("");
  result.tokens = await model.countTokens("hello world, how many tokens is this?");

  try {
    const [missing] = await vscode.lm.selectChatModels({ vendor: "argo", id: "argo:gpt-4o" });
    await drain(await missing.sendRequest([vscode.LanguageModelChatMessage.User("")], { modelOptions: { max_tokens: -5, temperature: "hot" } }, token));
    result.error = null;
  } catch (error) {
    result.error = { name: error.name, code: error.code, message: String(error.message) };
  }
  return result;
}

function activate() {
  const out = path.join(os.homedir(), "lm-client-result.json");
  run()
    .catch((error) => ({ failure: String((error && error.stack) || error) }))
    .then((result) => {
      fs.writeFileSync(`${out}.tmp`, JSON.stringify(result, null, 2));
      fs.renameSync(`${out}.tmp`, out);
    });
}

module.exports = { activate };
