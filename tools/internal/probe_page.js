// probe_page.js: what tools/internal/*_probe.js share. withPage(url, options, body) launches
// Debian's headless Chromium through puppeteer-core, opens a page of options.viewport (default
// 800 x 600) recording every response's status and every console error, page error and failed
// request, loads `url`, waits until the page sets window.viewerState to "loaded" or "error",
// runs body(page, say) (say(what) logs to stderr what happened how long after the start) and
// prints one JSON line: {view: what body returned, requests, errors}.
// Everything is bounded: the process exits 3 after options.limitMs, and a browser that has not
// shut down CLOSE_GRACE_MS after the result is printed is killed (Chromium first finishes the
// page's pending WebGL work, which SwiftShader can take ten seconds and more to do).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const puppeteer = require('puppeteer-core');

const CLOSE_GRACE_MS = 2000;

// closeOrKill closes `browser`, or kills its process group (Chromium's helpers included) after
// CLOSE_GRACE_MS.
async function closeOrKill(browser) {
  let timer;
  const grace = new Promise((resolve) => {
    timer = setTimeout(() => resolve(false), CLOSE_GRACE_MS);
  });
  const closed = await Promise.race([browser.close().then(() => true), grace]);
  clearTimeout(timer);
  if (!closed) {
    try {
      process.kill(-browser.process().pid, 'SIGKILL');  // puppeteer starts it detached.
    } catch (e) {
      // Already gone.
    }
  }
}

async function withPage(url, options, body) {
  const start = Date.now();
  const say = (what) => console.error(`${options.name}: ${what} after ${Date.now() - start} ms`);
  const timer = setTimeout(() => {
    console.error(`${options.name}: timeout after ${options.limitMs} ms`);
    process.exit(3);
  }, options.limitMs);
  // The profile lives in the test's temporary directory, so a killed browser leaves nothing.
  const profile = fs.mkdtempSync(path.join(process.env.TEST_TMPDIR || os.tmpdir(), 'chromium-'));
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    userDataDir: profile,
    args: ['--no-sandbox', '--no-first-run', '--disable-extensions', ...options.chromiumArgs],
  });
  try {
    const page = await browser.newPage();
    const size = options.viewport || {width: 800, height: 600};
    await page.setViewport({...size, deviceScaleFactor: 1});
    const errors = [];
    const requests = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('requestfailed', (r) => errors.push('failed: ' + r.url()));
    page.on('response', (r) => requests.push({url: r.url(), status: r.status()}));
    await page.goto(url, {waitUntil: 'load', timeout: 30000});
    await page.waitForFunction(
        'window.viewerState === "loaded" || window.viewerState === "error"', {timeout: 45000});
    say(`viewerState ${await page.evaluate(() => window.viewerState)}`);
    const view = await body(page, say);
    say('probed');
    console.log(JSON.stringify({view, requests, errors}));
  } finally {
    clearTimeout(timer);
    await closeOrKill(browser);
    say('browser closed');
  }
}

// main(name, run): runs `run` and exits 1 with the error if it throws.
function main(name, run) {
  run().catch((e) => {
    console.error(name + ':', e);
    process.exit(1);
  });
}

module.exports = {
  withPage,
  main
};
