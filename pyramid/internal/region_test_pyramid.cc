#include "pyramid/internal/region_test_pyramid.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "codec/codec.h"
#include "cpl_string.h"
#include "gdal_utils.h"
#include "geo/crs.h"
#include "geo/tile_matrix_set.h"
#include "pyramid/format.h"
#include "pyramid/internal/build_state.pb.h"
#include "pyramid/internal/read/samples.h"
#include "pyramid/reader.h"
#include "storage/store.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

absl::StatusOr<codec::PixelType> PixelTypeOf(GDALDataType type) {
  switch (type) {
    case GDT_Byte:
      return codec::PixelType::kUint8;
    case GDT_UInt16:
      return codec::PixelType::kUint16;
    case GDT_Int16:
      return codec::PixelType::kInt16;
    case GDT_Float32:
      return codec::PixelType::kFloat32;
    default:
      return absl::InvalidArgumentError("test pyramids take Byte, UInt16, Int16 or Float32");
  }
}

TileCodec PyramidCodec(const TestPyramidSpec& spec) {
  switch (spec.codec) {
    case codec::CodecId::kJpeg:
      return TileCodec::kJpeg;
    case codec::CodecId::kPng:
      return TileCodec::kPng;
    case codec::CodecId::kWebp:
      return spec.encode.lossless ? TileCodec::kWebpLossless : TileCodec::kWebp;
    case codec::CodecId::kElevation:
      return TileCodec::kElevation;
  }
  return TileCodec::kPng;
}

// SourceGrid is what every level of a test pyramid shares: the tile matrix set, the
// source's footprint in its CRS and the source's sample type.
struct SourceGrid {
  geo::TileMatrixSet tms;
  geo::Bounds footprint;
  codec::PixelType type;
};

absl::StatusOr<SourceGrid> ResolveSourceGrid(GDALDataset& source, const TestPyramidSpec& spec) {
  absl::StatusOr<geo::TileMatrixSet> tms =
      geo::TileMatrixSet::FromName(spec.tile_matrix_set, spec.tile_size);
  if (!tms.ok()) return tms.status();
  std::optional<OGRSpatialReference> source_srs;
  if (!spec.source_srs.empty()) {
    absl::StatusOr<OGRSpatialReference> parsed = geo::ParseSrs(spec.source_srs);
    if (!parsed.ok()) return parsed.status();
    source_srs = *std::move(parsed);
  }
  absl::StatusOr<geo::Bounds> footprint =
      geo::SourceFootprint(source, *tms, source_srs ? &*source_srs : nullptr);
  if (!footprint.ok()) return footprint.status();
  absl::StatusOr<codec::PixelType> type = PixelTypeOf(source.GetRasterBand(1)->GetRasterDataType());
  if (!type.ok()) return type.status();
  return SourceGrid{*std::move(tms), *footprint, *type};
}

// LevelFreeMetadata is the metadata of the whole pyramid, before levels and bands.
PyramidMetadata LevelFreeMetadata(GDALDataset& source, const TestPyramidSpec& spec,
                                  const SourceGrid& grid) {
  PyramidMetadata metadata;
  metadata.set_format_version(kFormatVersion);
  metadata.set_tile_matrix_set(std::string(grid.tms.id()));
  metadata.set_tile_size(static_cast<uint32_t>(spec.tile_size));
  metadata.set_pixel_type(ToProtoPixelType(grid.type));
  metadata.set_has_alpha(spec.add_alpha);
  metadata.set_codec(std::string(TileCodecName(PyramidCodec(spec))));
  metadata.set_quality(static_cast<uint32_t>(spec.encode.quality));
  if (spec.nodata.has_value()) metadata.set_nodata(*spec.nodata);
  metadata.set_min_zoom(static_cast<uint32_t>(spec.min_zoom));
  metadata.set_max_zoom(static_cast<uint32_t>(spec.max_zoom));
  metadata.set_resampling(spec.resampling);
  metadata.set_overview_resampling(spec.resampling);
  metadata.set_source_description(absl::StrCat("test pyramid of ", source.GetDescription()));
  metadata.set_tool_version("region_test_pyramid");
  metadata.set_created_utc("2026-01-01T00:00:00Z");
  const geo::Bounds& footprint = grid.footprint;
  *metadata.mutable_bounds() = Bounds();
  metadata.mutable_bounds()->set_min_x(footprint.min_x);
  metadata.mutable_bounds()->set_min_y(footprint.min_y);
  metadata.mutable_bounds()->set_max_x(footprint.max_x);
  metadata.mutable_bounds()->set_max_y(footprint.max_y);
  double lon0, lat0, lon1, lat1;
  grid.tms.CrsToLonLat(footprint.min_x, footprint.min_y, &lon0, &lat0);
  grid.tms.CrsToLonLat(footprint.max_x, footprint.max_y, &lon1, &lat1);
  metadata.mutable_bounds_lonlat()->set_min_x(lon0);
  metadata.mutable_bounds_lonlat()->set_min_y(lat0);
  metadata.mutable_bounds_lonlat()->set_max_x(lon1);
  metadata.mutable_bounds_lonlat()->set_max_y(lat1);
  return metadata;
}

