// Internal to //gdal: the GDAL dataset and raster band of one pyramid level.
//
// A FlatPyramidDataset shows one zoom level (see level_grid.h); the full-resolution dataset
// owns one more per coarser level as its overviews. Blocks are tiles: IReadBlock decodes the
// tiles under a block through pyramid::Reader::GetTile (the process-wide TileCache) and fills
// every band's block at once. IRasterIO of a window spanning several blocks at full
// resolution reads through pyramid::Reader::ReadRegion of a Reader without a tile cache,
// which decodes the window's tiles in parallel straight into one buffer; other requests (one
// block, resampled, overviews) go through GDAL's block cache and overview machinery. A band's
// read of such a window (QGIS reads a rendered window band by band) decodes every band and
// keeps the window, so that the other bands' reads of the same window copy it.
//
// Thread safety: GDAL's model: one dataset is used by one thread at a time; different
// datasets may be used concurrently, also of the same file (they share its Readers).
#ifndef FLATPYRAMID_GDAL_INTERNAL_DATASET_H_
#define FLATPYRAMID_GDAL_INTERNAL_DATASET_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "gdal/internal/level_grid.h"
#include "gdal/internal/shared_readers.h"
#include "gdal_pam.h"
#include "ogr_spatialref.h"
#include "pyramid/reader.h"

namespace flatpyramid {
namespace gdal_driver {

class FlatPyramidRasterBand;

class FlatPyramidDataset final : public GDALPamDataset {
 public:
  // Open opens `path` read-only: the finest level with the coarser ones as overviews.
  // Errors name the file and the fault (pyramid::Reader::Open's messages).
  static absl::StatusOr<std::unique_ptr<FlatPyramidDataset>> Open(const std::string& path);

  ~FlatPyramidDataset() override;

  CPLErr GetGeoTransform(double* transform) override;
  const OGRSpatialReference* GetSpatialRef() const override;
  CPLErr IRasterIO(GDALRWFlag rw, int x, int y, int width, int height, void* data, int buffer_width,
                   int buffer_height, GDALDataType buffer_type, int band_count, int* band_map,
                   GSpacing pixel_space, GSpacing line_space, GSpacing band_space,
                   GDALRasterIOExtraArg* extra) override;
  void FlushCache(bool at_closing) override;

  // windows_decoded counts this dataset's (not its overviews') ReadRegion calls since it was
  // opened: how tests see that a band-by-band read decodes its window once.
  int64_t windows_decoded() const { return windows_decoded_; }

 private:
  friend class FlatPyramidRasterBand;

  FlatPyramidDataset(PyramidReaders readers, const LevelGrid& grid);
  void SetPyramidMetadata();

  // ReadBlock fills block (block_x, block_y) of band `band` (1-based) into `data`, and the
  // same block of the other bands into GDAL's block cache, from the tiles under it.
  CPLErr ReadBlock(int block_x, int block_y, int band, void* data);
  // CanReadWindow is true when ReadWindow serves this request: a read at full resolution
  // spanning several blocks, every tile under it stored, and ReadRegion's nearest copy exact
  // for this pyramid's bands.
  bool CanReadWindow(GDALRWFlag rw, int x, int y, int width, int height, int buffer_width,
                     int buffer_height) const;
  // ReadWindow reads the window through pyramid::Reader::ReadRegion into GDAL's buffer.
  CPLErr ReadWindow(int x, int y, int width, int height, void* data, GDALDataType buffer_type,
                    int band_count, const int* band_map, GSpacing pixel_space, GSpacing line_space,
                    GSpacing band_space);
  // ReadBandWindow is ReadWindow of band `band` alone, through window_ (see there).
  CPLErr ReadBandWindow(int band, int x, int y, int width, int height, void* data,
                        GDALDataType buffer_type, GSpacing pixel_space, GSpacing line_space);
  // ReportError raises `status` as a CPLError and returns CE_Failure.
  CPLErr ReportError(const absl::Status& status) const;

  // reader_ reads blocks through the shared tile cache, direct_reader_ windows without it
  // (shared_readers.h).
  std::shared_ptr<const pyramid::Reader> reader_;
  std::shared_ptr<const pyramid::Reader> direct_reader_;
  LevelGrid grid_;
  OGRSpatialReference srs_;
  // overviews_ are the coarser levels, finest first; empty on an overview itself.
  std::vector<std::unique_ptr<FlatPyramidDataset>> overviews_;

  // window_ is the last window a single band read through ReadWindow, every band, pixel-
  // interleaved in the pyramid's type; empty when none is kept (FlushCache, or a window over
  // kMaxKeptWindowBytes). No lock: GDAL uses one dataset on one thread at a time.
  struct KeptWindow {
    int x = 0, y = 0, width = 0, height = 0;
    std::vector<uint8_t> pixels;
  };
  KeptWindow window_;
  int64_t windows_decoded_ = 0;
};

class FlatPyramidRasterBand final : public GDALPamRasterBand {
 public:
  FlatPyramidRasterBand(FlatPyramidDataset* dataset, int band);

  CPLErr IReadBlock(int block_x, int block_y, void* data) override;
  CPLErr IRasterIO(GDALRWFlag rw, int x, int y, int width, int height, void* data, int buffer_width,
                   int buffer_height, GDALDataType buffer_type, GSpacing pixel_space,
                   GSpacing line_space, GDALRasterIOExtraArg* extra) override;
  GDALColorInterp GetColorInterpretation() override;
  double GetNoDataValue(int* has_nodata = nullptr) override;
  int GetOverviewCount() override;
  GDALRasterBand* GetOverview(int index) override;

 private:
  FlatPyramidDataset* pyramid_dataset() { return static_cast<FlatPyramidDataset*>(poDS); }
  bool is_alpha_ = false;
};

}  // namespace gdal_driver
}  // namespace flatpyramid

#endif  // FLATPYRAMID_GDAL_INTERNAL_DATASET_H_
