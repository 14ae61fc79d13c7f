#include "gdal/internal/dataset.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gdal/internal/shared_readers.h"
#include "geo/crs.h"
#include "pyramid/gdal_types.h"

namespace flatpyramid {
namespace gdal_driver {
namespace {

// kMaxWindowChunk bounds one ReadRegion of a large RasterIO (ReadRegion takes at most 16384
// pixels a side; 4096 x 2048 RGBA is 32 MiB of scratch).
constexpr int kMaxChunkWidth = 4096;
constexpr int kMaxChunkHeight = 2048;
// kMaxKeptWindowBytes bounds the window a dataset keeps for band-by-band reads (a 4096 x 2048
// RGBA window; screens are smaller).
constexpr size_t kMaxKeptWindowBytes = size_t{32} << 20;

}  // namespace

FlatPyramidDataset::FlatPyramidDataset(PyramidReaders readers, const LevelGrid& grid)
    : reader_(std::move(readers.cached)), direct_reader_(std::move(readers.direct)), grid_(grid) {
  nRasterXSize = grid.width;
  nRasterYSize = grid.height;
  eAccess = GA_ReadOnly;
  for (int band = 1; band <= reader_->band_count(); ++band) {
    SetBand(band, new FlatPyramidRasterBand(this, band));
  }
  GDALMajorObject::SetMetadataItem("INTERLEAVE", "PIXEL", "IMAGE_STRUCTURE");
}

FlatPyramidDataset::~FlatPyramidDataset() { FlushCache(true); }

void FlatPyramidDataset::FlushCache(bool at_closing) {
  window_ = KeptWindow();
  GDALPamDataset::FlushCache(at_closing);
}

absl::StatusOr<std::unique_ptr<FlatPyramidDataset>> FlatPyramidDataset::Open(
    const std::string& path) {
  absl::StatusOr<PyramidReaders> readers = OpenSharedReaders(path);
  if (!readers.ok()) return readers.status();
  const pyramid::Reader& reader = *readers->cached;
  absl::StatusOr<OGRSpatialReference> srs = geo::TileMatrixSetSrs(reader.tile_matrix_set());
  if (!srs.ok()) return srs.status();
  absl::StatusOr<std::vector<LevelGrid>> grids = LevelGrids(reader);
  if (!grids.ok()) return grids.status();
  std::unique_ptr<FlatPyramidDataset> dataset(new FlatPyramidDataset(*readers, grids->front()));
  dataset->srs_ = *srs;
  for (size_t i = 1; i < grids->size(); ++i) {
    dataset->overviews_.emplace_back(new FlatPyramidDataset(*readers, (*grids)[i]));
    dataset->overviews_.back()->srs_ = *srs;
  }
  dataset->SetPyramidMetadata();
  dataset->SetDescription(path.c_str());
  dataset->TryLoadXML();  // A .aux.xml next to the file: statistics gdalinfo -stats wrote.
  return dataset;
}

// SetPyramidMetadata publishes the pyramid's metadata (not through PAM: it is the file's own,
// and setting it must not write an .aux.xml).
void FlatPyramidDataset::SetPyramidMetadata() {
  const pyramid::PyramidMetadata& m = reader_->metadata();
  const auto set = [this](const std::string& key, const std::string& value,
                          const char* domain = nullptr) {
    GDALMajorObject::SetMetadataItem(key.c_str(), value.c_str(), domain);
  };
  set("COMPRESSION", absl::AsciiStrToUpper(m.codec()), "IMAGE_STRUCTURE");
  if (m.codec() == "jpeg" || m.codec() == "webp") {
    set("QUALITY", absl::StrCat(m.quality()), "IMAGE_STRUCTURE");
  }
  set("TILE_MATRIX_SET", m.tile_matrix_set());
  set("TILE_SIZE", absl::StrCat(m.tile_size()));
  set("MIN_ZOOM", absl::StrCat(m.min_zoom()));
  set("MAX_ZOOM", absl::StrCat(m.max_zoom()));
  set("CODEC", m.codec());
  set("QUALITY", absl::StrCat(m.quality()));
  set("RESAMPLING", m.resampling());
  set("OVERVIEW_RESAMPLING", m.overview_resampling());
  set("SOURCE", m.source_description());
  set("TOOL_VERSION", m.tool_version());
  set("CREATED", m.created_utc());
  set("BOUNDS_LONLAT", absl::StrCat(m.bounds_lonlat().min_x(), ",", m.bounds_lonlat().min_y(), ",",
                                    m.bounds_lonlat().max_x(), ",", m.bounds_lonlat().max_y()));
  for (const auto& [key, value] : m.creation_options()) set(key, value, "CREATION_OPTIONS");
}

CPLErr FlatPyramidDataset::GetGeoTransform(double* transform) {
  std::copy(grid_.geotransform.begin(), grid_.geotransform.end(), transform);
  return CE_None;
}

const OGRSpatialReference* FlatPyramidDataset::GetSpatialRef() const { return &srs_; }

CPLErr FlatPyramidDataset::ReportError(const absl::Status& status) const {
  CPLError(CE_Failure, CPLE_AppDefined, "FlatPyramid: %s", std::string(status.message()).c_str());
  return CE_Failure;
}

// --- Blocks ---

namespace {

// FillWithValue writes `value` as `count` samples of `type`.
void FillWithValue(double value, GDALDataType type, void* data, size_t count) {
  GDALCopyWords64(&value, GDT_Float64, 0, data, type, GDALGetDataTypeSizeBytes(type),
                  static_cast<GPtrDiff_t>(count));
}

}  // namespace

CPLErr FlatPyramidDataset::ReadBlock(int block_x, int block_y, int band, void* data) {
  const int ts = reader_->tile_size();
  const int bands = reader_->band_count();
  const GDALDataType type = pyramid::ToGdalType(reader_->pixel_type());
  const int bps = GDALGetDataTypeSizeBytes(type);
  const size_t block_samples = static_cast<size_t>(ts) * ts;
  const pyramid::PyramidMetadata& m = reader_->metadata();

  // Targets: the requested band's buffer and the blocks of the other bands not yet cached.
  std::vector<void*> targets(bands, nullptr);
  std::vector<GDALRasterBlock*> locked;
  for (int b = 1; b <= bands; ++b) {
    if (b == band) {
      targets[b - 1] = data;
      continue;
    }
    GDALRasterBand* other = GetRasterBand(b);
    if (GDALRasterBlock* cached = other->TryGetLockedBlockRef(block_x, block_y)) {
      cached->DropLock();
      continue;
    }
    GDALRasterBlock* fresh = other->GetLockedBlockRef(block_x, block_y, TRUE);
    if (fresh == nullptr) continue;  // No room in the block cache: that band reads it later.
    locked.push_back(fresh);
    targets[b - 1] = fresh->GetDataRef();
  }
  for (int b = 0; b < bands; ++b) {
    if (targets[b] == nullptr) continue;
    const bool alpha = m.has_alpha() && b == bands - 1;
    FillWithValue(!alpha && m.has_nodata() ? m.nodata() : 0, type, targets[b], block_samples);
  }

  CPLErr result = CE_None;
  const int64_t gx0 = grid_.origin_x + int64_t{block_x} * ts;
  const int64_t gy0 = grid_.origin_y + int64_t{block_y} * ts;
  const geo::TileMatrixSet& tms = reader_->tile_matrix_set();
  for (int64_t ty = gy0 / ts; ty <= (gy0 + ts - 1) / ts && result == CE_None; ++ty) {
    for (int64_t tx = gx0 / ts; tx <= (gx0 + ts - 1) / ts; ++tx) {
      if (tx >= tms.MatrixWidth(grid_.zoom) || ty >= tms.MatrixHeight(grid_.zoom)) continue;
      absl::StatusOr<std::shared_ptr<const codec::Image>> tile =
          reader_->GetTile(grid_.zoom, static_cast<uint32_t>(tx), static_cast<uint32_t>(ty));
      if (absl::IsNotFound(tile.status())) continue;  // No data there: nodata / transparent.
      if (!tile.ok()) {
        result = ReportError(tile.status());
        break;
      }
      // The part of the tile inside the block, in global pixels of the level.
      const int64_t x0 = std::max(gx0, tx * ts), x1 = std::min(gx0 + ts, (tx + 1) * ts);
      const int64_t y0 = std::max(gy0, ty * ts), y1 = std::min(gy0 + ts, (ty + 1) * ts);
      const codec::Image& image = **tile;
      const size_t pixel_bytes = static_cast<size_t>(bands) * bps;
      for (int64_t y = y0; y < y1; ++y) {
        const uint8_t* source =
            image.data() + (y - ty * ts) * image.row_stride() + (x0 - tx * ts) * pixel_bytes;
        const size_t target_offset = ((y - gy0) * ts + (x0 - gx0)) * static_cast<size_t>(bps);
        for (int b = 0; b < bands; ++b) {
          if (targets[b] == nullptr) continue;
          GDALCopyWords64(source + b * bps, type, static_cast<int>(pixel_bytes),
                          static_cast<uint8_t*>(targets[b]) + target_offset, type, bps,
                          static_cast<GPtrDiff_t>(x1 - x0));
        }
      }
    }
  }
  for (GDALRasterBlock* block : locked) {
    if (result != CE_None) block->MarkClean();
    block->DropLock();
  }
  return result;
}

// --- Windows ---

bool FlatPyramidDataset::CanReadWindow(GDALRWFlag rw, int x, int y, int width, int height,
                                       int buffer_width, int buffer_height) const {
  if (rw != GF_Read || width != buffer_width || height != buffer_height) return false;
  const int ts = reader_->tile_size();
  const int64_t gx0 = grid_.origin_x + x, gy0 = grid_.origin_y + y;
  const int64_t tx0 = gx0 / ts, tx1 = (gx0 + width - 1) / ts;
  const int64_t ty0 = gy0 / ts, ty1 = (gy0 + height - 1) / ts;
  if (tx0 == tx1 && ty0 == ty1) return false;  // One tile: the block cache serves it.
  // ReadRegion's nearest copy is exact except for alpha next to nodata or non-uint8 alpha.
  const pyramid::PyramidMetadata& m = reader_->metadata();
  if (m.has_alpha() && (m.has_nodata() || reader_->pixel_type() != codec::PixelType::kUint8)) {
    return false;
  }
  // ReadRegion fills missing tiles from coarser levels; blocks show them as no data.
  const geo::TileMatrixSet& tms = reader_->tile_matrix_set();
  if (tx1 >= tms.MatrixWidth(grid_.zoom) || ty1 >= tms.MatrixHeight(grid_.zoom)) return false;
  for (int64_t ty = ty0; ty <= ty1; ++ty) {
    for (int64_t tx = tx0; tx <= tx1; ++tx) {
      if (!reader_->GetTileBytes(grid_.zoom, static_cast<uint32_t>(tx), static_cast<uint32_t>(ty))
               .ok()) {
        return false;
      }
    }
  }
  return true;
}

CPLErr FlatPyramidDataset::ReadWindow(int x, int y, int width, int height, void* data,
                                      GDALDataType buffer_type, int band_count, const int* band_map,
                                      GSpacing pixel_space, GSpacing line_space,
                                      GSpacing band_space) {
  const geo::TileMatrixSet& tms = reader_->tile_matrix_set();
  const int bands = reader_->band_count();
  const GDALDataType type = pyramid::ToGdalType(reader_->pixel_type());
  const int bps = GDALGetDataTypeSizeBytes(type);
  const int pixel_bytes = bands * bps;
  bool identity =
      buffer_type == type && band_count == bands && pixel_space == pixel_bytes && band_space == bps;
  for (int i = 0; i < band_count && identity; ++i) identity = band_map[i] == i + 1;

  for (int cy = 0; cy < height; cy += kMaxChunkHeight) {
    for (int cx = 0; cx < width; cx += kMaxChunkWidth) {
      const int cw = std::min(kMaxChunkWidth, width - cx);
      const int ch = std::min(kMaxChunkHeight, height - cy);
      pyramid::RegionRequest request;
      double left = 0, top = 0, right = 0, bottom = 0;
      tms.PixelToCrs(static_cast<double>(grid_.origin_x + x + cx),
                     static_cast<double>(grid_.origin_y + y + cy), grid_.zoom, &left, &top);
      tms.PixelToCrs(static_cast<double>(grid_.origin_x + x + cx + cw),
                     static_cast<double>(grid_.origin_y + y + cy + ch), grid_.zoom, &right,
                     &bottom);
      request.bbox = {left, bottom, right, top};
      request.srs = std::string(tms.crs());
      request.width = cw;
      request.height = ch;
      request.resampling = pyramid::Resampling::kNearest;
      request.zoom = grid_.zoom;
      absl::StatusOr<pyramid::Region> region = direct_reader_->ReadRegion(request);
      if (!region.ok()) return ReportError(region.status());
      ++windows_decoded_;
      const codec::Image& image = region->image;
      uint8_t* out = static_cast<uint8_t*>(data) + cy * line_space + cx * pixel_space;
      for (int row = 0; row < ch; ++row) {
        const uint8_t* source = image.data() + row * image.row_stride();
        uint8_t* target = out + row * line_space;
        if (identity) {
          std::memcpy(target, source, static_cast<size_t>(cw) * pixel_bytes);
          continue;
        }
        for (int i = 0; i < band_count; ++i) {
          GDALCopyWords64(source + (band_map[i] - 1) * bps, type, pixel_bytes,
                          target + i * band_space, buffer_type, static_cast<int>(pixel_space), cw);
        }
      }
    }
  }
  return CE_None;
}

CPLErr FlatPyramidDataset::ReadBandWindow(int band, int x, int y, int width, int height, void* data,
                                          GDALDataType buffer_type, GSpacing pixel_space,
                                          GSpacing line_space) {
  const int bands = reader_->band_count();
  const GDALDataType type = pyramid::ToGdalType(reader_->pixel_type());
  const int bps = GDALGetDataTypeSizeBytes(type);
  const int pixel_bytes = bands * bps;
  const size_t bytes = static_cast<size_t>(width) * height * pixel_bytes;
  if (bands == 1 || bytes > kMaxKeptWindowBytes) {
    return ReadWindow(x, y, width, height, data, buffer_type, 1, &band, pixel_space, line_space, 0);
  }
  if (window_.pixels.empty() || window_.x != x || window_.y != y || window_.width != width ||
      window_.height != height) {
    window_ = KeptWindow{x, y, width, height, std::vector<uint8_t>(bytes)};
    std::vector<int> all_bands(bands);
    for (int b = 0; b < bands; ++b) all_bands[b] = b + 1;
    const CPLErr err =
        ReadWindow(x, y, width, height, window_.pixels.data(), type, bands, all_bands.data(),
                   pixel_bytes, static_cast<GSpacing>(width) * pixel_bytes, bps);
    if (err != CE_None) {
      window_ = KeptWindow();
      return err;
    }
  }
  for (int row = 0; row < height; ++row) {
    GDALCopyWords64(window_.pixels.data() + static_cast<size_t>(row) * width * pixel_bytes +
                        static_cast<size_t>(band - 1) * bps,
                    type, pixel_bytes, static_cast<uint8_t*>(data) + row * line_space, buffer_type,
                    static_cast<int>(pixel_space), width);
  }
  return CE_None;
}

CPLErr FlatPyramidDataset::IRasterIO(GDALRWFlag rw, int x, int y, int width, int height, void* data,
                                     int buffer_width, int buffer_height, GDALDataType buffer_type,
                                     int band_count, int* band_map, GSpacing pixel_space,
                                     GSpacing line_space, GSpacing band_space,
                                     GDALRasterIOExtraArg* extra) {
  if (CanReadWindow(rw, x, y, width, height, buffer_width, buffer_height)) {
    return ReadWindow(x, y, width, height, data, buffer_type, band_count, band_map, pixel_space,
                      line_space, band_space);
  }
  return GDALPamDataset::IRasterIO(rw, x, y, width, height, data, buffer_width, buffer_height,
                                   buffer_type, band_count, band_map, pixel_space, line_space,
                                   band_space, extra);
}

// --- Bands ---

FlatPyramidRasterBand::FlatPyramidRasterBand(FlatPyramidDataset* dataset, int band) {
  poDS = dataset;
  nBand = band;
  eAccess = GA_ReadOnly;
  eDataType = pyramid::ToGdalType(dataset->reader_->pixel_type());
  nBlockXSize = nBlockYSize = dataset->reader_->tile_size();
  const pyramid::PyramidMetadata& m = dataset->reader_->metadata();
  is_alpha_ = m.has_alpha() && band == static_cast<int>(m.band_count());
}

CPLErr FlatPyramidRasterBand::IReadBlock(int block_x, int block_y, void* data) {
  return pyramid_dataset()->ReadBlock(block_x, block_y, nBand, data);
}

CPLErr FlatPyramidRasterBand::IRasterIO(GDALRWFlag rw, int x, int y, int width, int height,
                                        void* data, int buffer_width, int buffer_height,
                                        GDALDataType buffer_type, GSpacing pixel_space,
                                        GSpacing line_space, GDALRasterIOExtraArg* extra) {
  FlatPyramidDataset* dataset = pyramid_dataset();
  if (dataset->CanReadWindow(rw, x, y, width, height, buffer_width, buffer_height)) {
    return dataset->ReadBandWindow(nBand, x, y, width, height, data, buffer_type, pixel_space,
                                   line_space);
  }
  return GDALPamRasterBand::IRasterIO(rw, x, y, width, height, data, buffer_width, buffer_height,
                                      buffer_type, pixel_space, line_space, extra);
}

GDALColorInterp FlatPyramidRasterBand::GetColorInterpretation() {
  const pyramid::PyramidMetadata& m = pyramid_dataset()->reader_->metadata();
  if (is_alpha_) return GCI_AlphaBand;
  if (nBand - 1 < m.color_interpretation_size()) {
    return GDALGetColorInterpretationByName(m.color_interpretation(nBand - 1).c_str());
  }
  return GCI_Undefined;
}

double FlatPyramidRasterBand::GetNoDataValue(int* has_nodata) {
  const pyramid::PyramidMetadata& m = pyramid_dataset()->reader_->metadata();
  const bool has = m.has_nodata() && !is_alpha_;
  if (has_nodata != nullptr) *has_nodata = has;
  return has ? m.nodata() : 0;
}

int FlatPyramidRasterBand::GetOverviewCount() {
  return static_cast<int>(pyramid_dataset()->overviews_.size());
}

GDALRasterBand* FlatPyramidRasterBand::GetOverview(int index) {
  FlatPyramidDataset* dataset = pyramid_dataset();
  if (index < 0 || index >= static_cast<int>(dataset->overviews_.size())) return nullptr;
  return dataset->overviews_[index]->GetRasterBand(nBand);
}

}  // namespace gdal_driver
}  // namespace flatpyramid