// WarpedLevel is one gdalwarp of the source into the block of tiles covering it at a zoom.
struct WarpedLevel {
  uint32_t min_x, min_y, max_x, max_y;  // The block's tile range.
  int width = 0;                        // The block's width in pixels.
  int bands = 0;
  size_t pixel_bytes = 0;
  std::vector<uint8_t> pixels;  // Interleaved, width x height.
};

absl::StatusOr<WarpedLevel> WarpLevel(GDALDataset& source, const TestPyramidSpec& spec,
                                      const SourceGrid& grid, int z) {
  const int ts = spec.tile_size;
  WarpedLevel level;
  if (!grid.tms.CoveringTiles(grid.footprint, z, &level.min_x, &level.min_y, &level.max_x,
                              &level.max_y)) {
    return absl::InvalidArgumentError("the source does not overlap the tile matrix set");
  }
  const geo::Bounds top_left = grid.tms.TileBounds({z, level.min_x, level.min_y});
  const geo::Bounds bottom_right = grid.tms.TileBounds({z, level.max_x, level.max_y});
  const double block[4] = {top_left.min_x, bottom_right.min_y, bottom_right.max_x, top_left.max_y};
  level.width = static_cast<int>(level.max_x - level.min_x + 1) * ts;
  const int height = static_cast<int>(level.max_y - level.min_y + 1) * ts;
  std::vector<std::string> args = {"-r", spec.resampling};
  if (spec.add_alpha) args.push_back("-dstalpha");
  if (spec.nodata.has_value()) {
    args.insert(args.end(), {"-dstnodata", absl::StrCat(*spec.nodata)});
  }
  if (!spec.source_srs.empty()) args.insert(args.end(), {"-s_srs", spec.source_srs});
  absl::StatusOr<std::vector<uint8_t>> pixels = WarpToGrid(
      source, std::string(grid.tms.crs()), block, level.width, height, args, &level.bands);
  if (!pixels.ok()) return pixels.status();
  level.pixels = *std::move(pixels);
  level.pixel_bytes = codec::BytesPerSample(grid.type) * static_cast<size_t>(level.bands);
  return level;
}

// CutTile copies tile (x, y) out of `level` into `tile` and says whether any pixel holds
// data and whether every pixel is opaque (alpha 255).
void CutTile(const WarpedLevel& level, const TestPyramidSpec& spec, codec::PixelType type,
             uint32_t x, uint32_t y, codec::Image* tile, bool* any_data, bool* all_opaque) {
  const int ts = spec.tile_size;
  const size_t sample = codec::BytesPerSample(type);
  *any_data = false;
  *all_opaque = true;
  for (int row = 0; row < ts; ++row) {
    const uint8_t* in =
        level.pixels.data() + (static_cast<size_t>((y - level.min_y) * ts + row) * level.width +
                               static_cast<size_t>(x - level.min_x) * ts) *
                                  level.pixel_bytes;
    std::memcpy(tile->data() + static_cast<size_t>(row) * tile->row_stride(), in,
                ts * level.pixel_bytes);
    for (int col = 0; col < ts; ++col) {
      const uint8_t* p = in + col * level.pixel_bytes;
      if (spec.add_alpha) {
        const double alpha = ReadSample(p + (level.bands - 1) * sample, type);
        *any_data = *any_data || alpha != 0;
        *all_opaque = *all_opaque && alpha == 255;
      } else if (spec.nodata.has_value()) {
        const double v = ReadSample(p, type);
        *any_data = *any_data || (v != *spec.nodata && !std::isnan(v));
      } else {
        *any_data = true;
      }
    }
  }
}

