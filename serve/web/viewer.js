// The viewer page of serve_pyramid: the pyramid of this URL (/NAME/) on a Leaflet map in
// its own CRS (WebMercatorQuad: L.CRS.EPSG3857; WorldCRS84Quad: L.CRS.EPSG4326, whose zoom 0
// is the set's 2 x 1 tiles), its metadata, the pixel value under a click (/NAME/point), and
// for elevation pyramids a hillshade computed here from terrarium tiles.
// URL hash #ZOOM/LAT/LON sets the view (the browser tests use it); the page sets
// window.viewerState to "loaded" once the visible tiles have loaded, "error" on failure.
(function () {
  'use strict';
  const name = decodeURIComponent(location.pathname.split('/')[1]);
  window.viewerState = 'loading';

  function hillshadeLayer(tilejson, options) {
    const HillshadeLayer = L.GridLayer.extend({
      createTile: function (coords, done) {
        const size = this.getTileSize();
        const canvas = L.DomUtil.create('canvas');
        canvas.width = size.x;
        canvas.height = size.y;
        const z = coords.z + (options.zoomOffset || 0);
        const image = new Image();
        image.onload = function () {
          const context = canvas.getContext('2d');
          context.drawImage(image, 0, 0);
          const pixels = context.getImageData(0, 0, size.x, size.y);
          shade(pixels, size.x, size.y, tilejson, z);
          context.putImageData(pixels, 0, 0);
          done(null, canvas);
        };
        image.onerror = function () { done(new Error('tile failed'), canvas); };
        image.src = z + '/' + coords.x + '/' + coords.y + '.png?encoding=terrarium';
        return canvas;
      },
    });
    return new HillshadeLayer(options);
  }

  // shade replaces terrarium-encoded heights by a grey hillshade (sun from the north-west,
  // 45 degrees up) tinted by height.
  function shade(pixels, width, height, tilejson, z) {
    const d = pixels.data;
    const h = new Float32Array(width * height);
    for (let i = 0; i < width * height; i++) {
      h[i] = d[4 * i] * 256 + d[4 * i + 1] + d[4 * i + 2] / 256 - 32768;
    }
    const metres = tilejson.crs === 'EPSG:4326' ? 40075016.7 / (width * Math.pow(2, z + 1))
                                                : 40075016.7 / (width * Math.pow(2, z));
    const zenith = Math.PI / 4, azimuth = 7 * Math.PI / 4;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const at = (xx, yy) => h[Math.min(height - 1, Math.max(0, yy)) * width +
                                 Math.min(width - 1, Math.max(0, xx))];
        const dzdx = (at(x + 1, y) - at(x - 1, y)) / (2 * metres);
        const dzdy = (at(x, y + 1) - at(x, y - 1)) / (2 * metres);
        const slope = Math.atan(Math.hypot(dzdx, dzdy));
        const aspect = Math.atan2(dzdy, -dzdx);
        const light = Math.max(0, Math.cos(zenith) * Math.cos(slope) +
                                      Math.sin(zenith) * Math.sin(slope) * Math.cos(azimuth - aspect));
        const i = 4 * (y * width + x);
        const tint = Math.min(1, Math.max(0, h[y * width + x] / 3000));
        d[i] = 255 * light * (0.6 + 0.4 * tint);
        d[i + 1] = 255 * light * (0.8 - 0.2 * tint);
        d[i + 2] = 255 * light * (0.6 - 0.2 * tint);
        d[i + 3] = 255;
      }
    }
  }

  function describe(tilejson) {
    const lines = [
      'tile matrix set: ' + tilejson.tile_matrix_set,
      'zoom: ' + tilejson.minzoom + '..' + tilejson.maxzoom,
      'format: ' + tilejson.format + (tilejson.encoding ? ' (' + tilejson.encoding + ')' : ''),
      'pixels: ' + tilejson.band_count + ' x ' + tilejson.pixel_type +
          (tilejson.nodata !== undefined ? ', nodata ' + tilejson.nodata : ''),
      'bounds: ' + tilejson.bounds.map((v) => v.toFixed(5)).join(', '),
      'source: ' + tilejson.description,
    ];
    document.getElementById('title').textContent = tilejson.name;
    document.getElementById('meta').textContent = lines.join('\n');
  }

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = src;
      script.onload = resolve;
      script.onerror = () => reject(new Error(src + ' failed to load'));
      document.head.appendChild(script);
    });
  }

  // ?view=3d on an elevation pyramid in WebMercatorQuad: MapLibre terrain (terrain3d.js).
  function start3d(tilejson) {
    const css = document.createElement('link');
    css.rel = 'stylesheet';
    css.href = '/_static/maplibre-gl.css';
    document.head.appendChild(css);
    return loadScript('/_static/maplibre-gl.js')
        .then(() => loadScript('/_static/terrain3d.js'))
        .then(() => window.startTerrain3d(name, tilejson));
  }

  function start(tilejson) {
    describe(tilejson);
    const terrain = tilejson.encoding !== undefined && tilejson.crs !== 'EPSG:4326';
    if (terrain) {
      const link = document.createElement('a');
      const is3d = new URLSearchParams(location.search).get('view') === '3d';
      link.href = is3d ? './' : '?view=3d';
      link.textContent = is3d ? '2D view' : '3D terrain';
      document.getElementById('links').prepend(link, ' · ');
      if (is3d) return start3d(tilejson);
    }
    const geographic = tilejson.crs === 'EPSG:4326';
    const zoomOffset = -Math.round(Math.log2(tilejson.tileSize / 256));
    const map = L.map('map', {
      crs: geographic ? L.CRS.EPSG4326 : L.CRS.EPSG3857,
      fadeAnimation: false,
      maxZoom: tilejson.maxzoom - zoomOffset + 4,
    });
    window.viewerMap = map;
    const b = tilejson.bounds;
    const bounds = L.latLngBounds([b[1], b[0]], [b[3], b[2]]);
    const options = {
      tileSize: tilejson.tileSize,
      zoomOffset: zoomOffset,
      minNativeZoom: tilejson.minzoom - zoomOffset,
      maxNativeZoom: tilejson.maxzoom - zoomOffset,
      bounds: bounds,
      noWrap: true,
    };
    const elevation = tilejson.encoding !== undefined;
    const layer = elevation ? hillshadeLayer(tilejson, options)
                            : L.tileLayer('{z}/{x}/{y}.' + tilejson.format, options);
    layer.on('load', () => { window.viewerState = 'loaded'; });
    layer.on('loading', () => { window.viewerState = 'loading'; });
    layer.addTo(map);
    const hash = location.hash.slice(1).split('/').map(Number);
    if (hash.length === 3 && hash.every(Number.isFinite)) {
      map.setView([hash[1], hash[2]], hash[0], {animate: false});
    } else {
      map.fitBounds(bounds, {animate: false});
    }
    map.on('click', (e) => {
      const url = 'point?x=' + e.latlng.lng + '&y=' + e.latlng.lat;
      fetch(url).then((r) => r.json()).then((p) => {
        document.getElementById('value').textContent =
            p.lon.toFixed(6) + ', ' + p.lat.toFixed(6) + ': ' +
            p.values.map((v) => (v === null ? 'no data' : v)).join(', ');
      });
    });
  }

  fetch('tilejson.json')
      .then((r) => {
        if (!r.ok) throw new Error('tilejson.json: ' + r.status);
        return r.json();
      })
      .then(start)
      .catch((e) => {
        window.viewerState = 'error';
        document.getElementById('title').textContent = name + ': ' + e.message;
      });
})();
