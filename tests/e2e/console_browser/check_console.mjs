// Drives the web console in headless Chromium (Debian's /usr/bin/chromium) with playwright-core
// (console/package.json devDependency, installed by ./setup.sh). Used by tests/e2e/test_console.py.
//   node check_console.mjs '{"url":"http://127.0.0.1:PORT","function":"NAME","screenshot":"out.png",
//                            "payload":"{...}","expectTune":true,"key":{"id":"AKIA...","secret":"..."}}'
// Loads /console, (signs in with the key when given), selects the function, invokes it from the
// form, waits for the result, the log tail, the new row among recent invocations and the charts,
// takes a full-page screenshot and prints one JSON object with what it saw. Exit 1 on failure
// (the JSON then has "error").
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../../console/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const args = JSON.parse(process.argv[2]);
const out = { pageErrors: [], steps: [] };
const browser = await chromium.launch({
  executablePath: process.env.LAMBDAD_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
page.setDefaultTimeout(args.timeoutMs || 20000);
page.on('pageerror', (e) => out.pageErrors.push(String(e)));
// Chrome reports failed fetches (the expected 403/404s) as console errors too; keep the rest,
// e.g. Content-Security-Policy violations.
page.on('console', (m) => {
  if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) out.pageErrors.push(m.text());
});
const step = (s) => out.steps.push(s);

try {
  const resp = await page.goto(`${args.url}/console`, { waitUntil: 'load' });
  out.consoleStatus = resp.status();
  out.uplotLoaded = await page.evaluate(() => typeof window.uPlot === 'function');
  step('loaded');

  if (args.key) {
    // Unsigned, the server says 403: the console asks for a key.
    await page.waitForFunction(() => window.__consoleState && window.__consoleState.ready);
    out.noticeBeforeKey = await page.textContent('#notice');
    out.rowsBeforeKey = await page.locator('#functions tbody tr').count();
    await page.click('#signin');
    await page.fill('#key-id', args.key.id);
    await page.fill('#key-secret', args.key.secret);
    await page.click('#keys button[value=save]');
    step('signed in');
  }

  const row = page.locator(`#functions tbody tr[data-function="${args.function}"]`);
  await row.waitFor();
  out.functions = await page.evaluate(() => window.__consoleState.functions);
  await row.click();
  await page.waitForFunction(
    (fn) => document.querySelector('#fn-name').textContent === fn &&
      document.querySelector('#config dd[data-field="Memory"]'), args.function);
  out.configMemory = await page.textContent('#config dd[data-field="Memory"]');
  step('selected');

  const before = await page.evaluate(() => window.__consoleState.invokes);
  await page.fill('#payload', args.payload || '{}');
  await page.click('#invoke');
  await page.waitForFunction((n) => window.__consoleState.invokes > n, before);
  const last = await page.evaluate(() => window.__consoleState.lastInvoke);
  out.lastInvoke = last;
  out.invokeStatus = await page.textContent('#invoke-status');
  out.invokeResult = await page.textContent('#invoke-result');
  out.logTail = await page.textContent('#invoke-log');
  step('invoked');
  await page.locator(`#recent tbody tr[data-request-id="${last.requestId}"]`).waitFor();
  out.recentRow = await page.locator(`#recent tbody tr[data-request-id="${last.requestId}"] td`).allTextContents();
  out.recentRows = await page.locator('#recent tbody tr').count();
  step('recent row');

  await page.waitForFunction((expectTune) => {
    const c = window.__consoleState.charts;
    const ok = (id) => c[id] && c[id].nonEmpty > 0;
    return ok('chart-duration') && ok('chart-invocations') && ok('chart-cost') &&
      (!expectTune || ok('chart-tune'));
  }, !!args.expectTune);
  out.charts = await page.evaluate(() => {
    const s = window.__consoleState;
    const r = {};
    for (const [id, c] of Object.entries(s.charts)) {
      const div = document.getElementById(id);
      r[id] = { ...c, canvases: div.querySelectorAll('canvas').length,
        dataPoints: Number(div.dataset.points), title: div.querySelector('.u-title')?.textContent || '' };
    }
    return r;
  });
  out.tune = await page.evaluate(() => window.__consoleState.tune);
  out.tuneNote = await page.textContent('#tune-note');
  out.totals = await page.textContent('#totals');
  step('charts');

  await page.screenshot({ path: args.screenshot, fullPage: true });
  out.screenshot = args.screenshot;
} catch (e) {
  out.error = String(e && e.stack ? e.stack : e);
  try {
    out.notice = await page.textContent('#notice');
    await page.screenshot({ path: args.screenshot, fullPage: true });
    out.screenshot = args.screenshot;
  } catch { /* the page is gone */ }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out) + '\n');
process.exit(out.error ? 1 : 0);
