// lambdad web console: plain ES module, no framework. Talks to the server it came from:
// the Lambda control API (ListFunctions, Invoke), /lambdad/status, /lambdad/usage[/series] and
// /lambdad/tune/F. Charts are uPlot (bundled into the lambdad binary from npm).
import { sign, uriEncode } from './sigv4.js';

const $ = (sel) => document.querySelector(sel);
const CREDS_KEY = 'lambdad.console.creds';

// What the page shows, for people poking in devtools and for tests/e2e/test_console.py.
const state = (window.__consoleState = {
  ready: false,
  auth: null,
  functions: [],
  selected: null,
  recent: 0,
  invokes: 0,
  lastInvoke: null,
  charts: {},
  chartsAvailable: typeof window.uPlot === 'function',
  tune: null,
  errors: [],
});
const plots = {};

// ---------------------------------------------------------------------------------------------
// HTTP

function creds() {
  try {
    return JSON.parse(sessionStorage.getItem(CREDS_KEY) || 'null');
  } catch {
    return null;
  }
}

class ApiError extends Error {
  constructor(status, type, message) {
    super(`${type || 'HTTP ' + status}: ${message || ''}`);
    this.status = status;
    this.type = type;
  }
}

// fetch() against this server, SigV4-signed when the user gave a key. Resolves to
// {status, headers, text, json}; rejects with ApiError for non-2xx unless opts.raw.
async function api(method, path, opts = {}) {
  // Encoded as SigV4 canonicalises it (%20, never '+'), so what is sent is what is signed.
  const query = Object.entries(opts.query || {}).map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).join('&');
  const body = opts.body ?? '';
  const headers = { ...(opts.headers || {}) };
  if (body && !headers['Content-Type']) headers['Content-Type'] = 'application/json';
  const c = creds();
  if (c) Object.assign(headers, await sign(method, path, query, headers, body, c));
  const res = await fetch(path + (query ? '?' + query : ''), {
    method, headers, body: method === 'GET' ? undefined : body, cache: 'no-store',
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  const out = { status: res.status, headers: res.headers, text, json };
  if (!opts.raw && !res.ok) {
    const type = res.headers.get('x-amzn-ErrorType') || (json && (json.__type || json.Type));
    throw new ApiError(res.status, type, json ? json.message || json.Message : text);
  }
  return out;
}

function notice(text, isError = false) {
  const n = $('#notice');
  n.hidden = !text;
  n.textContent = text || '';
  n.classList.toggle('error', isError);
  if (isError && text) state.errors.push(text);
}

function explain(err) {
  if (err instanceof ApiError && err.status === 403) {
    return `${err.message} — this server requires signed requests: use “Access key…” ` +
      '(a key made with `lambdad keys add`).';
  }
  return String(err.message || err);
}

// ---------------------------------------------------------------------------------------------
// Formatting and DOM helpers

const fmt = {
  ms: (v) => (v == null ? '' : Number(v).toFixed(2)),
  int: (v) => (v == null ? '' : String(v)),
  usd: (v) => (v == null ? '' : Number(v).toFixed(v !== 0 && Math.abs(v) < 0.01 ? 10 : 4)),
  time: (ms) => new Date(ms).toLocaleTimeString(),
};

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'data') Object.assign(e.dataset, v);
    else if (k in e) e[k] = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
  return e;
}

