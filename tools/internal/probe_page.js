// probe_page.js: what tools/internal/*_probe.js share. withPage(url, options, body) launches
// Debian's headless Chromium through puppeteer-core, opens an 800 x 600 page recording every
// response's status and every console error, page error and failed request, loads `url`,
// waits until the page sets window.viewerState to "loaded" or "error", runs
// `body(page)` and prints one JSON line {view: what body returned, requests, errors}.
// Everything is bounded: the process exits 3 after options.limitMs.
'use strict';
const puppeteer = require('puppeteer-core');

async function withPage(url, options, body) {
  const timer = setTimeout(() => {
    console.error(`${options.name}: timeout after ${options.limitMs} ms`);
    process.exit(3);
  }, options.limitMs);
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--no-first-run', '--disable-extensions', ...options.chromiumArgs],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({width: 800, height: 600, deviceScaleFactor: 1});
    const errors = [];
    const requests = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('requestfailed', (r) => errors.push('failed: ' + r.url()));
    page.on('response', (r) => requests.push({url: r.url(), status: r.status()}));
    await page.goto(url, {waitUntil: 'load', timeout: 30000});
    await page.waitForFunction('window.viewerState === "loaded" || window.viewerState === "error"',
                               {timeout: 45000});
    const view = await body(page);
    console.log(JSON.stringify({view, requests, errors}));
  } finally {
    clearTimeout(timer);
    await browser.close();
  }
}

// main(name, run): runs `run` and exits 1 with the error if it throws.
function main(name, run) {
  run().catch((e) => { console.error(name + ':', e); process.exit(1); });
}

module.exports = {withPage, main};
