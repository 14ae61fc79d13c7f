// terrain_probe.js URL SCREENSHOT.png LON,LAT;LON,LAT;...: opens serve_pyramid's 3D view
// (MapLibre terrain) in headless Chromium with WebGL2 on SwiftShader, waits until the map is
// idle with its terrain loaded, and prints one JSON line: for each point
// map.queryTerrainElevation and the DEM zoom it was read at, every request's status, the
// console errors. Screenshots the map. Bounded: 90 s in all.
'use strict';
const puppeteer = require('puppeteer-core');

async function main() {
  const [url, screenshot, pointList] = process.argv.slice(2);
  const points = pointList.split(';').map((p) => p.split(',').map(Number));
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
           '--no-first-run', '--disable-extensions'],
  });
  const timer = setTimeout(() => { console.error('terrain_probe: timeout'); process.exit(3); },
                           90000);
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
    const result = await page.evaluate(async (points) => {
      const map = window.viewerMap;
      if (!map || window.viewerState !== 'loaded') return {state: window.viewerState};
      // Look straight at the first point at the source's finest zoom, tilted.
      const maxzoom = map.getSource('dem').maxzoom;
      map.jumpTo({center: points[0], zoom: maxzoom, pitch: 45});
      await new Promise((resolve) => map.once('idle', resolve));
      const samples = points.map((p) => {
        const elevation = map.queryTerrainElevation(p);
        let zoom = null;
        for (let z = maxzoom; z >= 0 && zoom === null; --z) {
          const ll = new maplibregl.LngLat(p[0], p[1]);
          if (map.terrain.getElevationForLngLatZoom(ll, z) === elevation) zoom = z;
        }
        return {lon: p[0], lat: p[1], elevation, zoom};
      });
      return {state: window.viewerState, maxzoom, webgl2: map.painter.context.gl instanceof
              WebGL2RenderingContext, terrain: map.getTerrain() !== null, samples};
    }, points);
    await new Promise((r) => setTimeout(r, 300));
    const mapElement = await page.$('#map');
    await mapElement.screenshot({path: screenshot});
    console.log(JSON.stringify({view: result, requests, errors}));
  } finally {
    clearTimeout(timer);
    await browser.close();
  }
}

main().catch((e) => { console.error('terrain_probe:', e); process.exit(1); });
