/* ByteSpike playground. No build step, no dependencies.
 *
 * Free runs (no key): POST /playground/estimate, then /playground/run (the server runs the
 * request on a house key it never sends here). With a pasted key (sessionStorage only):
 * /v1/messages/count_tokens, then /v1/messages or /v1/chat/completions directly.
 * Either way the answer is the surface's own SSE stream, parsed below.
 */
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const KEY_STORE = "bytespike.apiKey";
  const ANTHROPIC_VERSION = "2023-06-01";
  const EXAMPLE_TOOL = {
    name: "get_weather",
    description: "Current weather for a city.",
    input_schema: {
      type: "object",
      properties: { city: { type: "string", description: "City name, e.g. Lisbon" } },
      required: ["city"],
    },
  };

  const state = {
    models: [], // /v1/models entries (chat only)
    cfg: null, // /playground/config
    key: sessionStorage.getItem(KEY_STORE) || "",
    runsLeft: null,
    pending: null, // {surface, body, estimate} awaiting confirmation
    running: false,
    tab: "curl",
  };

  // ------------------------------------------------------------------ helpers
  const fmtInt = (n) => Number(n).toLocaleString("en-US");
  const usd = (credits) => {
    const v = Number(credits) / 1e6;
    return "$" + (v >= 0.01 ? v.toFixed(4) : v.toPrecision(2));
  };
  const perMillion = (credits) => "$" + (Number(credits) / 1e6).toFixed(2);
  const modelById = (id) => state.models.find((m) => m.id === id);
  const surface = () => document.querySelector('input[name="surface"]:checked').value;
  const freeMode = () => !state.key;
  const meta = (id) => (state.cfg && state.cfg.models[id]) || {};

  function show(el, on) { el.hidden = !on; }

  function errorMessage(body, status) {
    if (body && body.error && typeof body.error.message === "string") return body.error.message;
    return `The gateway answered ${status} without an error message.`;
  }

  async function readJson(res) {
    try { return await res.json(); } catch { return null; }
  }

  // ------------------------------------------------------------------ loading
  async function loadConfig() {
    const res = await fetch("/playground/config", { cache: "no-store" });
    state.cfg = await res.json();
    state.runsLeft = state.cfg.free.runs_left;
  }

  async function loadModels() {
    const res = await fetch("/v1/models?limit=1000", { headers: { "anthropic-version": ANTHROPIC_VERSION } });
    const body = await readJson(res);
    if (!res.ok) throw new Error(errorMessage(body, res.status));
    state.models = (body.data || []).filter((m) => (m.modality || "chat") === "chat");
  }

  // ------------------------------------------------------------------ rendering
  function renderRuns() {
    const el = $("runs");
    el.classList.remove("empty");
    if (!freeMode()) {
      el.textContent = "Using your API key: runs bill your wallet, no daily limit.";
      return;
    }
    const f = state.cfg.free;
    if (!f.available) {
      el.textContent = "Free runs are not available here: paste an API key to run.";
      return;
    }
    el.textContent = `Free runs left today: ${state.runsLeft} of ${f.runs_limit}`;
    if (state.runsLeft === 0) el.classList.add("empty");
  }

  function renderKey() {
    const on = !!state.key;
    $("key-status").textContent = on ? "Your API key is in use (this tab only)." : "";
    $("key-status").classList.toggle("on", on);
    show($("key-forget"), on);
    renderRuns();
  }

  function renderModels() {
    const select = $("model");
    const previous = select.value;
    select.textContent = "";
    const free = new Set(state.cfg.free.models);
    const groups = freeMode()
      ? [["Free to try", state.models.filter((m) => free.has(m.id)), false],
         ["With your API key", state.models.filter((m) => !free.has(m.id)), true]]
      : [["All models", state.models, false]];
    for (const [label, models, disabled] of groups) {
      if (!models.length) continue;
      const group = document.createElement("optgroup");
      group.label = label;
      for (const m of models) {
        const opt = document.createElement("option");
        opt.value = m.id;
        opt.textContent = `${m.display_name || m.id}${free.has(m.id) && !freeMode() ? " (free tier)" : ""}`;
        opt.disabled = disabled;
        group.appendChild(opt);
      }
      select.appendChild(group);
    }
    const usable = [...select.options].filter((o) => !o.disabled).map((o) => o.value);
    select.value = usable.includes(previous) ? previous : usable[0] || "";
  }

  function syncForm() {
    const m = modelById($("model").value);
    const thinking = $("thinking");
    const maxInput = $("max-tokens");
    if (!m) return;
    const p = m.pricing || {};
    $("model-hint").textContent =
      `${m.provider} · input ${perMillion(p.input)} / output ${perMillion(p.output)} per million tokens`;
    const style = m.thinking || meta(m.id).thinking;
    const always = !!meta(m.id).thinking_always_on;
    thinking.disabled = !style || always;
    if (!style) thinking.checked = false;
    if (always) thinking.checked = true;
    $("thinking-hint").textContent = !style ? "This model has no thinking mode."
      : always ? "This model always thinks." : `Thinking style: ${style}.`;
    const cap = freeMode() ? Math.min(state.cfg.free.max_tokens, m.max_tokens) : m.max_tokens;
    maxInput.max = String(cap);
    if (Number(maxInput.value) > cap) maxInput.value = String(cap);
    $("max-hint").textContent = freeMode() ? `Free runs: up to ${fmtInt(cap)}.` : `This model: up to ${fmtInt(cap)}.`;
    invalidate();
    renderCode();
  }

  function invalidate() {
    state.pending = null;
    show($("estimate"), false);
    show($("form-error"), false);
  }

  // ------------------------------------------------------------------ the request
  function thinkingFor(m, maxTokens, on, surf) {
    const style = m.thinking;
    if (!style) return {};
    if (surf === "anthropic") {
      if (!on) return style === "switch" ? { thinking: { type: "disabled" } } : {};
      if (style === "budget") {
        return { thinking: { type: "enabled", budget_tokens: Math.max(1024, Math.min(8192, maxTokens - 1)) } };
      }
      return { thinking: { type: "adaptive" } };
    }
    if (style === "switch") return { thinking: { type: on ? "enabled" : "disabled" } };
    return on ? { reasoning_effort: "medium" } : {};
  }

  /** {surface, body, countBody}: the exact API body for the chosen surface, and the
   *  Anthropic-shaped body count_tokens takes for the same request. */
  function buildRequest() {
    const m = modelById($("model").value);
    const surf = surface();
    const system = $("system").value.trim();
    const prompt = $("prompt").value;
    const maxTokens = Math.floor(Number($("max-tokens").value));
    const thinkingOn = $("thinking").checked;
    const tool = $("tool").checked;
    let body;
    if (surf === "anthropic") {
      body = { model: m.id, max_tokens: maxTokens };
      if (system) body.system = system;
      Object.assign(body, thinkingFor(m, maxTokens, thinkingOn, surf));
      if (tool) body.tools = [EXAMPLE_TOOL];
      body.messages = [{ role: "user", content: prompt }];
      body.stream = true;
    } else {
      body = { model: m.id };
      body[m.provider === "openai" ? "max_completion_tokens" : "max_tokens"] = maxTokens;
      body.messages = (system ? [{ role: "system", content: system }] : []).concat([{ role: "user", content: prompt }]);
      Object.assign(body, thinkingFor(m, maxTokens, thinkingOn, surf));
      if (tool) {
        body.tools = [{ type: "function", function: {
          name: EXAMPLE_TOOL.name, description: EXAMPLE_TOOL.description, parameters: EXAMPLE_TOOL.input_schema } }];
      }
      body.stream = true;
      body.stream_options = { include_usage: true };
    }
    const countBody = { model: m.id, max_tokens: maxTokens, messages: [{ role: "user", content: prompt }] };
    if (system) countBody.system = system;
    if (tool) countBody.tools = [EXAMPLE_TOOL];
    return { surface: surf, body, countBody, model: m, maxTokens };
  }

  function validate(req) {
    if (!req.model) return "Pick a model.";
    if (!$("prompt").value.trim()) return "Write a prompt first.";
    if (!Number.isInteger(req.maxTokens) || req.maxTokens < 1) return "Max tokens must be a whole number of at least 1.";
    const cap = Number($("max-tokens").max);
    if (req.maxTokens > cap) return `Max tokens can be at most ${fmtInt(cap)} here.`;
    if (req.body.thinking && req.body.thinking.type === "enabled" && req.body.thinking.budget_tokens >= req.maxTokens) {
      return "Thinking on this model needs max tokens above 1,024 (its budget comes out of max tokens).";
    }
    return null;
  }

  // ------------------------------------------------------------------ code view
  function py(value, indent = 0) {
    const pad = "    ".repeat(indent + 1);
    const end = "    ".repeat(indent);
    if (value === null || value === undefined) return "None";
    if (value === true) return "True";
    if (value === false) return "False";
    if (typeof value === "number") return String(value);
    if (typeof value === "string") return JSON.stringify(value);
    if (Array.isArray(value)) {
      if (!value.length) return "[]";
      return "[\n" + value.map((v) => pad + py(v, indent + 1)).join(",\n") + ",\n" + end + "]";
    }
    const keys = Object.keys(value);
    if (!keys.length) return "{}";
    return "{\n" + keys.map((k) => `${pad}${JSON.stringify(k)}: ${py(value[k], indent + 1)}`).join(",\n") + ",\n" + end + "}";
  }

  function codeFor(req) {
    const base = location.origin;
    const shell = (s) => "'" + s.replace(/'/g, "'\\''") + "'";
    const json = JSON.stringify(req.body, null, 2);
    if (state.tab === "curl") {
      if (req.surface === "anthropic") {
        return `curl ${base}/v1/messages --no-buffer \\\n  -H "x-api-key: $BYTESPIKE_API_KEY" \\\n` +
          `  -H "anthropic-version: ${ANTHROPIC_VERSION}" \\\n  -H "content-type: application/json" \\\n  -d ${shell(json)}`;
      }
      return `curl ${base}/v1/chat/completions --no-buffer \\\n  -H "Authorization: Bearer $BYTESPIKE_API_KEY" \\\n` +
        `  -H "content-type: application/json" \\\n  -d ${shell(json)}`;
    }
    const args = { ...req.body };
    delete args.stream;
    if (req.surface === "anthropic") {
      const kw = Object.entries(args).map(([k, v]) => `    ${k}=${py(v, 1)},`).join("\n");
      return `import os\nimport anthropic\n\nclient = anthropic.Anthropic(\n    base_url="${base}",\n` +
        `    api_key=os.environ["BYTESPIKE_API_KEY"],\n)\n\nwith client.messages.stream(\n${kw}\n) as stream:\n` +
        `    for text in stream.text_stream:\n        print(text, end="", flush=True)\n` +
        `    message = stream.get_final_message()\n\nprint()\nprint("credits billed:", message.usage.model_extra["credits"])\n`;
    }
    const standard = new Set(["model", "messages", "max_tokens", "max_completion_tokens", "reasoning_effort", "tools",
      "stream_options"]);
    const extra = {};
    const kwargs = [];
    for (const [k, v] of Object.entries(args)) {
      if (standard.has(k)) kwargs.push(`    ${k}=${py(v, 1)},`);
      else extra[k] = v;
    }
    if (Object.keys(extra).length) kwargs.push(`    extra_body=${py(extra, 1)},`);
    return `import os\nfrom openai import OpenAI\n\nclient = OpenAI(\n    base_url="${base}/v1",\n` +
      `    api_key=os.environ["BYTESPIKE_API_KEY"],\n)\n\nstream = client.chat.completions.create(\n${kwargs.join("\n")}\n` +
      `    stream=True,\n)\nfor chunk in stream:\n    if chunk.choices and chunk.choices[0].delta.content:\n` +
      `        print(chunk.choices[0].delta.content, end="", flush=True)\n` +
      `    if chunk.usage:\n        print()\n        print("credits billed:", chunk.usage.model_extra["credits"])\n`;
  }

  function renderCode() {
    const m = modelById($("model").value);
    if (!m) return;
    $("code").textContent = codeFor(buildRequest());
  }

  function selectTab(name, focus) {
    state.tab = name;
    for (const t of ["curl", "python"]) {
      const tab = $("tab-" + t);
      const on = t === name;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      if (on && focus) tab.focus();
    }
    $("code-panel").setAttribute("aria-labelledby", "tab-" + name);
    renderCode();
  }

  // ------------------------------------------------------------------ estimate
  async function estimate(event) {
    event.preventDefault();
    if (state.running) return;
    invalidate();
    const req = buildRequest();
    const problem = validate(req);
    if (problem) {
      $("form-error").textContent = problem;
      show($("form-error"), true);
      return;
    }
    const button = $("estimate-btn");
    button.disabled = true;
    button.textContent = "Estimating…";
    try {
      let res;
      if (freeMode()) {
        res = await fetch("/playground/estimate", {
          method: "POST", headers: { "content-type": "application/json" },
          body: JSON.stringify({ surface: req.surface, request: req.body }),
        });
      } else {
        res = await fetch("/v1/messages/count_tokens", {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": state.key, "anthropic-version": ANTHROPIC_VERSION },
          body: JSON.stringify(req.countBody),
        });
      }
      const body = await readJson(res);
      if (!res.ok) {
        $("form-error").textContent = errorMessage(body, res.status);
        show($("form-error"), true);
        return;
      }
      state.pending = { ...req, estimate: body };
      const credits = body.estimated_credits;
      const lines = [
        `Estimated cost: <strong>up to ${fmtInt(credits)} credits</strong> (${usd(credits)}) — about ` +
        `${fmtInt(body.input_tokens)} input tokens plus up to ${fmtInt(req.maxTokens)} output tokens. ` +
        "You are billed only what the model uses.",
      ];
      const spent = freeMode() && state.runsLeft <= 0;
      if (spent) {
        // Nothing to confirm: the run would be refused. Say so now, not after a click (issue 19).
        const limit = state.cfg.free.runs_limit;
        lines.push(`No free runs left today (${fmtInt(limit)} of ${fmtInt(limit)} used): this run would not start.`);
        $("limit-text").textContent = `You have used today's ${fmtInt(limit)} free runs; they come back at ` +
          `${state.cfg.free.resets_at || "midnight UTC"}. With an API key there is no daily limit: paste it under ` +
          "\"Use your own API key\".";
      } else if (freeMode()) {
        const left = state.runsLeft;
        lines.push(`Free run: uses 1 of your ${fmtInt(left)} free run${left === 1 ? "" : "s"} left today; the house wallet pays.`);
      } else {
        lines.push("Billed to your key's wallet.");
      }
      const text = $("estimate-text");
      text.textContent = "";
      lines.forEach((line, i) => {
        const p = document.createElement("span");
        p.innerHTML = line; // only numbers and fixed text above
        text.appendChild(p);
        if (i < lines.length - 1) text.appendChild(document.createElement("br"));
      });
      show($("estimate"), true);
      show($("confirm-btn"), !spent);
      show($("limit"), spent);
      if (spent) $("limit-key-btn").focus(); else $("confirm-btn").focus();
    } catch (err) {
      $("form-error").textContent = `Could not reach the gateway: ${err.message}`;
      show($("form-error"), true);
    } finally {
      button.disabled = false;
      button.textContent = "Estimate cost";
    }
  }

  // ------------------------------------------------------------------ run + stream
  function resetOutput() {
    const out = $("output");
    out.textContent = "";
    $("result").textContent = "";
    show($("error"), false);
    show($("limit"), false);
  }

  function showError(message, kind) {
    const box = $("error");
    box.textContent = "";
    const strong = document.createElement("span");
    strong.className = "kind";
    strong.textContent = (kind ? kind + ": " : "Error: ");
    box.appendChild(strong);
    box.appendChild(document.createTextNode(message));
    show(box, true);
  }

  class Renderer {
    constructor(out) {
      this.out = out;
      this.blocks = new Map(); // index -> {type, el, body, json}
      this.usage = null;
      this.credits = null;
      this.stop = null;
      this.gotContent = false;
    }
    stick(fn) {
      const atBottom = this.out.scrollHeight - this.out.scrollTop - this.out.clientHeight < 24;
      fn();
      if (atBottom) this.out.scrollTop = this.out.scrollHeight;
    }
    open(index, type, name) {
      let el;
      let body;
      if (type === "thinking") {
        el = document.createElement("details");
        el.className = "block thinking";
        el.open = true;
        const s = document.createElement("summary");
        s.textContent = "Thinking";
        body = document.createElement("div");
        body.className = "body";
        el.append(s, body);
      } else if (type === "tool_use") {
        el = document.createElement("div");
        el.className = "block tool";
        el.setAttribute("role", "group");
        el.setAttribute("aria-label", `Tool call ${name}`);
        const head = document.createElement("p");
        head.className = "head";
        head.textContent = `Tool call · ${name}`;
        body = document.createElement("pre");
        el.append(head, body);
      } else if (type === "redacted_thinking") {
        el = document.createElement("p");
        el.className = "block thinking";
        el.textContent = "Thinking (redacted by the provider)";
        body = el;
      } else {
        el = document.createElement("div");
        el.className = "block text";
        body = el;
      }
      const block = { type, el, body, json: "" };
      this.blocks.set(index, block);
      this.stick(() => this.out.appendChild(el));
      return block;
    }
    append(index, type, text, name) {
      const block = this.blocks.get(index) || this.open(index, type, name);
      if (!text) return;
      this.gotContent = true;
      if (type === "tool_use") {
        block.json += text;
        this.stick(() => { block.body.textContent = block.json; });
      } else {
        this.stick(() => block.body.appendChild(document.createTextNode(text)));
      }
    }
    close(index) {
      const block = this.blocks.get(index);
      if (block && block.type === "tool_use") {
        try { block.body.textContent = JSON.stringify(JSON.parse(block.json || "{}"), null, 2); } catch { /* partial */ }
      }
    }
    closeAll() { for (const i of this.blocks.keys()) this.close(i); }
  }

  async function* sseEvents(res) {
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
      buffer = buffer.replace(/\r\n/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = "message";
        const data = [];
        for (const line of frame.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (data.length) yield { event, data: data.join("\n") };
      }
      if (done) return;
    }
  }

  function anthropicEvent(r, ev) {
    if (ev.event === "ping") return null;
    const d = JSON.parse(ev.data);
    switch (d.type) {
      case "message_start":
        r.usage = { ...(d.message && d.message.usage) };
        break;
      case "content_block_start": {
        const b = d.content_block || {};
        r.open(d.index, b.type, b.name);
        if (b.type === "text" && b.text) r.append(d.index, "text", b.text);
        break;
      }
      case "content_block_delta": {
        const x = d.delta || {};
        if (x.type === "text_delta") r.append(d.index, "text", x.text);
        else if (x.type === "thinking_delta") r.append(d.index, "thinking", x.thinking);
        else if (x.type === "input_json_delta") r.append(d.index, "tool_use", x.partial_json);
        break;
      }
      case "content_block_stop":
        r.close(d.index);
        break;
      case "message_delta":
        r.usage = { ...r.usage, ...(d.usage || {}) };
        if (d.usage && d.usage.credits !== undefined) r.credits = d.usage.credits;
        if (d.delta && d.delta.stop_reason) r.stop = d.delta.stop_reason;
        break;
      case "error":
        return { message: (d.error && d.error.message) || "The stream failed.", kind: d.error && d.error.type };
      default:
        break;
    }
    return null;
  }

  function openaiEvent(r, ev, tools) {
    if (ev.data === "[DONE]") return null;
    const d = JSON.parse(ev.data);
    if (d.error) return { message: d.error.message || "The stream failed.", kind: d.error.type };
    if (d.usage) {
      r.usage = { input_tokens: d.usage.prompt_tokens, output_tokens: d.usage.completion_tokens };
      if (d.usage.credits !== undefined) r.credits = d.usage.credits;
    }
    const choice = d.choices && d.choices[0];
    if (!choice) return null;
    const delta = choice.delta || {};
    if (delta.reasoning_content) r.append("reasoning", "thinking", delta.reasoning_content);
    if (delta.content) r.append("content", "text", delta.content);
    for (const call of delta.tool_calls || []) {
      const slot = "tool" + call.index;
      if (!tools.has(slot)) tools.set(slot, (call.function && call.function.name) || "tool");
      r.append(slot, "tool_use", (call.function && call.function.arguments) || "", tools.get(slot));
    }
    if (choice.finish_reason) r.stop = choice.finish_reason;
    return null;
  }

  async function run() {
    const pending = state.pending;
    if (!pending || state.running) return;
    state.running = true;
    const confirm = $("confirm-btn");
    confirm.disabled = true;
    confirm.textContent = "Running…";
    resetOutput();
    const out = $("output");
    out.setAttribute("aria-busy", "true");
    $("result").textContent = "Waiting for the first token…";
    const renderer = new Renderer(out);
    try {
      let res;
      if (freeMode()) {
        res = await fetch("/playground/run", {
          method: "POST", headers: { "content-type": "application/json" },
          body: JSON.stringify({ surface: pending.surface, request: pending.body }),
        });
        const left = res.headers.get("x-playground-runs-left");
        if (left !== null) { state.runsLeft = Number(left); renderRuns(); }
      } else if (pending.surface === "anthropic") {
        res = await fetch("/v1/messages", {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": state.key, "anthropic-version": ANTHROPIC_VERSION },
          body: JSON.stringify(pending.body),
        });
      } else {
        res = await fetch("/v1/chat/completions", {
          method: "POST",
          headers: { "content-type": "application/json", authorization: "Bearer " + state.key },
          body: JSON.stringify(pending.body),
        });
      }
      const requestId = res.headers.get("request-id");
      if (!res.ok) {
        const body = await readJson(res);
        $("result").textContent = "";
        if (freeMode() && res.status === 429 && res.headers.get("x-playground-runs-left") === "0") {
          $("limit-text").textContent = errorMessage(body, res.status);
          show($("limit"), true);
        } else {
          showError(errorMessage(body, res.status), `Error ${res.status}`);
        }
        out.appendChild(Object.assign(document.createElement("p"), {
          className: "placeholder", textContent: "Nothing ran and nothing was billed." }));
        return;
      }
      $("result").textContent = "Streaming…";
      const tools = new Map();
      let failure = null;
      for await (const ev of sseEvents(res)) {
        failure = pending.surface === "anthropic" ? anthropicEvent(renderer, ev) : openaiEvent(renderer, ev, tools);
        if (failure) break;
      }
      renderer.closeAll();
      if (failure) {
        $("result").textContent = "The run failed mid-stream; failed runs bill nothing.";
        showError(failure.message, failure.kind);
        return;
      }
      const u = renderer.usage || {};
      const parts = [];
      if (renderer.credits !== null) {
        parts.push(`Billed ${fmtInt(renderer.credits)} credits (${usd(renderer.credits)})`);
      } else {
        parts.push("Finished (the bill is on the usage API)");
      }
      parts.push(`estimate was up to ${fmtInt(pending.estimate.estimated_credits)}`);
      if (u.input_tokens !== undefined) parts.push(`${fmtInt(u.input_tokens)} in / ${fmtInt(u.output_tokens || 0)} out tokens`);
      if (renderer.stop) parts.push(`stop: ${renderer.stop}`);
      if (requestId) parts.push(requestId);
      const result = $("result");
      result.textContent = "";
      const ok = document.createElement("span");
      ok.className = "ok";
      ok.textContent = parts.join(" · ");
      result.appendChild(ok);
      if (!renderer.gotContent && !renderer.blocks.size) {
        out.appendChild(Object.assign(document.createElement("p"), { className: "placeholder", textContent: "(empty answer)" }));
      }
    } catch (err) {
      $("result").textContent = "";
      showError(`Could not reach the gateway: ${err.message}`, "Network error");
    } finally {
      out.setAttribute("aria-busy", "false");
      state.running = false;
      state.pending = null;
      confirm.disabled = false;
      confirm.textContent = "Confirm and run";
      show($("estimate"), false);
      $("estimate-btn").focus({ preventScroll: true });
    }
  }

  // ------------------------------------------------------------------ key handling
  function saveKey(event) {
    event.preventDefault();
    const value = $("api-key").value.trim();
    if (!value) { $("api-key").focus(); return; }
    state.key = value;
    sessionStorage.setItem(KEY_STORE, value);
    $("api-key").value = "";
    afterKeyChange();
  }

  function forgetKey() {
    state.key = "";
    sessionStorage.removeItem(KEY_STORE);
    afterKeyChange();
    $("api-key").focus();
  }

  function afterKeyChange() {
    renderKey();
    renderModels();
    syncForm();
    show($("limit"), false);
  }

  // ------------------------------------------------------------------ wiring
  function bind() {
    $("run-form").addEventListener("submit", estimate);
    $("confirm-btn").addEventListener("click", run);
    $("cancel-btn").addEventListener("click", () => { invalidate(); $("prompt").focus(); });
    $("model").addEventListener("change", syncForm);
    for (const el of document.querySelectorAll('input[name="surface"]')) el.addEventListener("change", syncForm);
    for (const id of ["system", "prompt", "max-tokens", "thinking", "tool"]) {
      $(id).addEventListener("input", () => { invalidate(); renderCode(); });
    }
    $("prompt").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); $("run-form").requestSubmit(); }
    });
    $("key-form").addEventListener("submit", saveKey);
    $("key-forget").addEventListener("click", forgetKey);
    $("limit-key-btn").addEventListener("click", () => { $("key-details").open = true; $("api-key").focus(); });
    $("tab-curl").addEventListener("click", () => selectTab("curl"));
    $("tab-python").addEventListener("click", () => selectTab("python"));
    document.querySelector(".tabs").addEventListener("keydown", (e) => {
      if (e.key === "ArrowRight" || e.key === "ArrowLeft" || e.key === "Home" || e.key === "End") {
        e.preventDefault();
        selectTab(state.tab === "curl" ? "python" : "curl", true);
      }
    });
    $("copy-btn").addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText($("code").textContent);
        $("copy-status").textContent = "Copied.";
      } catch {
        const range = document.createRange();
        range.selectNodeContents($("code"));
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        $("copy-status").textContent = "Selected: press Ctrl+C to copy.";
      }
    });
  }

  async function init() {
    bind();
    try {
      await Promise.all([loadConfig(), loadModels()]);
    } catch (err) {
      $("runs").textContent = "";
      showError(`Could not load the playground: ${err.message}`, "Error");
      return;
    }
    if (state.key) $("key-details").open = false;
    renderKey();
    renderModels();
    syncForm();
    document.body.dataset.ready = "true";
  }

  init();
})();