// EncodeTile encodes as the builder would: in "mixed" JPEG mode an opaque tile is JPEG without
// its alpha band, any other PNG; the other codecs store every tile as they are.
absl::Status EncodeTile(const TestPyramidSpec& spec, const codec::Image& tile, bool all_opaque,
                        std::string* encoded) {
  if (spec.codec == codec::CodecId::kJpeg && spec.add_alpha && all_opaque) {
    const int ts = spec.tile_size;
    const int bands = tile.bands();
    const size_t sample = codec::BytesPerSample(tile.type());
    const size_t pixel_bytes = sample * static_cast<size_t>(bands);
    codec::Image packed(ts, ts, bands - 1, tile.type());
    for (int i = 0; i < ts * ts; ++i) {
      std::memcpy(packed.data() + i * (bands - 1) * sample, tile.data() + i * pixel_bytes,
                  (bands - 1) * sample);
    }
    return codec::Encode(codec::CodecId::kJpeg, packed.view(), spec.encode, encoded);
  }
  const codec::CodecId id = spec.codec == codec::CodecId::kJpeg ? codec::CodecId::kPng : spec.codec;
  return codec::Encode(id, tile.view(), spec.encode, encoded);
}

// WriteLevel warps zoom `z`, stores its tiles with data (identical ones once) in a new
// section and adds the level to `metadata`; `*bands` is set to the warped band count.
absl::Status WriteLevel(GDALDataset& source, const TestPyramidSpec& spec, const SourceGrid& grid,
                        int z, storage::Writer* writer, PyramidMetadata* metadata, int* bands) {
  absl::StatusOr<WarpedLevel> warped = WarpLevel(source, spec, grid, z);
  if (!warped.ok()) return warped.status();
  *bands = warped->bands;
  absl::StatusOr<uint32_t> section = writer->AddSection(SectionName(z));
  if (!section.ok()) return section.status();
  std::vector<std::pair<uint64_t, std::pair<uint32_t, uint32_t>>> tiles;
  for (uint32_t y = warped->min_y; y <= warped->max_y; ++y) {
    for (uint32_t x = warped->min_x; x <= warped->max_x; ++x) {
      tiles.push_back({TileKey(x, y), {x, y}});
    }
  }
  std::sort(tiles.begin(), tiles.end());
  Level* level = metadata->add_levels();
  level->set_zoom(static_cast<uint32_t>(z));
  level->set_section(*section);
  LevelStats stats;
  std::map<std::string, storage::ValueRef> stored;
  std::string encoded;
  for (const auto& [key, xy] : tiles) {
    const auto [x, y] = xy;
    if (spec.skip_tiles.count({z, x, y})) continue;
    codec::Image tile(spec.tile_size, spec.tile_size, warped->bands, grid.type);
    bool any_data, all_opaque;
    CutTile(*warped, spec, grid.type, x, y, &tile, &any_data, &all_opaque);
    if (!any_data) continue;
    if (absl::Status s = EncodeTile(spec, tile, all_opaque, &encoded); !s.ok()) return s;
    for (const auto& [rz, rx, ry, bytes] : spec.replace_tiles) {
      if (rz == z && rx == x && ry == y) encoded = bytes;
    }
    auto it = stored.find(encoded);
    const bool unique = it == stored.end();
    if (!unique) {
      if (absl::Status s = writer->AppendShared(*section, key, it->second); !s.ok()) return s;
    } else {
      absl::StatusOr<storage::ValueRef> ref = writer->Append(*section, key, encoded);
      if (!ref.ok()) return ref.status();
      stored.emplace(encoded, *ref);
    }
    stats.AddTile(x, y, unique, encoded.size());
  }
  stats.CopyTo(level);
  return absl::OkStatus();
}

// SetBands records the band count and each band's colour interpretation.
void SetBands(const TestPyramidSpec& spec, int bands, PyramidMetadata* metadata) {
  metadata->set_band_count(static_cast<uint32_t>(bands));
  static const char* kRgb[] = {"Red", "Green", "Blue"};
  const int color_bands = spec.add_alpha ? bands - 1 : bands;
  for (int b = 0; b < color_bands; ++b) {
    metadata->add_color_interpretation(color_bands == 3   ? kRgb[b]
                                       : color_bands == 1 ? "Gray"
                                                          : "Undefined");
  }
  if (spec.add_alpha) metadata->add_color_interpretation("Alpha");
}

