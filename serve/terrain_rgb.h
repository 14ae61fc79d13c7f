// Terrain RGB encodings of elevation tiles, the two that MapLibre GL's raster-dem source
// decodes:
//   terrarium (Mapzen): height = R * 256 + G + B / 256 - 32768 metres, a 1/256 m step.
//   mapbox (terrain-RGB): height = -10000 + (R * 65536 + G * 256 + B) * 0.1, a 0.1 m step.
// Heights are rounded to the nearest step (not truncated), so a decoded height is within half
// a step of the stored one, and clamped to the encodable range (terrarium -32768..32767.996,
// mapbox -10000..1667721.5). Nodata pixels (the pyramid's nodata value, or NaN) have no
// terrain meaning to a raster-dem client, which has no nodata: they are encoded as 0 m, so
// the surface stays at sea level rather than dropping into a pit.
#ifndef FLATPYRAMID_SERVE_TERRAIN_RGB_H_
#define FLATPYRAMID_SERVE_TERRAIN_RGB_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/image.h"

namespace flatpyramid {
namespace serve {

enum class TerrainEncoding { kTerrarium, kMapbox };

// ParseTerrainEncoding accepts "terrarium" and "mapbox"; InvalidArgument otherwise.
absl::StatusOr<TerrainEncoding> ParseTerrainEncoding(absl::string_view name);

// EncodeTerrainRgb encodes one height to R, G, B (see the file comment).
void EncodeTerrainRgb(double height, TerrainEncoding encoding, uint8_t rgb[3]);

// TerrainRgbPng encodes a single-band int16, uint16 or float32 `elevation` tile as an RGB
// PNG. InvalidArgument for any other image.
absl::StatusOr<std::string> TerrainRgbPng(const codec::ImageView& elevation,
                                          std::optional<double> nodata, TerrainEncoding encoding);

}  // namespace serve
}  // namespace flatpyramid

#endif  // FLATPYRAMID_SERVE_TERRAIN_RGB_H_
