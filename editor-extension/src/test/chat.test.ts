// The language models' wire side (src/daemon/chat.ts) against the real daemon and
// the simulated ARGO: the model list, streamed text, a tool call round trip, images
// in the history, token counts, errors with the daemon's message, and cancellation.
import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  ChatError,
  ChatEvent,
  ChatMessage,
  ChatModel,
  ChatRequest,
  countTokens,
  Endpoint,
  messagesBody,
  sseEvents,
  streamChat,
  textMessage,
} from "../daemon/chat";
import { Activity } from "../daemon/activity";
import { clientKey } from "../daemon/access";
import { toRecord } from "../daemon/records";
import { DaemonSupervisor } from "../daemon/supervisor";
import { makeSandbox, Sandbox, Simulator, startSimulator } from "./helpers";

// A 1x1 PNG.
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);

const WEATHER = {
  name: "get_weather",
  description: "The weather in a city",
  inputSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

async function collect(events: AsyncIterable<ChatEvent>): Promise<{ text: string; calls: ChatEvent[] }> {
  let text = "";
  const calls: ChatEvent[] = [];
  for await (const event of events) {
    if (event.type === "text") text += event.text;
    else calls.push(event);
  }
  return { text, calls };
}

describe("chat through the daemon", () => {
  let sim: Simulator;
  let box: Sandbox;
  let sup: DaemonSupervisor;
  let endpoint: Endpoint;
  let models: ChatModel[];

  const model = (internal: string): ChatModel => {
    const found = models.find((m) => m.internal_id === internal);
    assert.ok(found, `no ${internal} in ${models.map((m) => m.internal_id).join(", ")}`);
    return found;
  };

  before(async () => {
    // a pause between streamed words, so that a stream can be cancelled halfway
    sim = await startSimulator(["--chunk-delay-ms", "40"]);
    box = makeSandbox(sim.url);
    sup = new DaemonSupervisor(box.options());
    await sup.start();
    endpoint = { listenUrl: sup.state.listenUrl!, key: clientKey(sup.state.access, "jdoe"), version: "9.8.7" };
    await sup.refresh();
    models = await sup.listModels();
  });

  after(async () => {
    await sup.dispose();
    box.remove();
    await sim.stop();
  });

  it("lists ARGO's chat models with their limits and capabilities", () => {
    const sonnet = model("claudesonnet46");
    assert.equal(sonnet.id, "argo:claude-sonnet-4.6");
    assert.equal(sonnet.name, "Claude Sonnet 4.6");
    assert.equal(sonnet.max_input_tokens, 200_000);
    assert.equal(sonnet.tool_calling, true);
    assert.equal(sonnet.image_input, true);
    assert.ok(models.every((m) => !/embedding|ada/.test(m.id)), "no embedding models");
    assert.ok(models.length > 20);
  });

  for (const internal of ["claudesonnet46", "gpt4o", "gemini25pro"]) {
    it(`streams ${internal}'s answer as text`, async () => {
      const { text, calls } = await collect(
        streamChat(endpoint, { model: model(internal), messages: [textMessage("hello there, ARGO")] }),
      );
      assert.equal(text, "Echo: hello there, ARGO");
      assert.deepEqual(calls, []);
    });
  }

  it("is recorded by the daemon as the extension's request, and counted in today's usage", async () => {
    await collect(streamChat(endpoint, { model: model("gpt4o"), messages: [textMessage("count me")] }));
    const [latest] = (await sup.listRequests({ limit: 1 })).map(toRecord);
    assert.ok(latest);
    assert.equal(latest.client, "argo-proxy-vscode");
    assert.equal(latest.client_version, "9.8.7");
    assert.equal(latest.argo_model, "gpt4o");
    assert.ok(latest.input_tokens > 0 && latest.output_tokens > 0);
    // usage.get, or (a daemon without it) the sum of what requests.list gave
    const activity = new Activity();
    try {
      await activity.connect(sup);
      const today = activity.usage?.today;
      assert.ok(today, "today's usage");
      const row = today.rows.find((r) => r.key === latest.argo_model);
      assert.ok(row && row.requests >= 1 && row.input_tokens >= latest.input_tokens, JSON.stringify(today));
    } finally {
      activity.dispose();
    }
  });

  for (const internal of ["claudesonnet46", "gpt4o"]) {
    it(`round-trips a tool call on ${internal}: the call out, the result in, the final text`, async () => {
      const ask: ChatMessage = textMessage("what is the weather in Paris? use get_weather");
      const request: ChatRequest = { model: model(internal), messages: [ask], tools: [WEATHER] };
      const first = await collect(streamChat(endpoint, request));
      assert.equal(first.calls.length, 1, first.text);
      const call = first.calls[0];
      assert.ok(call.type === "toolCall");
      assert.equal(call.name, "get_weather");
      assert.ok(call.callId);
      assert.equal((call.input as { city?: string }).city, "what is the weather in Paris? use get_weather");

      const history: ChatMessage[] = [
        ask,
        { role: "assistant", parts: [{ type: "toolCall", callId: call.callId, name: call.name, input: call.input }] },
        {
          role: "user",
          parts: [{ type: "toolResult", callId: call.callId, content: [{ type: "text", text: "sunny, 21 C" }] }],
        },
      ];
      const second = await collect(streamChat(endpoint, { ...request, messages: history }));
      assert.deepEqual(second.calls, []);
      assert.equal(second.text, "Tool result received: sunny, 21 C");
    });
  }

  it("sends images in the history and in tool results", async () => {
    const request: ChatRequest = {
      model: model("claudesonnet46"),
      messages: [
        { role: "system", parts: [{ type: "text", text: "Be brief." }] },
        {
          role: "user",
          parts: [
            { type: "text", text: "what is in this picture" },
            { type: "image", mimeType: "image/png", data: PNG },
          ],
        },
      ],
    };
    const { text } = await collect(streamChat(endpoint, request));
    assert.equal(text, "Echo: what is in this picture");
    const body = messagesBody(request);
    assert.equal(body.system, "Be brief.");
  });

  it("counts tokens with the daemon, more for more text", async () => {
    const sonnet = model("claudesonnet46");
    const short = await countTokens(endpoint, sonnet, [textMessage("hello")]);
    const long = await countTokens(endpoint, sonnet, [textMessage("hello ".repeat(200))]);
    assert.ok(short > 0);
    assert.ok(long > short + 150, `${long} vs ${short}`);
    const withImage = await countTokens(endpoint, sonnet, [
      { role: "user", parts: [{ type: "text", text: "hello" }, { type: "image", mimeType: "image/png", data: PNG }] },
    ]);
    assert.ok(withImage >= short + 1000, `an image counts: ${withImage}`);
  });

  it("fails with the daemon's own message: an unknown model, a wrong key", async () => {
    const unknown: ChatModel = { ...model("gpt4o"), id: "argo:no-such-model" };
    await assert.rejects(collect(streamChat(endpoint, { model: unknown, messages: [textMessage("hi")] })), (e) => {
      assert.ok(e instanceof ChatError);
      assert.equal(e.kind, "notFound");
      assert.match(e.message, /not available on ARGO/);
      return true;
    });
    const wrongKey = { ...endpoint, key: "ap-wrong" };
    await assert.rejects(collect(streamChat(wrongKey, { model: model("gpt4o"), messages: [textMessage("hi")] })), (e) => {
      assert.ok(e instanceof ChatError);
      assert.equal(e.kind, "auth");
      assert.equal(e.status, 401);
      assert.match(e.message, /token/);
      return true;
    });
  });

  it("cancelling closes the request: the daemon's stream ends", async () => {
    const controller = new AbortController();
    const words = Array.from({ length: 300 }, (_, i) => `word${i}`).join(" ");
    const stream = streamChat(endpoint, { model: model("claudesonnet46"), messages: [textMessage(words)] }, controller.signal);
    let seen = "";
    await assert.rejects(
      (async () => {
        for await (const event of stream) {
          if (event.type === "text") seen += event.text;
          if (seen.length > 20 && !controller.signal.aborted) controller.abort();
        }
      })(),
      (e) => e instanceof ChatError && e.kind === "cancelled",
    );
    assert.ok(seen.length < words.length, "the answer was cut short");
    // the daemon saw the client go: no stream stays open
    const end = Date.now() + 20_000;
    for (;;) {
      const status = await sup.status();
      if (status.counters.active_streams === 0) break;
      assert.ok(Date.now() < end, `still ${status.counters.active_streams} active streams`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
});

describe("messagesBody", () => {
  const model: ChatModel = {
    id: "argo:claude-sonnet-4.6",
    internal_id: "claudesonnet46",
    name: "Claude Sonnet 4.6",
    family: "anthropic",
    max_input_tokens: 200_000,
    max_output_tokens: 64_000,
    tool_calling: true,
    image_input: true,
  };

  it("puts tool results first in their user turn and merges turns of one role", () => {
    const body = messagesBody({
      model,
      messages: [
        { role: "system", parts: [{ type: "text", text: "A" }] },
        { role: "system", parts: [{ type: "text", text: "B" }] },
        { role: "user", parts: [{ type: "text", text: "hi" }] },
        { role: "assistant", parts: [{ type: "toolCall", callId: "c1", name: "t", input: { a: 1 } }] },
        {
          role: "user",
          parts: [
            { type: "text", text: "and then" },
            { type: "toolResult", callId: "c1", content: [{ type: "text", text: "" }] },
          ],
        },
        { role: "user", parts: [{ type: "text", text: "more" }] },
        { role: "assistant", parts: [{ type: "text", text: "" }] },
      ],
      tools: [{ name: "t", description: "a tool" }],
      toolMode: "required",
      options: { max_tokens: 999_999, temperature: 0.2, unknown: true },
    });
    assert.equal(body.system, "A\n\nB");
    assert.equal(body.max_tokens, 64_000);
    assert.equal(body.temperature, 0.2);
    assert.equal(body.unknown, undefined);
    assert.deepEqual(body.tool_choice, { type: "any" });
    assert.deepEqual(body.tools, [{ name: "t", description: "a tool", input_schema: { type: "object", properties: {} } }]);
    assert.deepEqual(body.messages, [
      { role: "user", content: [{ type: "text", text: "hi" }] },
      { role: "assistant", content: [{ type: "tool_use", id: "c1", name: "t", input: { a: 1 } }] },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "c1", content: "" },
          { type: "text", text: "and then" },
          { type: "text", text: "more" },
        ],
      },
    ]);
  });

  it("asks for the model's output budget, at most 16,384 tokens, when none is given", () => {
    assert.equal(messagesBody({ model, messages: [textMessage("x")] }).max_tokens, 16_384);
    assert.equal(messagesBody({ model: { ...model, max_output_tokens: 4096 }, messages: [] }).max_tokens, 4096);
  });
});

describe("sseEvents", () => {
  it("reads events split anywhere, with CRLF, comments and [DONE]", async () => {
    const text = ': ping\r\n\r\nevent: a\r\ndata: {"x":1}\r\n\r\ndata: {"y":\ndata: 2}\n\ndata: [DONE]\n\n';
    const bytes = Buffer.from(text);
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < bytes.length; i += 3) yield await Promise.resolve(bytes.subarray(i, i + 3));
    }
    const events: unknown[] = [];
    for await (const e of sseEvents(chunks())) events.push(e);
    assert.deepEqual(events, [{ x: 1 }, { y: 2 }]);
  });
});
