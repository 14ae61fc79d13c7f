// viewer_probe.js URL SCREENSHOT.png: opens serve_pyramid's viewer page in headless Chromium
// (probe_page.js), waits until the visible tiles have loaded, screenshots the map and prints
// one JSON line: the map's exact pixel window in the CRS of its tiles, every request's status,
// and the console errors. Bounded: 60 s in all.
'use strict';
const {withPage, main} = require('./probe_page.js');

main('viewer_probe', async () => {
  const [url, screenshot] = process.argv.slice(2);
  const options = {name: 'viewer_probe', limitMs: 60000, chromiumArgs: ['--disable-gpu']};
  await withPage(url, options, async (page) => {
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
      return {
        state: window.viewerState,
        zoom: z,
        width: size.x,
        height: size.y,
        bbox: [nw.x, se.y, se.x, nw.y],
        crs: crs.code
      };
    });
    await (await page.$('#map')).screenshot({path: screenshot});
    return view;
  });
});
