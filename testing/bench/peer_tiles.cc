#include "testing/bench/peer_tiles.h"

#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "codec/codec.h"
#include "gdal_priv.h"

namespace flatpyramid {
namespace bench {
namespace {

// Interleave writes the kBands planar blocks into the rows of `out`. GCC does not vectorise
// a byte shuffle with a stride of 3 on x86-64, so three bands go 4 pixels at a time: 4 bytes
// loaded per plane, 12 bytes stored as 3 words (timings in testing/bench/RESULTS.md).
template <int kBands>
void Interleave(const uint8_t* planes, const codec::MutableImageView& out) {
  constexpr size_t kPlane = size_t{kTileSize} * kTileSize;
  for (int row = 0; row < kTileSize; ++row) {
    uint8_t* __restrict target = out.data + row * out.row_stride;
    const uint8_t* __restrict source = planes + row * kTileSize;
    int col = 0;
    if constexpr (kBands == 3) {
      for (; col + 4 <= kTileSize; col += 4, target += 12) {
        uint32_t r, g, b;
        std::memcpy(&r, source + col, 4);
        std::memcpy(&g, source + kPlane + col, 4);
        std::memcpy(&b, source + 2 * kPlane + col, 4);
        static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "words are little-endian");
        // Little-endian words: pixel i's bytes are bits 8i..8i+7 of r, g and b.
        // (Three 4-byte stores: one 12-byte copy of a stack array defeats store forwarding
        // and is twice as slow as the byte loop.)
        const uint32_t w0 = (r & 0xFF) | (g & 0xFF) << 8 | (b & 0xFF) << 16 | (r & 0xFF00) << 16;
        const uint32_t w1 = (g >> 8 & 0xFF) | (b & 0xFF00) | (r & 0xFF0000) | (g & 0xFF0000) << 8;
        const uint32_t w2 =
            (b >> 16 & 0xFF) | (r >> 16 & 0xFF00) | (g >> 8 & 0xFF0000) | (b & 0xFF000000);
        std::memcpy(target, &w0, 4);
        std::memcpy(target + 4, &w1, 4);
        std::memcpy(target + 8, &w2, 4);
      }
      target -= static_cast<size_t>(col) * 3;  // Back to the row's start for the tail.
    }
    for (; col < kTileSize; ++col) {
      for (int band = 0; band < kBands; ++band) {
        target[col * kBands + band] = source[band * kPlane + col];
      }
    }
  }
}

// Half the side of the Web Mercator square, in metres.
constexpr double kWebMercatorHalf = 20037508.342789244;

absl::Status ErrnoStatus(absl::string_view what, const std::string& path) {
  const int error = errno;
  std::string message = absl::StrCat(what, " ", path, ": ", std::strerror(error));
  return error == ENOENT ? absl::NotFoundError(message) : absl::InternalError(message);
}

}  // namespace

absl::StatusOr<std::unique_ptr<CogTiles>> CogTiles::Open(const std::string& path) {
  GDALAllRegister();
  std::unique_ptr<CogTiles> cog(new CogTiles());
  cog->path_ = path;
  cog->dataset_ = GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY);
  if (cog->dataset_ == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("COG ", path, ": GDAL cannot open it: ", CPLGetLastErrorMsg()));
  }
  GDALDataset& dataset = *cog->dataset_;
  cog->band_count_ = dataset.GetRasterCount();
  if (cog->band_count_ < 1 || cog->band_count_ > 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("COG ", path, ": ", cog->band_count_, " bands; expected 1 to 4"));
  }
  for (int band = 1; band <= cog->band_count_; ++band) {
    int block_x = 0;
    int block_y = 0;
    dataset.GetRasterBand(band)->GetBlockSize(&block_x, &block_y);
    if (block_x != kTileSize || block_y != kTileSize ||
        dataset.GetRasterBand(band)->GetRasterDataType() != GDT_Byte) {
      return absl::InvalidArgumentError(
          absl::StrCat("COG ", path, ": band ", band,
                       " is not Byte in 256 x 256 blocks: write it with -of COG "
                       "-co TILING_SCHEME=GoogleMapsCompatible"));
    }
  }
  double geotransform[6];
  if (dataset.GetGeoTransform(geotransform) != CE_None || geotransform[2] != 0 ||
      geotransform[4] != 0) {
    return absl::InvalidArgumentError(absl::StrCat("COG ", path, ": no north-up geotransform"));
  }
  const double zoom = std::log2(2 * kWebMercatorHalf / kTileSize / geotransform[1]);
  cog->max_zoom_ = static_cast<int>(std::lround(zoom));
  if (std::fabs(zoom - cog->max_zoom_) > 1e-6) {
    return absl::InvalidArgumentError(absl::StrCat("COG ", path, ": pixel size ", geotransform[1],
                                                   " is not a Web Mercator zoom level"));
  }
  const double tile_metres = geotransform[1] * kTileSize;
  cog->block_x0_ = std::llround((geotransform[0] + kWebMercatorHalf) / tile_metres);
  cog->block_y0_ = std::llround((kWebMercatorHalf - geotransform[3]) / tile_metres);
  cog->level_count_ = 1 + dataset.GetRasterBand(1)->GetOverviewCount();
  cog->blocks_.reset(new uint8_t[kTileSize * kTileSize * cog->band_count_]);
  return cog;
}

