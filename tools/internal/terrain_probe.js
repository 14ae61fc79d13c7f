// terrain_probe.js URL SCREENSHOT.png ZOOM LON,LAT;LON,LAT;...: opens serve_pyramid's 3D view
// (MapLibre GL terrain) in headless Chromium with WebGL2 on SwiftShader (probe_page.js) and
// screenshots the map as it first shows. Then looks straight down (pitch 0) at the first point
// from map zoom ZOOM, waits until the map is idle and prints one JSON line: for each point
// map.queryTerrainElevation and the raster-dem tile MapLibre read it from, every request's
// status, the console errors. Bounded: 90 s in all.
//
// The DEM tile comes from MapLibre 5.24.1's Terrain internals, mirroring
// Terrain.getElevationForLngLat: the terrain tile zoom is the finest of the rendered terrain
// tiles, and TerrainTileManager.getSourceTile picks the loaded raster-dem tile under it.
'use strict';
const {withPage, main} = require('./probe_page.js');

async function sampleTerrain(page, zoom, points) {
  return page.evaluate(async (zoom, points) => {
    const map = window.viewerMap;
    if (!map || window.viewerState !== 'loaded') return {state: window.viewerState};
    map.jumpTo({center: points[0], zoom, pitch: 0, bearing: 0});
    await new Promise((resolve) => map.once('idle', resolve));
    const terrain = map.terrain;
    const terrainZoom =
        Math.max(...terrain.tileManager.getRenderableTiles().map((t) => t.tileID.canonical.z));
    const samples = points.map(([lon, lat]) => {
      const lngLat = new maplibregl.LngLat(lon, lat);
      const elevation = map.queryTerrainElevation(lngLat);
      const {tileID} = terrain._getOverscaledTileIDFromLngLatZoom(lngLat, terrainZoom);
      const dem = terrain.tileManager.getSourceTile(tileID, true);
      return {
        lon,
        lat,
        elevation,
        sameAsTerrainZoom: terrain.getElevationForLngLatZoom(lngLat, terrainZoom) === elevation,
        demTile: dem && dem.dem ?
            {z: dem.tileID.canonical.z, x: dem.tileID.canonical.x, y: dem.tileID.canonical.y} :
            null,
      };
    });
    return {
      state: window.viewerState,
      webgl2: map.painter.context.gl instanceof WebGL2RenderingContext,
      terrain: map.getTerrain() !== null,
      terrainZoom,
      samples,
    };
  }, zoom, points);
}

main('terrain_probe', async () => {
  const [url, screenshot, zoom, pointList] = process.argv.slice(2);
  const points = pointList.split(';').map((p) => p.split(',').map(Number));
  const options = {
    name: 'terrain_probe',
    limitMs: 90000,
    // SwiftShader's time grows with the pixels drawn: a 320 x 450 map (the page less the panel).
    viewport: {width: 600, height: 450},
    chromiumArgs: ['--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  };
  await withPage(url, options, async (page, say) => {
    await (await page.$('#map')).screenshot({path: screenshot});
    say('screenshot');
    return sampleTerrain(page, Number(zoom), points);
  });
});
