// Terrain-RGB encodings: elevation packed into the red, green and blue bytes of an RGB image,
// what MapLibre GL's and Mapbox GL's `raster-dem` sources read (their `encoding` option).
//
//   terrarium  height = R * 256 + G + B / 256 - 32768         (1/256 m steps, -32768..32767.996)
//   mapbox     height = -10000 + (R * 65536 + G * 256 + B) / 10   (0.1 m steps, -10000..1667721.5)
//
// Encoding rounds to the nearest step (half away from zero), never truncates, so a decoded
// value is within half a step of the source; values beyond the range clamp to its ends.
//
// Nodata: raster-dem has no nodata or transparency (its decoders ignore alpha), so a sample
// equal to the pyramid's nodata value, or NaN, encodes as 0 m (sea level): hillshading stays
// flat there instead of showing a cliff to -32768 m.
//
// Example:
//   absl::StatusOr<codec::Image> rgb =
//       codec::EncodeTerrainRgb(elevation.view(), TerrainEncoding::kTerrarium, -9999.0);
//   std::string png;
//   absl::Status s = codec::Encode(CodecId::kPng, rgb->view(), {}, &png);
#ifndef FLATPYRAMID_CODEC_TERRAIN_RGB_H_
#define FLATPYRAMID_CODEC_TERRAIN_RGB_H_

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/image.h"

namespace flatpyramid {
namespace codec {

enum class TerrainEncoding { kTerrarium, kMapbox };

// ParseTerrainEncoding accepts "terrarium" and "mapbox" (MapLibre's names); InvalidArgument
// listing them otherwise.
absl::StatusOr<TerrainEncoding> ParseTerrainEncoding(absl::string_view name);

// TerrainEncodingName returns the name ParseTerrainEncoding accepts.
absl::string_view TerrainEncodingName(TerrainEncoding encoding);

// EncodeTerrainRgb returns a 3-band uint8 image of `elevation`'s size holding each sample
// encoded as the file comment says. `elevation` must have one band of any pixel type;
// InvalidArgument otherwise (or for a view breaking ImageView's requirements).
absl::StatusOr<Image> EncodeTerrainRgb(const ImageView& elevation, TerrainEncoding encoding,
                                       std::optional<double> nodata);

// TerrainRgbToMetres decodes one pixel, as a raster-dem client does.
double TerrainRgbToMetres(TerrainEncoding encoding, uint8_t r, uint8_t g, uint8_t b);

// MetresToTerrainRgb encodes one height (already known not to be nodata) into rgb[0..2].
void MetresToTerrainRgb(TerrainEncoding encoding, double metres, uint8_t rgb[3]);

}  // namespace codec
}  // namespace flatpyramid

#endif  // FLATPYRAMID_CODEC_TERRAIN_RGB_H_