// Finish seals the file, or leaves it as an unfinished build's commit point.
absl::Status Finish(const TestPyramidSpec& spec, const PyramidMetadata& metadata,
                    storage::Writer* writer) {
  if (!spec.unfinished_units.has_value()) {
    writer->SetUserMetadata(kMetadataTypeName, metadata.SerializeAsString());
    return writer->Seal();
  }
  BuildState state;
  *state.mutable_metadata() = metadata;
  state.set_units_done(spec.unfinished_units->first);
  state.set_units_total(spec.unfinished_units->second);
  uint64_t tiles = 0;
  for (const Level& level : metadata.levels()) tiles += level.tile_count();
  state.set_tiles_written(tiles);
  writer->SetUserMetadata(kBuildStateTypeName, state.SerializeAsString());
  return writer->Commit();
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> WarpToGrid(GDALDataset& source, const std::string& srs,
                                                const double bounds[4], int width, int height,
                                                const std::vector<std::string>& extra_args,
                                                int* bands_out) {
  GDALAllRegister();
  char** argv = nullptr;
  for (const std::string& arg :
       {std::string("-of"), std::string("MEM"), std::string("-t_srs"), srs, std::string("-te"),
        // %.17g: absl::StrCat keeps 6 digits, metres off in Web Mercator.
        absl::StrFormat("%.17g", bounds[0]), absl::StrFormat("%.17g", bounds[1]),
        absl::StrFormat("%.17g", bounds[2]), absl::StrFormat("%.17g", bounds[3]),
        std::string("-ts"), absl::StrCat(width), absl::StrCat(height), std::string("-et"),
        std::string("0.125")}) {
    argv = CSLAddString(argv, arg.c_str());
  }
  for (const std::string& arg : extra_args) argv = CSLAddString(argv, arg.c_str());
  GDALWarpAppOptions* options = GDALWarpAppOptionsNew(argv, nullptr);
  CSLDestroy(argv);
  if (options == nullptr) return absl::InvalidArgumentError("bad gdalwarp arguments");
  GDALDatasetH sources[] = {GDALDataset::ToHandle(&source)};
  int usage_error = 0;
  GDALDatasetUniquePtr warped(
      GDALDataset::FromHandle(GDALWarp("", nullptr, 1, sources, options, &usage_error)));
  GDALWarpAppOptionsFree(options);
  if (warped == nullptr) {
    return absl::InternalError(absl::StrCat("gdalwarp failed: ", CPLGetLastErrorMsg()));
  }
  const int bands = warped->GetRasterCount();
  const GDALDataType type = warped->GetRasterBand(1)->GetRasterDataType();
  const int sample = GDALGetDataTypeSizeBytes(type);
  std::vector<uint8_t> pixels(static_cast<size_t>(width) * height * bands * sample);
  if (warped->RasterIO(GF_Read, 0, 0, width, height, pixels.data(), width, height, type, bands,
                       nullptr, static_cast<GSpacing>(bands) * sample,
                       static_cast<GSpacing>(width) * bands * sample, sample, nullptr) != CE_None) {
    return absl::InternalError("reading the warped pixels failed");
  }
  if (bands_out != nullptr) *bands_out = bands;
  return pixels;
}

absl::StatusOr<PyramidMetadata> WriteTestPyramid(GDALDataset& source, const TestPyramidSpec& spec,
                                                 const std::string& path,
                                                 std::unique_ptr<storage::Writer>* keep_writer) {
  GDALAllRegister();
  absl::StatusOr<SourceGrid> grid = ResolveSourceGrid(source, spec);
  if (!grid.ok()) return grid.status();
  storage::WriterOptions writer_options;
  writer_options.overwrite = true;
  absl::StatusOr<std::unique_ptr<storage::Writer>> writer =
      storage::Writer::Create(path, writer_options);
  if (!writer.ok()) return writer.status();

  PyramidMetadata metadata = LevelFreeMetadata(source, spec, *grid);
  int bands = 0;
  for (int z = spec.min_zoom; z <= spec.max_zoom; ++z) {
    if (absl::Status s = WriteLevel(source, spec, *grid, z, writer->get(), &metadata, &bands);
        !s.ok()) {
      return s;
    }
  }
  SetBands(spec, bands, &metadata);
  if (absl::Status s = Finish(spec, metadata, writer->get()); !s.ok()) return s;
  if (keep_writer != nullptr) *keep_writer = *std::move(writer);
  return metadata;
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
