// The answers that render pixels through pyramid::Reader: /NAME/region.png|.tif (ReadRegion)
// and /NAME/point (Sample), the preview and elevation-query endpoints TiTiler users know.
//
// region query: bbox=MIN_X,MIN_Y,MAX_X,MAX_Y (required), srs (default EPSG:4326, anything
// GDAL accepts), width and height (required, 1..max_side), resampling (default bilinear;
// GDAL's names). .png holds the pixels of uint8/uint16 pyramids; .tif is a georeferenced
// GeoTIFF of any pixel type.
// point query: x, y (required; longitude and latitude unless srs is given), srs (default
// EPSG:4326), method (nearest or bilinear; default bilinear for elevation, nearest
// otherwise). The answer is JSON: {"lon":..,"lat":..,"values":[one per band, null where no
// level holds data]} (an alpha band is not sampled).
#ifndef FLATPYRAMID_SERVE_REGION_ANSWER_H_
#define FLATPYRAMID_SERVE_REGION_ANSWER_H_

#include "pyramid/reader.h"
#include "serve/http_types.h"
#include "serve/router.h"

namespace flatpyramid {
namespace serve {

// RegionAnswer renders route.query; 400 for a missing or malformed parameter or a size
// beyond `max_side`, naming the parameter.
Response RegionAnswer(const pyramid::Reader& reader, const Route& route, int max_side);

// PointAnswer samples route.query; 400 naming a missing or malformed parameter.
Response PointAnswer(const pyramid::Reader& reader, const Route& route);

}  // namespace serve
}  // namespace flatpyramid

#endif  // FLATPYRAMID_SERVE_REGION_ANSWER_H_