CogTiles::~CogTiles() {
  if (dataset_ != nullptr) GDALClose(dataset_);
}

int CogTiles::width() const { return dataset_->GetRasterXSize(); }
int CogTiles::height() const { return dataset_->GetRasterYSize(); }

GDALRasterBand* CogTiles::LevelBand(int z, int band) const {
  const int level = max_zoom_ - z;
  if (level < 0 || level >= level_count_) return nullptr;
  GDALRasterBand* full = dataset_->GetRasterBand(band);
  return level == 0 ? full : full->GetOverview(level - 1);
}

absl::Status CogTiles::ReadTile(int z, uint32_t x, uint32_t y, const codec::MutableImageView& out) {
  if (out.width != kTileSize || out.height != kTileSize || out.bands != band_count_ ||
      out.type != codec::PixelType::kUint8) {
    return absl::InvalidArgumentError("CogTiles::ReadTile: output is not a 256 x 256 tile");
  }
  const int shift = max_zoom_ - z;
  // The file's first block at zoom z (the extent is aligned on the tile grid at every level).
  const int64_t block_x = static_cast<int64_t>(x) - (block_x0_ >> shift);
  const int64_t block_y = static_cast<int64_t>(y) - (block_y0_ >> shift);
  for (int band = 1; band <= band_count_; ++band) {
    GDALRasterBand* level = LevelBand(z, band);
    if (level == nullptr) {
      return absl::NotFoundError(absl::StrCat("COG ", path_, ": no level for zoom ", z));
    }
    const int blocks_x = (level->GetXSize() + kTileSize - 1) / kTileSize;
    const int blocks_y = (level->GetYSize() + kTileSize - 1) / kTileSize;
    if (block_x < 0 || block_y < 0 || block_x >= blocks_x || block_y >= blocks_y) {
      return absl::NotFoundError(
          absl::StrCat("COG ", path_, ": tile ", z, "/", x, "/", y, " is outside the file"));
    }
    uint8_t* plane = blocks_.get() + size_t{kTileSize} * kTileSize * (band - 1);
    if (level->ReadBlock(static_cast<int>(block_x), static_cast<int>(block_y), plane) != CE_None) {
      return absl::DataLossError(absl::StrCat("COG ", path_, ": tile ", z, "/", x, "/", y,
                                              ": ReadBlock failed: ", CPLGetLastErrorMsg()));
    }
  }
  switch (band_count_) {
    case 1:
      Interleave<1>(blocks_.get(), out);
      break;
    case 2:
      Interleave<2>(blocks_.get(), out);
      break;
    case 3:
      Interleave<3>(blocks_.get(), out);
      break;
    default:
      Interleave<4>(blocks_.get(), out);
      break;
  }
  return absl::OkStatus();
}

