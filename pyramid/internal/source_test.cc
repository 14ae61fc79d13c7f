// Source::Open's checks of the inputs: FIFOs refused before GDAL blocks on them, mosaics that
// GDAL would silently cut short refused naming the input, paletted inputs expanded to RGB(A)
// (the pixel values GDAL's own expansion gives).
#include "pyramid/internal/source.h"

#include <sys/stat.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "gdal_priv.h"
#include "gdal_utils.h"
#include "gtest/gtest.h"
#include "testing/files.h"
#include "testing/synthetic_raster.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

using test::TempDir;

// WriteSynthetic writes a 64 x 64 raster of `bands` bands of `type` over 10..11E, 50..49N.
std::string WriteSynthetic(const TempDir& dir, const std::string& name, int bands,
                           GDALDataType type, const std::string& srs = "EPSG:4326",
                           double west = 10) {
  test::SyntheticRasterSpec spec;
  spec.width = 64;
  spec.height = 64;
  spec.bands = bands;
  spec.type = type;
  spec.srs = srs;
  spec.geotransform = {west, 1.0 / 64, 0, 50, 0, -1.0 / 64};
  absl::StatusOr<GDALDatasetUniquePtr> ds = test::MakeSyntheticRaster(spec);
  EXPECT_TRUE(ds.ok());
  const std::string path = dir.Path(name);
  EXPECT_TRUE(test::WriteRaster(**ds, path).ok());
  return path;
}

// WritePaletted writes a 64 x 64 GeoTIFF (a VRT over it with `transparent`) of palette indices 0..3
// (16-pixel columns) with the colour table red, green, blue and, with `transparent`, a fully
// transparent fourth entry.
std::string WritePaletted(const TempDir& dir, const std::string& name, bool transparent) {
  test::SyntheticRasterSpec spec;
  spec.width = 64;
  spec.height = 64;
  spec.pattern = test::SyntheticPattern::kConstant;
  spec.geotransform = {10, 1.0 / 64, 0, 50, 0, -1.0 / 64};
  absl::StatusOr<GDALDatasetUniquePtr> ds = test::MakeSyntheticRaster(spec);
  EXPECT_TRUE(ds.ok());
  std::vector<uint8_t> row(64);
  for (int x = 0; x < 64; ++x) row[x] = static_cast<uint8_t>(x / 16);
  GDALRasterBand* band = (*ds)->GetRasterBand(1);
  for (int y = 0; y < 64; ++y) {
    EXPECT_EQ(band->RasterIO(GF_Write, 0, y, 64, 1, row.data(), 64, 1, GDT_Byte, 0, 0, nullptr),
              CE_None);
  }
  GDALColorTable table;
  const GDALColorEntry entries[4] = {{255, 0, 0, 255},
                                     {0, 255, 0, 255},
                                     {0, 0, 255, 255},
                                     {9, 9, 9, static_cast<short>(transparent ? 0 : 255)}};
  for (int i = 0; i < 4; ++i) table.SetColorEntry(i, &entries[i]);
  EXPECT_EQ(band->SetColorTable(&table), CE_None);
  EXPECT_EQ(band->SetColorInterpretation(GCI_PaletteIndex), CE_None);
  const std::string tiff = dir.Path(name + ".tif");
  EXPECT_TRUE(test::WriteRaster(**ds, tiff).ok());
  if (!transparent) return tiff;
  // TIFF colour maps have no alpha: a VRT over the TIFF carries the transparent entry.
  GDALDatasetUniquePtr source(GDALDataset::Open(tiff.c_str(), GDAL_OF_RASTER));
  GDALDriver* vrt_driver = GetGDALDriverManager()->GetDriverByName("VRT");
  const std::string vrt = dir.Path(name + ".vrt");
  GDALDatasetUniquePtr copy(
      vrt_driver->CreateCopy(vrt.c_str(), source.get(), false, nullptr, nullptr, nullptr));
  EXPECT_NE(copy, nullptr);
  EXPECT_EQ(copy->GetRasterBand(1)->SetColorTable(&table), CE_None);
  return vrt;
}

SourceOptions Inputs(std::vector<std::string> inputs) {
  SourceOptions options;
  options.inputs = std::move(inputs);
  return options;
}

TEST(SourceTest, FifoInputIsRefusedWithoutBlocking) {
  TempDir dir;
  const std::string fifo = dir.Path("pipe.tif");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto done = std::make_shared<std::promise<absl::Status>>();
  std::future<absl::Status> result = done->get_future();
  // Detached: if Open blocked in open(2) the test fails instead of hanging.
  std::thread([done, fifo] { done->set_value(Source::Open(Inputs({fifo})).status()); }).detach();
  ASSERT_EQ(result.wait_for(std::chrono::seconds(20)), std::future_status::ready)
      << "Source::Open blocked on a FIFO";
  const absl::Status status = result.get();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "input " + fifo +
                                  " is a FIFO, not a raster file: give a file path in "
                                  "BuildOptions::inputs");
}

TEST(SourceTest, GdalVirtualPathsAreLeftToGdal) {
  TempDir dir;
  const std::string name = "/vsizip/" + dir.Path("missing.zip") + "/a.tif";
  absl::StatusOr<std::unique_ptr<Source>> source = Source::Open(Inputs({name}));
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument) << source.status();
  EXPECT_TRUE(absl::StartsWith(source.status().message(),
                               "input " + name + " cannot be read as a raster by GDAL ("))
      << source.status();
}

