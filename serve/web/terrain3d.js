// The 3D view of serve_pyramid's viewer (/NAME/?view=3d): an elevation pyramid in the
// WebMercatorQuad set as MapLibre GL terrain. A raster-dem source reads
// /NAME/{z}/{x}/{y}.png?encoding=terrarium (nodata is encoded as 0 m), drives map.setTerrain
// and a hillshade layer; a click shows the pixel value from /NAME/point.
// Sets window.viewerMap to the maplibregl.Map and window.viewerState to "loaded" once the map
// is idle with its terrain loaded, "error" on failure.
window.startTerrain3d = function (name, tilejson) {
  'use strict';
  const tiles = location.origin + '/' + encodeURIComponent(name) +
                '/{z}/{x}/{y}.png?encoding=terrarium';
  const b = tilejson.bounds;
  const map = new maplibregl.Map({
    container: 'map',
    bounds: [[b[0], b[1]], [b[2], b[3]]],
    pitch: 60,
    maxPitch: 85,
    fadeDuration: 0,
    attributionControl: false,
    style: {
      version: 8,
      sources: {
        dem: {
          type: 'raster-dem',
          tiles: [tiles],
          tileSize: tilejson.tileSize,
          encoding: 'terrarium',
          minzoom: tilejson.minzoom,
          maxzoom: tilejson.maxzoom,
          bounds: b,
        },
      },
      layers: [
        {id: 'background', type: 'background', paint: {'background-color': '#dde4d8'}},
        {id: 'hillshade', type: 'hillshade', source: 'dem',
         paint: {'hillshade-exaggeration': 0.6}},
      ],
    },
  });
  window.viewerMap = map;
  map.addControl(new maplibregl.NavigationControl({visualizePitch: true}));
  map.on('load', () => {
    map.setTerrain({source: 'dem', exaggeration: 1});
    map.once('idle', () => { window.viewerState = 'loaded'; });
  });
  map.on('error', (e) => {
    window.viewerState = 'error';
    console.error('maplibre: ' + (e.error ? e.error.message : e));
  });
  map.on('click', (e) => {
    fetch('point?x=' + e.lngLat.lng + '&y=' + e.lngLat.lat)
        .then((r) => r.json())
        .then((p) => {
          document.getElementById('value').textContent =
              p.lon.toFixed(6) + ', ' + p.lat.toFixed(6) + ': ' +
              p.values.map((v) => (v === null ? 'no data' : v)).join(', ');
        });
  });
};