absl::Status CogTiles::ReadWindow(int x_off, int y_off, const codec::MutableImageView& out) {
  if (out.bands != band_count_ || out.type != codec::PixelType::kUint8) {
    return absl::InvalidArgumentError("CogTiles::ReadWindow: output bands or type differ");
  }
  if (dataset_->RasterIO(GF_Read, x_off, y_off, out.width, out.height, out.data, out.width,
                         out.height, GDT_Byte, band_count_, nullptr, band_count_,
                         static_cast<GSpacing>(out.row_stride), 1, nullptr) != CE_None) {
    return absl::DataLossError(absl::StrCat("COG ", path_, ": RasterIO at ", x_off, ",", y_off,
                                            " failed: ", CPLGetLastErrorMsg()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<MbtilesTiles>> MbtilesTiles::Open(const std::string& path) {
  std::unique_ptr<MbtilesTiles> mbtiles(new MbtilesTiles());
  mbtiles->path_ = path;
  if (sqlite3_open_v2(path.c_str(), &mbtiles->db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    return absl::NotFoundError(
        absl::StrCat("MBTiles ", path, ": cannot open: ", sqlite3_errmsg(mbtiles->db_)));
  }
  static constexpr char kQuery[] =
      "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3";
  if (sqlite3_prepare_v2(mbtiles->db_, kQuery, -1, &mbtiles->query_, nullptr) != SQLITE_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("MBTiles ", path, ": no tiles table: ", sqlite3_errmsg(mbtiles->db_)));
  }
  return mbtiles;
}

MbtilesTiles::~MbtilesTiles() {
  sqlite3_finalize(query_);
  sqlite3_close(db_);
}

absl::Status MbtilesTiles::TileBytes(int z, uint32_t x, uint32_t y, std::string* out) {
  const int64_t tms_row = (int64_t{1} << z) - 1 - static_cast<int64_t>(y);
  sqlite3_reset(query_);
  sqlite3_bind_int(query_, 1, z);
  sqlite3_bind_int64(query_, 2, x);
  sqlite3_bind_int64(query_, 3, tms_row);
  const int step = sqlite3_step(query_);
  if (step == SQLITE_DONE) {
    return absl::NotFoundError(absl::StrCat("MBTiles ", path_, ": no tile ", z, "/", x, "/", y));
  }
  if (step != SQLITE_ROW) {
    return absl::InternalError(
        absl::StrCat("MBTiles ", path_, ": tile ", z, "/", x, "/", y, ": ", sqlite3_errmsg(db_)));
  }
  const void* blob = sqlite3_column_blob(query_, 0);
  const int size = sqlite3_column_bytes(query_, 0);
  out->assign(static_cast<const char*>(blob), static_cast<size_t>(size));
  return absl::OkStatus();
}

DirectoryTiles::DirectoryTiles(std::string root, std::string path_template)
    : root_(std::move(root)), path_template_(std::move(path_template)) {}

std::string DirectoryTiles::Path(int z, uint32_t x, uint32_t y) const {
  return absl::StrCat(root_, "/",
                      absl::StrReplaceAll(path_template_, {{"{z}", absl::StrCat(z)},
                                                           {"{x}", absl::StrCat(x)},
                                                           {"{y}", absl::StrCat(y)}}));
}

absl::Status DirectoryTiles::TileBytes(int z, uint32_t x, uint32_t y, std::string* out) const {
  const std::string path = Path(z, x, y);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", path);
  struct stat info;
  if (fstat(fd, &info) != 0) {
    absl::Status status = ErrnoStatus("fstat", path);
    close(fd);
    return status;
  }
  out->resize(static_cast<size_t>(info.st_size));
  size_t done = 0;
  while (done < out->size()) {
    const ssize_t n = read(fd, &(*out)[done], out->size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      absl::Status status = n < 0 ? ErrnoStatus("read", path)
                                  : absl::DataLossError(absl::StrCat("read ", path, ": short"));
      close(fd);
      return status;
    }
    done += static_cast<size_t>(n);
  }
  close(fd);
  return absl::OkStatus();
}

absl::StatusOr<codec::Image> DecodeTileBytes(absl::string_view bytes) {
  absl::StatusOr<codec::Image> image = codec::Decode(bytes);
  if (!image.ok()) return image.status();
  if (image->type() != codec::PixelType::kUint8) {
    return absl::InvalidArgumentError("tile is not 8-bit");
  }
  return image;
}

absl::Status DropFromPageCache(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) return ErrnoStatus("stat", path);
  if (S_ISDIR(info.st_mode)) {
    DIR* dir = opendir(path.c_str());
    if (dir == nullptr) return ErrnoStatus("opendir", path);
    absl::Status status;
    while (dirent* entry = readdir(dir)) {
      if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
      status.Update(DropFromPageCache(absl::StrCat(path, "/", entry->d_name)));
    }
    closedir(dir);
    return status;
  }
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", path);
  fdatasync(fd);  // Dirty pages cannot be dropped.
  const int error = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  close(fd);
  if (error != 0) {
    errno = error;
    return ErrnoStatus("posix_fadvise(DONTNEED)", path);
  }
  return absl::OkStatus();
}

}  // namespace bench
}  // namespace flatpyramid
