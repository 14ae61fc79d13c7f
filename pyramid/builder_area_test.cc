// BuildOptions::area (build_pyramid --bbox): a restricted build stores, at the unit zoom and
// finer, exactly the full build's tiles that touch the area, byte for byte, in EPSG:4326, in
// a UTM CRS and across the antimeridian; coarser levels hold the ancestors of those tiles.
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gdal_priv.h"
#include "geo/tile_matrix_set.h"
#include "gtest/gtest.h"
#include "ogr_spatialref.h"
#include "pyramid/builder.h"
#include "pyramid/testing/pyramid_tiles.h"
#include "testing/files.h"

namespace flatpyramid {
namespace pyramid {
namespace {

using test::DataPath;
using test::TempDir;
using test::TileAddress;

BuildOptions LandsatOptions(const std::string& output) {
  BuildOptions options;
  options.inputs = {DataPath("L7_ETMs.tif")};
  options.bands = {3, 2, 1};
  options.output = output;
  options.max_zoom = 15;  // 10 x 10 base tiles: 9 units of 4 x 4 tiles at zoom 13.
  options.threads = 2;
  return options;
}
constexpr int kLandsatUnitZoom = 13;

std::map<TileAddress, std::string> Build(const BuildOptions& options) {
  absl::StatusOr<BuildResult> result = BuildPyramid(options);
  EXPECT_TRUE(result.ok()) << result.status();
  absl::StatusOr<std::map<TileAddress, std::string>> tiles = test::ReadPyramidTiles(options.output);
  EXPECT_TRUE(tiles.ok()) << tiles.status();
  return tiles.ok() ? *tiles : std::map<TileAddress, std::string>{};
}

// AreaBoxes is `area` in the set's CRS, computed here with OGR directly (densified bounds of
// the box in its CRS), split at the antimeridian by hand.
std::vector<geo::Bounds> AreaBoxes(const BuildArea& area, const geo::TileMatrixSet& tms) {
  OGRSpatialReference from, to;
  from.SetFromUserInput(area.srs.c_str());
  from.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  to.SetFromUserInput(tms.id() == "WebMercatorQuad" ? "EPSG:3857" : "EPSG:4326");
  to.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  if (area.min_x > area.max_x) {  // Geographic across the antimeridian.
    BuildArea west = area, east = area;
    west.max_x = 180;
    east.min_x = -180;
    std::vector<geo::Bounds> boxes = AreaBoxes(west, tms);
    for (const geo::Bounds& b : AreaBoxes(east, tms)) boxes.push_back(b);
    return boxes;
  }
  std::unique_ptr<OGRCoordinateTransformation> t(OGRCreateCoordinateTransformation(&from, &to));
  geo::Bounds b;
  EXPECT_TRUE(t->TransformBounds(area.min_x, area.min_y, area.max_x, area.max_y, &b.min_x, &b.min_y,
                                 &b.max_x, &b.max_y, 21));
  return {b};
}

bool Touches(const geo::TileMatrixSet& tms, const TileAddress& tile,
             const std::vector<geo::Bounds>& boxes) {
  const geo::Bounds t =
      tms.TileBounds(geo::TileId{std::get<0>(tile), std::get<1>(tile), std::get<2>(tile)});
  for (const geo::Bounds& b : boxes) {
    if (t.min_x < b.max_x && t.max_x > b.min_x && t.min_y < b.max_y && t.max_y > b.min_y) {
      return true;
    }
  }
  return false;
}

// ExpectRestrictedBuild checks `restricted` against `full`: from `unit_zoom` down, the same
// tiles where they touch `area` and no others; above, exactly the ancestors of those.
void ExpectRestrictedBuild(const std::map<TileAddress, std::string>& full,
                           const std::map<TileAddress, std::string>& restricted,
                           const BuildArea& area, const geo::TileMatrixSet& tms, int unit_zoom,
                           int max_zoom) {
  const std::vector<geo::Bounds> boxes = AreaBoxes(area, tms);
  std::set<TileAddress> want, ancestors;
  for (const auto& [tile, bytes] : full) {
    if (std::get<0>(tile) >= unit_zoom && Touches(tms, tile, boxes)) want.insert(tile);
  }
  ASSERT_FALSE(want.empty());
  for (const TileAddress& tile : want) {
    for (int z = std::get<0>(tile) - 1, shift = 1; z >= 0; --z, ++shift) {
      ancestors.insert({z, std::get<1>(tile) >> shift, std::get<2>(tile) >> shift});
    }
  }
  int equal = 0;
  for (const auto& [tile, bytes] : restricted) {
    const auto [z, x, y] = tile;
    if (z >= unit_zoom) {
      EXPECT_TRUE(want.count(tile)) << z << "/" << x << "/" << y << " does not touch the area";
      auto it = full.find(tile);
      ASSERT_NE(it, full.end()) << z << "/" << x << "/" << y << " is not in the full build";
      EXPECT_EQ(it->second, bytes) << z << "/" << x << "/" << y << " differs from the full build";
      equal += it->second == bytes;
    } else {
      EXPECT_TRUE(ancestors.count(tile)) << z << "/" << x << "/" << y << " is no ancestor";
    }
  }
  for (const TileAddress& tile : want) {
    EXPECT_TRUE(restricted.count(tile)) << std::get<0>(tile) << "/" << std::get<1>(tile) << "/"
                                        << std::get<2>(tile) << " touches the area, missing";
  }
  EXPECT_EQ(equal, static_cast<int>(want.size()));
  for (const TileAddress& tile : ancestors) {
    if (std::get<0>(tile) >= 0 && full.count(tile)) {
      EXPECT_TRUE(restricted.count(tile)) << "ancestor missing";
    }
  }
  // The area is a strict part of the source at the finest level.
  int full_base = 0, restricted_base = 0;
  for (const auto& entry : full) full_base += std::get<0>(entry.first) == max_zoom;
  for (const auto& entry : restricted) restricted_base += std::get<0>(entry.first) == max_zoom;
  EXPECT_LT(restricted_base, full_base);
  EXPECT_GT(restricted_base, 0);
}

TEST(BuilderAreaTest, LonLatBoxKeepsTheFullBuildsTilesThatTouchItFromTheUnitZoomDown) {
  TempDir dir;
  const auto full = Build(LandsatOptions(dir.Path("full.fpyr")));
  BuildOptions options = LandsatOptions(dir.Path("area.fpyr"));
  options.area = BuildArea{-34.88, -8.0, -34.85, -7.97, "EPSG:4326"};
  const auto restricted = Build(options);
  ExpectRestrictedBuild(full, restricted, *options.area, geo::TileMatrixSet::WebMercatorQuad(),
                        kLandsatUnitZoom, 15);
  EXPECT_EQ(restricted.size(), 34u);  // 12 + 6 + 2 at zooms 15, 14, 13; 14 ancestors.
}

TEST(BuilderAreaTest, UtmBoxKeepsTheFullBuildsTilesThatTouchIt) {
  TempDir dir;
  const auto full = Build(LandsatOptions(dir.Path("full.fpyr")));
  BuildOptions options = LandsatOptions(dir.Path("area.fpyr"));
  // SIRGAS 2000 / UTM zone 25S, the source's own CRS: its south-west quarter.
  options.area = BuildArea{289000, 9110000, 293000, 9114000, "EPSG:31985"};
  const auto restricted = Build(options);
  ExpectRestrictedBuild(full, restricted, *options.area, geo::TileMatrixSet::WebMercatorQuad(),
                        kLandsatUnitZoom, 15);
}

TEST(BuilderAreaTest, BoxAcrossTheAntimeridianKeepsBothSides) {
  TempDir dir;
  BuildOptions options;
  options.inputs = {DataPath("etopo20.cdf")};
  options.source_srs = "EPSG:4326";
  options.tile_matrix_set = TileMatrixSetId::kWorldCRS84Quad;
  options.max_zoom = 4;  // 32 x 16 tiles: 8 units at zoom 1.
  options.threads = 2;
  options.output = dir.Path("full.fpyr");
  const auto full = Build(options);
  options.output = dir.Path("area.fpyr");
  options.area = BuildArea{170, -10, -170, 10, "EPSG:4326"};
  const auto restricted = Build(options);
  ExpectRestrictedBuild(full, restricted, *options.area, geo::TileMatrixSet::WorldCRS84Quad(), 1,
                        4);
  std::set<uint32_t> columns;
  for (const auto& entry : restricted) {
    if (std::get<0>(entry.first) == 4) columns.insert(std::get<1>(entry.first));
  }
  // 11.25 degrees per tile: 168.75..180 is column 31, -180..-168.75 column 0.
  EXPECT_EQ(columns, (std::set<uint32_t>{0, 31}));
}

TEST(BuilderAreaTest, AreaMissingTheSourceIsOutOfRange) {
  TempDir dir;
  BuildOptions options = LandsatOptions(dir.Path("area.fpyr"));
  options.area = BuildArea{10, 20, 11, 21, "EPSG:4326"};
  absl::StatusOr<BuildResult> result = BuildPyramid(options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kOutOfRange) << result.status();
  EXPECT_EQ(result.status().message(),
            "BuildOptions::area 10,20,11,21 (EPSG:4326) does not overlap the source");
}

TEST(BuilderAreaTest, InvertedLatitudesAreRefusedNamingTheField) {
  TempDir dir;
  BuildOptions options = LandsatOptions(dir.Path("area.fpyr"));
  options.area = BuildArea{-34.88, -7.97, -34.85, -8.0, "EPSG:4326"};
  absl::StatusOr<BuildResult> result = BuildPyramid(options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
  EXPECT_EQ(result.status().message(),
            "BuildOptions::area -34.88,-7.97,-34.85,-8 (EPSG:4326): min_y must be below max_y");
}

}  // namespace
}  // namespace pyramid
}  // namespace flatpyramid
