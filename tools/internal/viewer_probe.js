// viewer_probe.js URL SCREENSHOT.png: opens serve_pyramid's viewer page in headless Chromium
// (puppeteer-core, /usr/bin/chromium), waits until the visible tiles have loaded, screenshots
// the map and prints one JSON line: the map's exact pixel window in the CRS of its tiles, every
// tile/document request's status, and the console errors. Bounded: 60 s in all.
'use strict';
const puppeteer = require('puppeteer-core');

async function main() {
  const [url, screenshot] = process.argv.slice(2);
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-extensions'],
  });
  const timer = setTimeout(() => { console.error('viewer_probe: timeout'); process.exit(3); },
                           60000);
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
                               {timeout: 30000});
    await new Promise((r) => setTimeout(r, 300));  // Let the last tiles paint.
    const view = await page.evaluate(() => {
      const map = window.viewerMap;
      if (!map) return {state: window.viewerState};
      const crs = map.options.crs;
      const z = map.getZoom();
      const size = map.getSize();
      const topLeft = map.getPixelOrigin().subtract(map._getMapPanePos());
      const nw = crs.project(crs.pointToLatLng(topLeft, z));
      const se = crs.project(crs.pointToLatLng(topLeft.add(size), z));
      return {state: window.viewerState, zoom: z, width: size.x, height: size.y,
              bbox: [nw.x, se.y, se.x, nw.y], crs: crs.code};
    });
    const map = await page.$('#map');
    await map.screenshot({path: screenshot});
    console.log(JSON.stringify({view, requests, errors}));
  } finally {
    clearTimeout(timer);
    await browser.close();
  }
}

main().catch((e) => { console.error('viewer_probe:', e); process.exit(1); });
