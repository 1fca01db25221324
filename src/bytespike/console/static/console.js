/* ByteSpike console: the org's wallet, usage, keys and alerts, from the admin API, with the signed-in key.
   No framework, no build step. The key lives in this tab's sessionStorage and is sent only to this origin
   (CSP connect-src 'self'); no secret is ever rendered except a new one, once, in the secret dialog. */
(function () {
  "use strict";

  const KEY_STORE = "bytespike.console.key";
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const fmt = new Intl.NumberFormat("en-US");
  const PALETTE = ["#5b3cc4", "#e69f00", "#009e73", "#56b4e9", "#d55e00", "#cc79a7", "#0072b2", "#8f8f8f"]; // Okabe-Ito

  const state = { key: null, me: null, tab: "overview", cursor: null, charts: {} };

  // ------------------------------------------------------------------ helpers
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }
  const credits = (n) => (n === null || n === undefined ? "–" : fmt.format(n));
  const dollars = (n) => "$" + (n / 1e6).toLocaleString("en-US", n && n < 10_000
    ? { minimumFractionDigits: 2, maximumFractionDigits: 6 } : { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const today = () => new Date().toISOString().slice(0, 10);
  const monthStart = () => today().slice(0, 8) + "01";
  const isMaster = () => state.me && state.me.role === "master";

  function say(text) { $("#status").textContent = text || ""; }
  function fail(err) {
    const box = $("#error");
    box.textContent = err ? (err.message || String(err)) : "";
    box.hidden = !err;
  }

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function api(method, path, body, { raw } = {}) {
    const headers = { "x-api-key": state.key };
    if (body !== undefined) headers["content-type"] = "application/json";
    const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (raw && resp.ok) return resp;
    let data = null;
    try { data = await resp.json(); } catch (_) { /* an empty or non-JSON body */ }
    if (!resp.ok) {
      const message = (data && data.error && data.error.message) || `HTTP ${resp.status}`;
      throw new ApiError(resp.status, message);
    }
    return data;
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") q.set(k, v);
    const s = q.toString();
    return s ? "?" + s : "";
  }

  // ------------------------------------------------------------------ sign-in
  async function signIn(key) {
    state.key = key;
    try {
      state.me = await api("GET", "/v1/keys/self");
    } catch (err) {
      state.key = null;
      state.me = null;
      sessionStorage.removeItem(KEY_STORE);
      throw err.status === 401 ? new Error("That key was not accepted: " + err.message) : err;
    }
    sessionStorage.setItem(KEY_STORE, key);
    const me = state.me;
    $("#who-text").textContent = `${me.org_id} · ${me.role === "master" ? "master key" : "member " + me.member_id}` +
      ` · ${me.label || me.key_id}`;
    $("#who").hidden = false;
    $("#nav").hidden = false;
    $("#signin").hidden = true;
    for (const node of $$("[data-master]")) node.hidden = !isMaster();
    $("#keys-member").hidden = isMaster();
    document.body.dataset.role = me.role;
    $("#f-start").value = monthStart();
    $("#f-end").value = today();
    route();
  }

  function signOut() {
    sessionStorage.removeItem(KEY_STORE);
    state.key = state.me = null;
    for (const c of Object.values(state.charts)) c.destroy();
    state.charts = {};
    location.hash = "";
    location.reload();
  }

  // ------------------------------------------------------------------ routing
  function route() {
    if (!state.me) return;
    let tab = (location.hash || "#overview").slice(1);
    if (!["overview", "usage", "keys", "alerts"].includes(tab) || (tab === "alerts" && !isMaster())) tab = "overview";
    state.tab = tab;
    for (const a of $$("#nav a")) {
      if (a.dataset.tab === tab) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }
    for (const s of $$(".tab")) s.hidden = s.id !== "tab-" + tab;
    fail(null);
    const load = { overview: loadOverview, usage: loadUsage, keys: loadKeys, alerts: loadAlerts }[tab];
    document.body.dataset.ready = "false";
    load().then(() => { document.body.dataset.ready = "true"; })
      .catch((err) => { fail(err); document.body.dataset.ready = "true"; });
  }

  // ------------------------------------------------------------------ charts
  /* Credits per day, one bar per day, stacked by group; the data also as a table (screen readers, copy). */
  function dayRange(start, end) {
    const out = [];
    for (let d = new Date(start + "T00:00:00Z"); d <= new Date(end + "T00:00:00Z"); d.setUTCDate(d.getUTCDate() + 1)) {
      out.push(d.toISOString().slice(0, 10));
    }
    return out;
  }

  function stackedDays(rows, groupField, start, end) {
    const days = dayRange(start, end);
    const index = new Map(days.map((d, i) => [d, i]));
    const groups = new Map();
    for (const r of rows) {
      const name = groupField ? (r[groupField] || "(none)") : "credits";
      if (!groups.has(name)) groups.set(name, new Array(days.length).fill(0));
      const i = index.get(r.day);
      if (i !== undefined) groups.get(name)[i] += r.credits;
    }
    const series = [...groups.entries()].map(([label, values]) => ({ label, values, total: values.reduce((a, b) => a + b, 0) }))
      .sort((a, b) => b.total - a.total);
    return { days, series };
  }

  function renderChart(id, title, data) {
    const box = $("#" + id);
    const table = $("#" + id + "-table");
    if (state.charts[id]) { state.charts[id].destroy(); delete state.charts[id]; }
    box.textContent = "";
    const total = data.series.reduce((a, s) => a + s.total, 0);
    const parts = data.series.slice(0, 6).map((s) => `${s.label} ${fmt.format(s.total)}`).join("; ");
    box.setAttribute("aria-label", `${title}, ${data.days[0]} to ${data.days[data.days.length - 1]}: ` +
      `${fmt.format(total)} credits in total` + (parts ? `; ${parts}` : "") + ".");
    box.dataset.total = String(total);
    box.dataset.series = String(data.series.length);
    renderTable(table, data);
    if (!window.uPlot) { box.append(el("p", { class: "hint", text: "Chart unavailable; see the table below." })); return; }
    // Days are categories (one bar each), not a time scale: a time axis would tick hours on a short range.
    const xs = data.days.map((_, i) => i);
    const label = (i) => {
      const d = data.days[Math.round(i)];
      return d ? new Date(d + "T00:00:00Z").toLocaleDateString("en-US", { month: "short", day: "numeric", timeZone: "UTC" }) : "";
    };
    const step = Math.max(1, Math.ceil(data.days.length / 10));
    // Stack: series i is drawn as the sum of itself and every smaller series after it, largest first, so each
    // bar segment shows one group; the legend and table show each group's own value.
    const cumulative = data.series.map((_, i) => xs.map((__, j) => data.series.slice(i).reduce((a, s) => a + s.values[j], 0)));
    const bars = uPlot.paths.bars({ size: [0.7, 64], align: 0 });
    const opts = {
      width: Math.max(280, box.clientWidth || 600),
      height: 300,
      scales: { x: { time: false, range: () => [-0.5, data.days.length - 0.5] },
        y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [{ stroke: getComputedStyle(document.body).color,
        splits: () => xs.filter((i) => i % step === 0), values: (u, vals) => vals.map(label) }, {
        stroke: getComputedStyle(document.body).color, size: 70, values: (u, vals) => vals.map((v) => fmt.format(v)) }],
      legend: { live: true },
      series: [{ label: "day", value: (u, v) => (v === null || v === undefined ? "–" : data.days[Math.round(v)] || "–") }]
        .concat(data.series.map((s, i) => ({
          label: s.label, fill: PALETTE[i % PALETTE.length], stroke: PALETTE[i % PALETTE.length], width: 0,
          paths: bars, points: { show: false },
          value: (u, v, si, di) => (di === null || di === undefined ? fmt.format(s.total) : fmt.format(s.values[di])),
        }))),
    };
    const chart = new uPlot(opts, [xs, ...cumulative], box);
    state.charts[id] = chart;
  }

  function renderTable(container, data) {
    container.textContent = "";
    if (!data.series.length) { container.append(el("p", { class: "hint", text: "No usage in this range." })); return; }
    const head = el("tr", {}, el("th", { scope: "col", text: "Day (UTC)" }),
      data.series.map((s) => el("th", { scope: "col", class: "num", text: s.label })), el("th", { scope: "col", class: "num", text: "Total" }));
    const body = data.days.map((d, j) => {
      const values = data.series.map((s) => s.values[j]);
      return el("tr", {}, el("th", { scope: "row", text: d }), values.map((v) => el("td", { class: "num", text: fmt.format(v) })),
        el("td", { class: "num", text: fmt.format(values.reduce((a, b) => a + b, 0)) }));
    });
    container.append(el("table", { class: "data chart-data" }, el("thead", {}, head), el("tbody", {}, body)));
  }

  // ------------------------------------------------------------------ overview
  async function loadOverview() {
    say("Loading the overview…");
    const start = monthStart(), end = today();
    const summary = await api("GET", "/v1/usage/summary" + query({ start, end, group_by: "day" }));
    const t = summary.totals;
    $("#ov-spent").textContent = credits(t.credits);
    $("#ov-spent-sub").textContent = `${dollars(t.credits)} since ${start}`;
    $("#ov-requests").textContent = fmt.format(t.requests);
    $("#ov-requests-sub").textContent = `${fmt.format(t.succeeded)} succeeded, ${fmt.format(t.failed)} failed or expired (billed 0)`;
    renderChart("ov-trend", "Credits per day this month", stackedDays(summary.data, null, start, end));
    const quotas = $("#ov-quotas");
    quotas.textContent = "";
    let keys;
    if (isMaster()) {
      const org = await api("GET", "/v1/orgs/" + encodeURIComponent(state.me.org_id));
      $("#ov-balance").textContent = credits(org.balance);
      $("#ov-balance-sub").textContent = `${dollars(org.balance)} of ${credits(org.topped_up)} credits ever topped up`;
      keys = (await api("GET", "/v1/keys?status=active")).data;
    } else {
      keys = [await api("GET", "/v1/keys/self")];
    }
    const limited = keys.filter((k) => k.quota !== null && k.quota !== undefined);
    if (!limited.length) quotas.append(el("p", { class: "hint", text: "No key has a quota." }));
    for (const k of limited) {
      const pct = Math.min(100, Math.round((100 * k.quota_used) / k.quota));
      quotas.append(el("div", { class: "meter" },
        el("span", {}, k.member_id + (k.label ? ` (${k.label})` : "")),
        el("progress", { max: String(k.quota), value: String(Math.min(k.quota_used, k.quota)),
          "aria-label": `${k.member_id}: ${pct}% of the quota used` }),
        el("span", { class: "num" }, `${credits(k.quota_used)} / ${credits(k.quota)} per ${k.quota_period} (${pct}%)`)));
    }
    say("");
  }

  // ------------------------------------------------------------------ usage
  function filters() {
    return { start: $("#f-start").value || monthStart(), end: $("#f-end").value || today(),
      member_id: isMaster() ? $("#f-member").value.trim() : "", model: $("#f-model").value.trim(),
      key_id: isMaster() ? $("#f-key").value.trim() : "" };
  }

  let sessionsProbed = false;
  async function probeSessions() {
    // Usage grouped by coding session needs a gateway that records session ids; hide the choice otherwise.
    if (sessionsProbed) return;
    sessionsProbed = true;
    try { await api("GET", "/v1/usage/summary" + query({ start: today(), end: today(), group_by: "session" })); }
    catch (err) { if (err.status === 400) $("#group-session").hidden = true; else throw err; }
  }

  async function loadUsage() {
    say("Loading usage…");
    await probeSessions();
    await Promise.all([loadUsageChart(), loadLog(false)]);
    say("");
  }

  async function loadUsageChart() {
    const f = filters();
    const group = ($("input[name=group]:checked") || {}).value || "member";
    const field = { member: "member_id", model: "model", provider: "provider", session: "session_id" }[group];
    let summary;
    try {
      summary = await api("GET", "/v1/usage/summary" + query({ ...f, group_by: "day," + group }));
      $("#usage-chart-note").textContent = "";
    } catch (err) {
      if (group !== "session" || err.status !== 400) throw err;
      $("#group-session").hidden = true;  // this gateway records no session ids
      $("input[name=group][value=member]").checked = true;
      return loadUsageChart();
    }
    $("#usage-chart-h").textContent = `Credits per day by ${group}`;
    renderChart("usage-chart", `Credits per day by ${group}`, stackedDays(summary.data, field, f.start, f.end));
  }

  async function loadLog(more) {
    const f = filters();
    const tbody = $("#log tbody");
    if (!more) { tbody.textContent = ""; state.cursor = null; }
    const page = await api("GET", "/v1/usage" + query({ ...f, limit: 50, cursor: more ? state.cursor : null }));
    for (const r of page.data) {  // in time order, as the pages come
      tbody.append(el("tr", {},
        el("td", {}, r.time.replace("T", " ").replace("Z", "")),
        el("td", {}, el("code", {}, r.request_id)),
        el("td", {}, r.member_id || ""), el("td", {}, r.model || ""), el("td", {}, r.provider || ""),
        el("td", { class: "state-" + r.status }, r.status + (r.outcome && r.outcome !== "ok" ? ` (${r.outcome})` : "")),
        el("td", { class: "num" }, credits(r.hold)), el("td", { class: "num" }, credits(r.credits)),
        el("td", { class: "num" }, r.duration_ms === null || r.duration_ms === undefined ? "–" : fmt.format(r.duration_ms) + " ms")));
    }
    if (!tbody.children.length) tbody.append(el("tr", {}, el("td", { colspan: "9", class: "hint" }, "No requests in this range.")));
    state.cursor = page.next_cursor;
    $("#log-more").hidden = !page.has_more;
  }

  async function exportCsv() {
    const f = filters();
    const resp = await api("GET", "/v1/usage" + query({ ...f, format: "csv", limit: 10000 }), undefined, { raw: true });
    const blob = await resp.blob();
    const a = el("a", { href: URL.createObjectURL(blob), download: `usage-${state.me.org_id}-${f.start}-${f.end}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    say("CSV exported.");
  }

  // ------------------------------------------------------------------ keys
  let modelsLoaded = false;
  async function loadModels() {
    if (modelsLoaded) return;
    const list = await api("GET", "/v1/models?limit=1000");
    const select = $("#m-models");
    for (const m of list.data) select.append(el("option", { value: m.id }, m.display_name ? `${m.display_name} (${m.id})` : m.id));
    modelsLoaded = true;
  }

  function keyDescription(k) {
    const parts = [];
    if (k.quota !== null && k.quota !== undefined) parts.push(`${credits(k.quota_used)} / ${credits(k.quota)} per ${k.quota_period}`);
    return parts.join("") || "no quota";
  }

  async function loadKeys() {
    say("Loading keys…");
    if (!isMaster()) {
      const k = await api("GET", "/v1/keys/self");
      const box = $("#keys-member");
      box.textContent = "";
      box.append(el("h3", {}, "Your key"), el("dl", { class: "kv" },
        el("dt", {}, "Key id"), el("dd", {}, el("code", {}, k.key_id)),
        el("dt", {}, "Member"), el("dd", {}, k.member_id),
        el("dt", {}, "Quota"), el("dd", {}, keyDescription(k)),
        el("dt", {}, "Requests per minute"), el("dd", {}, k.rpm ? String(k.rpm) : "no limit"),
        el("dt", {}, "Concurrent requests"), el("dd", {}, k.max_concurrency ? `${k.in_flight} of ${k.max_concurrency} in flight` : "no limit"),
        el("dt", {}, "Models"), el("dd", {}, k.models ? k.models.join(", ") : "all the master's"),
        el("dt", {}, "Expires"), el("dd", {}, k.expires_at || "never")));
      say("");
      return;
    }
    await loadModels();
    const keys = (await api("GET", "/v1/keys?status=all")).data;
    const tbody = $("#keys tbody");
    tbody.textContent = "";
    for (const k of keys) {
      const self = k.key_id === state.me.key_id;
      const actions = el("td", { class: "actions-cell" });
      if (k.status === "active" && !self && k.kind === "sub") {
        actions.append(
          el("button", { type: "button", class: "small", "data-action": "rotate", "data-key": k.key_id,
            "aria-label": `Rotate ${k.label || k.member_id}`, onclick: () => rotate(k) }, "Rotate"), " ",
          el("button", { type: "button", class: "small danger", "data-action": "revoke", "data-key": k.key_id,
            "aria-label": `Revoke ${k.label || k.member_id}`, onclick: () => revoke(k) }, "Revoke"));
      } else if (self) {
        actions.append(el("span", { class: "hint" }, "this key"));
      }
      tbody.append(el("tr", { "data-key": k.key_id, "data-status": k.status },
        el("td", {}, el("code", {}, k.key_id), el("br"), el("span", { class: "hint" }, (k.label || "") + ` ${k.kind} · ${k.digest_prefix}…`)),
        el("td", {}, k.member_id),
        el("td", {}, el("span", { class: "pill " + (k.status === "active" ? "ok" : "bad") }, k.status)),
        el("td", {}, keyDescription(k)),
        el("td", { class: "num" }, k.rpm ? String(k.rpm) : "–"),
        el("td", { class: "num" }, k.max_concurrency ? `${k.in_flight} / ${k.max_concurrency}` : "–"),
        el("td", {}, k.models ? k.models.join(", ") : "all"),
        el("td", {}, k.expires_at ? k.expires_at.slice(0, 10) : "never"),
        actions));
    }
    say("");
  }

  function showSecret(what, secret) {
    const dialog = $("#secret-dialog");
    $("#secret-what").textContent = what;
    $("#secret-value").textContent = secret;
    $("#secret-copied").textContent = "";
    dialog.showModal();
    $("#secret-copy").focus();
  }

  async function mint(event) {
    event.preventDefault();
    const num = (id) => ($(id).value ? parseInt($(id).value, 10) : undefined);
    const body = { member_id: $("#m-member").value.trim(), label: $("#m-label").value.trim() || undefined,
      quota: num("#m-quota"), rpm: num("#m-rpm"), max_concurrency: num("#m-concurrency") };
    if (body.quota !== undefined) body.quota_period = $("#m-period").value;
    const models = Array.from($("#m-models").selectedOptions).map((o) => o.value);
    if (models.length) body.models = models;
    const modalities = $$("input[name=modality]:checked").map((i) => i.value);
    if (modalities.length) body.modalities = modalities;
    if ($("#m-expires").value) body.expires_at = $("#m-expires").value + "T00:00:00Z";
    fail(null);
    try {
      const key = await api("POST", "/v1/keys", body);
      $("#mint-form").reset();
      await loadKeys();
      showSecret(`The new key ${key.key_id} for ${key.member_id}:`, key.secret);
      say(`Minted ${key.key_id} for ${key.member_id}.`);
    } catch (err) { fail(err); }
  }

  async function rotate(k) {
    if (!confirm(`Rotate ${k.key_id} (${k.member_id})? Its current secret stops working.`)) return;
    try {
      const out = await api("POST", `/v1/keys/${encodeURIComponent(k.key_id)}/rotate`);
      await loadKeys();
      showSecret(`The new secret of ${out.key_id} (${out.member_id}):`, out.secret);
      say(`Rotated ${out.key_id}.`);
    } catch (err) { fail(err); }
  }

  async function revoke(k) {
    if (!confirm(`Revoke ${k.key_id} (${k.member_id})? It stops working within the auth cache time.`)) return;
    try {
      await api("POST", `/v1/keys/${encodeURIComponent(k.key_id)}/revoke`);
      await loadKeys();
      say(`Revoked ${k.key_id}.`);
    } catch (err) { fail(err); }
  }

  // ------------------------------------------------------------------ alerts
  const percents = (raw) => raw.split(/[\s,]+/).filter(Boolean).map((x) => parseInt(x.replace("%", ""), 10));

  async function loadAlerts() {
    say("Loading alerts…");
    const rules = await api("GET", "/v1/alerts");
    $("#a-wallet").value = rules.wallet.join(", ");
    $("#a-quota").value = rules.quota.join(", ");
    $("#a-webhook").value = rules.webhook_url || "";
    $("#a-emails").value = rules.emails.join(", ");
    $("#a-emails").disabled = !rules.email_enabled;
    if (!rules.email_enabled) $("#a-emails").placeholder = "this deployment sends no email";
    await loadEvents();
    say("");
  }

  async function saveAlerts(event) {
    event.preventDefault();
    fail(null);
    const body = { wallet: percents($("#a-wallet").value), quota: percents($("#a-quota").value),
      webhook_url: $("#a-webhook").value.trim() || null,
      emails: $("#a-emails").value.split(/[\s,;]+/).filter(Boolean), rotate_secret: $("#a-rotate").checked };
    try {
      const out = await api("PUT", "/v1/alerts", body);
      $("#a-rotate").checked = false;
      say("Alerts saved.");
      if (out.webhook_secret) showSecret("The webhook signing secret (verify each POST's bytespike-signature with it):", out.webhook_secret);
    } catch (err) { fail(err); }
  }

  async function testAlert() {
    fail(null);
    try {
      const out = await api("POST", "/v1/alerts/test");
      say(`Test alert ${out.event_id} sent; its deliveries appear below.`);
      setTimeout(() => loadEvents().catch(fail), 1500);
    } catch (err) { fail(err); }
  }

  function describeEvent(e) {
    if (e.scope === "wallet") return `Wallet at ${e.threshold}% (${credits(e.balance)} of ${credits(e.funds)} credits left)`;
    if (e.scope === "quota") return `${e.member_id}'s quota at ${e.threshold}% (${credits(e.used)} of ${credits(e.quota)}, ${e.period})`;
    return "Test alert";
  }

  async function loadEvents() {
    const events = (await api("GET", "/v1/alerts/events?limit=50")).data;
    const tbody = $("#events tbody");
    tbody.textContent = "";
    for (const e of events) {
      const log = (e.deliveries || []).map((d) => el("li", {},
        `${d.channel} #${d.attempt} → ${d.target}: ${d.ok ? "delivered" : "failed"}` +
        (d.status ? ` (${d.status})` : "") + (d.error && !d.ok ? ` — ${d.error}` : "") + `, ${d.ms} ms`));
      const status = e.status === "delivered" ? "ok" : e.status === "failed" ? "bad" : "wait";
      tbody.append(el("tr", { "data-event": e.event_id, "data-scope": e.scope || "test", "data-threshold": e.threshold || "" },
        el("td", {}, new Date(e.fired_at).toISOString().replace("T", " ").slice(0, 19)),
        el("td", {}, describeEvent(e)),
        el("td", { class: "num" }, e.level_bp !== undefined ? (e.level_bp / 100).toFixed(1) + "%" : "–"),
        el("td", {}, el("span", { class: "pill " + status }, e.status)),
        el("td", {}, log.length ? el("ul", { class: "log" }, log) : "not yet")));
    }
    if (!events.length) tbody.append(el("tr", {}, el("td", { colspan: "5", class: "hint" }, "No alert has fired yet.")));
  }

  // ------------------------------------------------------------------ wiring
  function init() {
    $("#signin-form").addEventListener("submit", (e) => {
      e.preventDefault();
      fail(null);
      const key = $("#signin-key").value.trim();
      $("#signin-key").value = "";
      signIn(key).catch(fail);
    });
    $("#signout").addEventListener("click", signOut);
    window.addEventListener("hashchange", route);
    $("#usage-filters").addEventListener("submit", (e) => { e.preventDefault(); loadUsage().catch(fail); });
    for (const r of $$("input[name=group]")) r.addEventListener("change", () => loadUsageChart().catch(fail));
    $("#log-more").addEventListener("click", () => loadLog(true).catch(fail));
    $("#csv-btn").addEventListener("click", () => exportCsv().catch(fail));
    $("#mint-form").addEventListener("submit", mint);
    $("#alerts-form").addEventListener("submit", saveAlerts);
    $("#alert-test").addEventListener("click", testAlert);
    $("#events-refresh").addEventListener("click", () => loadEvents().catch(fail));
    $("#secret-copy").addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText($("#secret-value").textContent);
        $("#secret-copied").textContent = "Copied.";
      } catch (_) {
        $("#secret-copied").textContent = "Copy failed: select the secret and copy it by hand.";
      }
    });
    $("#secret-dialog").addEventListener("close", () => { $("#secret-value").textContent = ""; });
    // Cleared before closing: the close event fires in a later task, and the secret must not
    // outlive the dialog in the page for even that long (Escape still clears it on close).
    $("#secret-close").addEventListener("click", () => { $("#secret-value").textContent = ""; $("#secret-dialog").close(); });
    window.addEventListener("resize", () => {
      for (const [id, chart] of Object.entries(state.charts)) chart.setSize({ width: Math.max(280, $("#" + id).clientWidth), height: 300 });
    });
    const saved = sessionStorage.getItem(KEY_STORE);
    if (saved) signIn(saved).catch((err) => { fail(err); document.body.dataset.ready = "true"; });
    else document.body.dataset.ready = "true";
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
