// Vercel AI SDK against ByteSpike: one case, described by the JSON file named in argv[2].
// The model reads a note with a tool (a round trip: call, execute, answer), streamed or not;
// prints one JSON line with what the SDK parsed. Providers: @ai-sdk/anthropic (Messages) and
// @ai-sdk/openai via .chat() (Chat Completions).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { generateText, jsonSchema, stepCountIs, streamText, tool } from "ai";
import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const model = cfg.surface === "anthropic"
  ? createAnthropic({ baseURL: `${cfg.baseURL}/v1`, apiKey: cfg.apiKey, headers: cfg.headers })(cfg.model)
  : createOpenAI({ baseURL: `${cfg.baseURL}/v1`, apiKey: cfg.apiKey, headers: cfg.headers }).chat(cfg.model);

const tools = {
  read_note: tool({
    description: "Read a note file from the working directory",
    inputSchema: jsonSchema({ type: "object", properties: { name: { type: "string" } }, required: ["name"] }),
    execute: async ({ name }) => readFileSync(join(cfg.workdir, name), "utf8"),
  }),
};

function credits(value, out = []) {  // usage.credits wherever the provider metadata kept it
  if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === "credits" && typeof v === "number") out.push(v); else credits(v, out);
    }
  }
  return out;
}

const result = { error: null, text: "", toolCalls: [], toolResults: [], credits: [] };
try {
  const options = { model, tools, prompt: cfg.prompt, stopWhen: stepCountIs(4), maxRetries: 0 };
  let steps;
  if (cfg.mode === "stream") {
    let streamError = null;
    const stream = streamText({ ...options, onError: ({ error }) => { streamError = error; } });
    for await (const _ of stream.fullStream) { /* consume */ }
    if (streamError) throw streamError;
    result.text = await stream.text;
    steps = await stream.steps;
  } else {
    const out = await generateText(options);
    result.text = out.text;
    steps = out.steps;
  }
  for (const step of steps) {
    for (const call of step.toolCalls) result.toolCalls.push({ name: call.toolName, input: call.input });
    for (const r of step.toolResults) result.toolResults.push(String(r.output));
    result.credits.push(...credits(step.providerMetadata));
  }
} catch (err) {
  result.error = `${err?.name ?? "Error"}: ${err?.message ?? err} ${err?.responseBody ?? ""}`;
}
process.stdout.write(JSON.stringify(result) + "\n");