TEST(SourceTest, MosaicOfDifferentBandCountsIsRefusedNamingTheInput) {
  TempDir dir;
  const std::string rgb = WriteSynthetic(dir, "rgb.tif", 3, GDT_Byte);
  const std::string gray = WriteSynthetic(dir, "gray.tif", 1, GDT_Byte, "EPSG:4326", 10.5);
  absl::StatusOr<std::unique_ptr<Source>> source = Source::Open(Inputs({rgb, gray}));
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(source.status().message(),
            "input " + gray + " has 1 band (Byte) but " + rgb +
                " has 3 bands (Byte,Byte,Byte): mosaicked inputs need the same bands (select "
                "them first with gdal_translate -b -ot, or build them separately)");
}

TEST(SourceTest, MosaicOfDifferentPixelTypesIsRefusedNamingTheInput) {
  TempDir dir;
  const std::string elevation = WriteSynthetic(dir, "elev.tif", 1, GDT_Int16);
  const std::string relief = WriteSynthetic(dir, "relief.tif", 1, GDT_Byte, "EPSG:4326", 10.5);
  absl::StatusOr<std::unique_ptr<Source>> source = Source::Open(Inputs({elevation, relief}));
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(source.status().message(),
            "input " + relief + " has 1 band (Byte) but " + elevation +
                " has 1 band (Int16): mosaicked inputs need the same bands (select them first "
                "with gdal_translate -b -ot, or build them separately)");
}

TEST(SourceTest, MosaicOfDifferentCrsIsRefusedNamingTheInput) {
  TempDir dir;
  const std::string a = WriteSynthetic(dir, "a.tif", 1, GDT_Byte);
  const std::string b = WriteSynthetic(dir, "b.tif", 1, GDT_Byte, "EPSG:4258", 10.5);
  absl::StatusOr<std::unique_ptr<Source>> source = Source::Open(Inputs({a, b}));
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(source.status().message(),
            "input " + b + " has another CRS than " + a +
                ": mosaicked inputs need the same CRS (reproject it first with gdalwarp)");
}

TEST(SourceTest, MosaicOfMatchingInputsCoversBoth) {
  TempDir dir;
  const std::string a = WriteSynthetic(dir, "a.tif", 3, GDT_Byte);
  const std::string b = WriteSynthetic(dir, "b.tif", 3, GDT_Byte, "EPSG:4326", 10.5);
  absl::StatusOr<std::unique_ptr<Source>> source = Source::Open(Inputs({a, b}));
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ((*source)->dataset()->GetRasterXSize(), 96);  // 10 .. 11.5 E at 1/64 degree.
  EXPECT_EQ((*source)->dataset()->GetRasterYSize(), 64);
  EXPECT_EQ((*source)->bands(), (std::vector<int>{1, 2, 3}));
}

// ReadBands reads row 0 of the source's selected bands (band-interleaved).
std::vector<uint8_t> ReadRow(const Source& source, int band) {
  std::vector<uint8_t> row(64);
  EXPECT_EQ(source.dataset()->GetRasterBand(band)->RasterIO(GF_Read, 0, 0, 64, 1, row.data(), 64, 1,
                                                            GDT_Byte, 0, 0, nullptr),
            CE_None);
  return row;
}

TEST(SourceTest, PalettedInputIsExpandedToRgb) {
  TempDir dir;
  const std::string path = WritePaletted(dir, "classes", /*transparent=*/false);
  absl::StatusOr<std::unique_ptr<Source>> source = Source::Open(Inputs({path}));
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ((*source)->bands(), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ((*source)->alpha_band(), 0);
  EXPECT_EQ((*source)->color_interpretation(), (std::vector<std::string>{"Red", "Green", "Blue"}));
  // Columns 0..15 index 0 (red), 16..31 index 1 (green), 32..47 blue, 48..63 grey 9.
  const uint8_t expected[3][4] = {{255, 0, 0, 9}, {0, 255, 0, 9}, {0, 0, 255, 9}};
  for (int band = 1; band <= 3; ++band) {
    const std::vector<uint8_t> row = ReadRow(**source, band);
    for (int x = 0; x < 64; ++x) {
      ASSERT_EQ(row[x], expected[band - 1][x / 16]) << "band " << band << " column " << x;
    }
  }
  EXPECT_NE((*source)->description().find("colour table expanded"), std::string::npos);
}

TEST(SourceTest, PalettedInputWithTransparentEntriesIsExpandedToRgba) {
  TempDir dir;
  const std::string path = WritePaletted(dir, "classes", /*transparent=*/true);
  absl::StatusOr<std::unique_ptr<Source>> source = Source::Open(Inputs({path}));
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ((*source)->bands(), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ((*source)->alpha_band(), 4);
  const std::vector<uint8_t> alpha = ReadRow(**source, 4);
  for (int x = 0; x < 64; ++x) ASSERT_EQ(alpha[x], x < 48 ? 255 : 0) << "column " << x;
}

TEST(SourceTest, MosaicWithAPalettedInputIsRefused) {
  TempDir dir;
  const std::string a = WritePaletted(dir, "a", false);
  const std::string b = WritePaletted(dir, "b", false);
  absl::StatusOr<std::unique_ptr<Source>> source = Source::Open(Inputs({a, b}));
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(source.status().message(),
            "input " + a +
                " has a colour table: a mosaic cannot expand it; expand it first (gdal_translate "
                "-expand rgba) or build it on its own");
}

}  // namespace
}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