function decodeBase64Utf8(b64) {
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

// ---------------------------------------------------------------------------------------------
// Server status and functions

async function loadStatus() {
  const { json } = await api('GET', '/lambdad/status', { raw: true });
  if (!json) return;
  state.auth = json.auth;
  $('#server-status').textContent =
    `v${json.version} · ${json.isolation} · auth: ${json.auth} · ${json.environments} environments · ` +
    `${json.invocations} invocations · async queue ${json.asyncQueueDepth}`;
  if (json.auth === 'sigv4' && !creds()) {
    notice('This server checks SigV4 signatures: give the console an access key (“Access key…”).');
  }
}

async function loadFunctions() {
  const all = [];
  let marker = '';
  do {
    const q = { MaxItems: '50' };
    if (marker) q.Marker = marker;
    const { json } = await api('GET', '/2015-03-31/functions/', { query: q });
    all.push(...(json.Functions || []));
    marker = json.NextMarker || '';
  } while (marker);
  all.sort((a, b) => a.FunctionName.localeCompare(b.FunctionName));
  state.functions = all.map((f) => f.FunctionName);
  const tbody = $('#functions tbody');
  tbody.replaceChildren(...all.map((f) => {
    const tr = el('tr', { data: { function: f.FunctionName }, title: f.Description || f.FunctionArn },
      el('td', {}, f.FunctionName), el('td', {}, f.Runtime || f.PackageType || ''),
      el('td', { class: 'num' }, f.MemorySize));
    tr.addEventListener('click', () => select(f.FunctionName));
    return tr;
  }));
  $('#function-count').textContent = `(${all.length})`;
  $('#no-functions').hidden = all.length > 0;
  return all;
}

let configs = new Map();

async function refreshAll() {
  try {
    await loadStatus();
    const fns = await loadFunctions();
    configs = new Map(fns.map((f) => [f.FunctionName, f]));
    const wanted = decodeURIComponent(location.hash.replace(/^#fn=/, '')) || state.selected;
    const name = configs.has(wanted) ? wanted : fns[0]?.FunctionName;
    if (name) await select(name, { keepOutput: name === state.selected });
    else showDetail(false);
    if (!$('#notice').classList.contains('error') && state.auth !== 'sigv4') notice('');
  } catch (err) {
    notice(explain(err), true);
  }
  state.ready = true;
}

function showDetail(on) {
  $('#detail').hidden = !on;
  $('#empty').hidden = on;
}

function renderConfig(f) {
  const env = f.Environment && f.Environment.Variables ? f.Environment.Variables : {};
  const rows = [
    ['ARN', f.FunctionArn], ['Runtime', f.Runtime || f.PackageType], ['Handler', f.Handler],
    ['Memory', `${f.MemorySize} MB`], ['Timeout', `${f.Timeout} s`],
    ['Architecture', (f.Architectures || ['x86_64']).join(', ')],
    ['Ephemeral storage', f.EphemeralStorage ? `${f.EphemeralStorage.Size} MB` : ''],
    ['Code size', `${f.CodeSize} bytes`], ['Code SHA-256', f.CodeSha256],
    ['Version', f.Version], ['State', [f.State, f.LastUpdateStatus].filter(Boolean).join(' / ')],
    ['Last modified', f.LastModified], ['Role', f.Role], ['Description', f.Description],
    ['Environment', Object.keys(env).length ? Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n') : '—'],
  ];
  $('#config').replaceChildren(...rows.filter(([, v]) => v !== undefined && v !== '')
    .flatMap(([k, v]) => [el('dt', {}, k), el('dd', { data: { field: k } }, v)]));
}

async function select(name, { keepOutput = false } = {}) {
  const changed = state.selected !== name;
  state.selected = name;
  if (location.hash !== `#fn=${encodeURIComponent(name)}`) history.replaceState(null, '', `#fn=${encodeURIComponent(name)}`);
  for (const tr of document.querySelectorAll('#functions tbody tr')) {
    tr.classList.toggle('selected', tr.dataset.function === name);
  }
  showDetail(true);
  $('#fn-name').textContent = name;
  const f = configs.get(name);
  if (f) renderConfig(f);
  if (changed && !keepOutput) {
    $('#invoke-result').textContent = '';
    $('#invoke-log').textContent = '';
    $('#invoke-status').textContent = '';
  }
  await Promise.all([loadRecent(name), loadSeries(name), loadTune(name)]);
}

// ---------------------------------------------------------------------------------------------
// Invoke form

async function invoke(ev) {
  ev.preventDefault();
  const name = state.selected;
  if (!name) return;
  const payload = $('#payload').value.trim() || '{}';
  const status = $('#invoke-status');
  const out = $('#invoke-result');
  const log = $('#invoke-log');
  $('#invoke').disabled = true;
  status.textContent = 'invoking…';
  const t0 = performance.now();
  try {
    const res = await api('POST', `/2015-03-31/functions/${encodeURIComponent(name)}/invocations`, {
      body: payload, headers: { 'X-Amz-Log-Type': 'Tail' }, raw: true,
    });
    const requestId = res.headers.get('x-amzn-RequestId') || '';
    const fnError = res.headers.get('X-Amz-Function-Error');
    const logB64 = res.headers.get('X-Amz-Log-Result');
    let text = res.text;
    try { text = JSON.stringify(JSON.parse(res.text), null, 2); } catch { /* keep raw */ }
    out.textContent = text;
    out.classList.toggle('error', res.status !== 200 || !!fnError);
    log.textContent = logB64 ? decodeBase64Utf8(logB64) : '(no log tail)';
    const rtt = (performance.now() - t0).toFixed(0);
    status.textContent = `HTTP ${res.status}` + (fnError ? ` · function error (${fnError})` : '') +
      (res.headers.get('X-Amz-Executed-Version') ? ` · version ${res.headers.get('X-Amz-Executed-Version')}` : '') +
      ` · ${rtt} ms round trip · ${requestId}`;
    state.invokes += 1;
    state.lastInvoke = { status: res.status, requestId, functionError: fnError, hasLog: !!logB64 };
    // The usage writer commits in batches (about every 200 ms): poll until the row is there.
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 250));
      const rows = await loadRecent(name);
      if (!requestId || rows.some((r) => r.requestId === requestId)) break;
    }
    await loadSeries(name);
    notice('');
  } catch (err) {
    status.textContent = '';
    out.textContent = explain(err);
    out.classList.add('error');
    notice(explain(err), true);
  } finally {
    $('#invoke').disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------
// Recent invocations

async function loadRecent(name) {
  const { json } = await api('GET', '/lambdad/usage', { query: { function: name, limit: '25' } });
  const rows = json.invocations || [];
  if (name !== state.selected) return rows;
  state.recent = rows.length;
  $('#recent tbody').replaceChildren(...rows.map((r) => {
    const report = `REPORT RequestId: ${r.requestId}\tDuration: ${fmt.ms(r.durationMs)} ms\t` +
      `Billed Duration: ${r.billedMs} ms\tMemory Size: ${r.memoryMb} MB\tMax Memory Used: ${r.maxMemoryUsedMb} MB` +
      (r.cold ? `\tInit Duration: ${fmt.ms(r.initDurationMs)} ms` : '');
    return el('tr', { title: report, data: { requestId: r.requestId } },
      el('td', {}, fmt.time(r.timestamp)), el('td', {}, r.requestId), el('td', {}, r.version),
      el('td', { class: `status-${r.status}` }, r.status), el('td', {}, r.cold ? 'cold' : 'warm'),
      el('td', { class: 'num' }, fmt.ms(r.durationMs)), el('td', { class: 'num' }, r.billedMs),
      el('td', { class: 'num' }, r.memoryMb), el('td', { class: 'num' }, r.maxMemoryUsedMb),
      el('td', { class: 'num' }, r.cold ? fmt.ms(r.initDurationMs) : ''),
      el('td', { class: 'num' }, r.costUsd));
  }));
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Charts

const COLORS = ['#1f77b4', '#d86613', '#b42318', '#1a7f37', '#6f42c1'];

function chartWidth(div) {
  return Math.max(320, Math.floor(div.clientWidth || div.parentElement.clientWidth / 2) - 4);
}

// Draws (or redraws) one uPlot chart and records what it holds in state.charts[id] and the
// container's data-points / data-series attributes.
function drawChart(id, title, xs, series, opts = {}) {
  const div = document.getElementById(id);
  if (plots[id]) { plots[id].destroy(); delete plots[id]; }
  const nonEmpty = series.map((s) => s.values.filter((v) => v != null && v !== 0).length);
  state.charts[id] = { points: xs.length, series: series.length, nonEmpty: Math.max(0, ...nonEmpty) };
  div.dataset.points = String(xs.length);
  div.dataset.nonEmpty = String(state.charts[id].nonEmpty);
  div.replaceChildren();
  if (!state.chartsAvailable) {
    div.append(el('div', { class: 'empty' }, `${title}: charts unavailable`));
    return;
  }
  if (!xs.length) {
    div.append(el('div', { class: 'empty' }, `${title}: no data`));
    return;
  }
  const u = new window.uPlot({
    title,
    width: chartWidth(div),
    height: 220,
    scales: { x: { time: opts.time !== false }, ...(opts.scales || {}) },
    axes: opts.axes || [{}, { label: opts.yLabel || '', size: 60 }],
    series: [{ label: opts.xLabel || 'time', ...(opts.xValue ? { value: opts.xValue } : {}) },
      ...series.map((s, i) => {
        const o = { label: s.label, stroke: s.color || COLORS[i % COLORS.length], width: 2,
          points: { show: true, size: 5 }, spanGaps: false };
        // Only set what is given: an explicit undefined would replace uPlot's defaults.
        if (s.scale) o.scale = s.scale;
        if (s.format) o.value = (_, v) => (v == null ? '—' : s.format(v));
        return o;
      })],
    legend: { live: true },
  }, [xs, ...series.map((s) => s.values)], div);
  plots[id] = u;
}

function rangeMinutes() {
  return Number($('#range').value) || 60;
}

async function loadSeries(name) {
  const minutes = rangeMinutes();
  // About 60 buckets whatever the range, never below a minute.
  const step = Math.max(60, Math.round((minutes * 60) / 60 / 60) * 60);
  const until = Date.now();
  const since = until - minutes * 60_000;
  const { json } = await api('GET', '/lambdad/usage/series', {
    query: { function: name, since: String(since), until: String(until), step: String(step) },
  });
  if (name !== state.selected) return;
  const b = json.buckets || [];
  const xs = b.map((x) => x.t / 1000);
  const nullIfIdle = (key) => b.map((x) => (x.invocations ? x[key] : null));
  let inv = 0, errs = 0, cold = 0, cost = 0;
  for (const x of b) { inv += x.invocations; errs += x.errors; cold += x.coldStarts; cost += x.costPico; }
  $('#totals').textContent = `— ${inv} invocations, ${errs} errors, ${cold} cold starts, ` +
    `$${fmt.usd(cost / 1e12)} in the ${$('#range').selectedOptions[0].textContent} (${step / 60} min buckets)`;
  $('#charts-unavailable').hidden = state.chartsAvailable;
  drawChart('chart-duration', 'Duration (ms)', xs, [
    { label: 'p50', values: nullIfIdle('p50Ms'), format: fmt.ms },
    { label: 'p95', values: nullIfIdle('p95Ms'), format: fmt.ms },
    { label: 'p99', values: nullIfIdle('p99Ms'), format: fmt.ms, color: COLORS[2] },
  ], { yLabel: 'ms' });
  drawChart('chart-invocations', 'Invocations per bucket', xs, [
    { label: 'invocations', values: b.map((x) => x.invocations) },
    { label: 'errors', values: b.map((x) => x.errors), color: COLORS[2] },
    { label: 'cold starts', values: b.map((x) => x.coldStarts), color: COLORS[4] },
  ], { yLabel: 'count' });
  drawChart('chart-cost', 'Cost ($ per bucket)', xs, [
    { label: 'cost $', values: b.map((x) => x.costUsd), format: fmt.usd, color: COLORS[3] },
  ], { yLabel: '$', axes: [{}, { label: '$', size: 90, values: (_, ticks) => ticks.map((t) => t.toPrecision(2)) }] });
}

async function loadTune(name) {
  const res = await api('GET', `/lambdad/tune/${encodeURIComponent(name)}`, { raw: true });
  if (name !== state.selected) return;
  const note = $('#tune-note');
  if (res.status === 404) {
    state.tune = null;
    drawChart('chart-tune', 'Power tuning', [], []);
    note.textContent = `No tuning results yet: lambdad tune ${name} --memory 128,256,512,1024,1769,3008`;
    return;
  }
  if (res.status !== 200 || !res.json) throw new ApiError(res.status, 'tune', res.text);
  const t = res.json;
  const rows = [...(t.rows || [])].sort((a, b) => a.memoryMb - b.memoryMb);
  state.tune = { rows: rows.length, cheapest: t.cheapest, fastest: t.fastest, balanced: t.balanced };
  // x = position of each memory size, labelled with the size: 128 and 3008 both get room.
  const label = (i) => (rows[Math.round(i)] ? `${rows[Math.round(i)].memoryMb} MB` : '');
  drawChart('chart-tune', 'Power tuning: cost per 1M invocations and p50/p95 by memory', rows.map((_, i) => i), [
    { label: '$ per 1M', values: rows.map((r) => r.costPerMillionPico / 1e12), scale: 'usd', format: fmt.usd, color: COLORS[3] },
    { label: 'p50 ms', values: rows.map((r) => r.p50Ms), scale: 'ms', format: fmt.ms, color: COLORS[0] },
    { label: 'p95 ms', values: rows.map((r) => r.p95Ms), scale: 'ms', format: fmt.ms, color: COLORS[1] },
  ], {
    time: false,
    xLabel: 'memory',
    xValue: (_, i) => (i == null ? '—' : label(i)),
    scales: { x: { time: false, range: [-0.5, rows.length - 0.5] }, usd: {}, ms: {} },
    axes: [
      { label: 'memory', splits: () => rows.map((_, i) => i), values: (_, ticks) => ticks.map(label) },
      { scale: 'usd', label: '$ per 1M', size: 70 },
      { scale: 'ms', label: 'ms', side: 1, grid: { show: false } },
    ],
  });
  const when = t.storedAt ? new Date(t.storedAt).toLocaleString() : '';
  note.textContent = `Tuned ${when} (${t.runs || '?'} runs per size, ${t.architecture || 'x86_64'}): ` +
    `cheapest ${t.cheapest} MB · fastest ${t.fastest} MB · balanced ${t.balanced} MB`;
}

// ---------------------------------------------------------------------------------------------
// Access key dialog

function setupKeys() {
  const dialog = $('#keys');
  $('#signin').addEventListener('click', () => {
    const c = creds();
    if (c) { $('#key-id').value = c.accessKeyId; $('#key-region').value = c.region || 'us-east-1'; }
    dialog.showModal();
  });
  dialog.addEventListener('close', () => {
    if (dialog.returnValue === 'save') {
      sessionStorage.setItem(CREDS_KEY, JSON.stringify({
        accessKeyId: $('#key-id').value.trim(),
        secretAccessKey: $('#key-secret').value,
        region: $('#key-region').value.trim() || 'us-east-1',
      }));
    } else if (dialog.returnValue === 'clear') {
      sessionStorage.removeItem(CREDS_KEY);
    }
    $('#key-secret').value = '';
    notice('');
    refreshAll();
  });
}

// ---------------------------------------------------------------------------------------------

setupKeys();
$('#invoke-form').addEventListener('submit', invoke);
$('#payload').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) $('#invoke-form').requestSubmit();
});
$('#refresh').addEventListener('click', refreshAll);
$('#range').addEventListener('change', () => state.selected && loadSeries(state.selected).catch((e) => notice(explain(e), true)));
window.addEventListener('resize', () => {
  for (const [id, u] of Object.entries(plots)) u.setSize({ width: chartWidth(document.getElementById(id)), height: 220 });
});
// Keep the figures current while the tab is visible.
setInterval(() => {
  if (document.visibilityState === 'visible' && !$('#invoke').disabled) {
    if (state.selected) Promise.all([loadRecent(state.selected), loadSeries(state.selected)]).catch(() => {});
  }
}, 10_000);
refreshAll();
