#include "geo/tile_matrix_set.h"

#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "geo/morton.h"
#include "gtest/gtest.h"

namespace flatpyramid {
namespace geo {
namespace {

// OGC 17-083r4 Annex D prints the WebMercatorQuad extent to 7 decimals.
constexpr double kOgcHalfExtent = 20037508.3427892;

TEST(TileMatrixSetTest, WebMercatorQuadMatchesOgcAnnexD) {
  const TileMatrixSet tms = TileMatrixSet::WebMercatorQuad();
  EXPECT_EQ(tms.id(), "WebMercatorQuad");
  EXPECT_EQ(tms.crs(), "EPSG:3857");
  EXPECT_FALSE(tms.is_geographic());
  EXPECT_EQ(tms.tile_size(), 256);
  EXPECT_NEAR(tms.extent().min_x, -kOgcHalfExtent, 1e-7);
  EXPECT_NEAR(tms.extent().min_y, -kOgcHalfExtent, 1e-7);
  EXPECT_NEAR(tms.extent().max_x, kOgcHalfExtent, 1e-7);
  EXPECT_NEAR(tms.extent().max_y, kOgcHalfExtent, 1e-7);
  // Table D.1: scale denominators and cell sizes.
  EXPECT_DOUBLE_EQ(tms.ScaleDenominator(0), 559082264.0287178);
  EXPECT_DOUBLE_EQ(tms.ScaleDenominator(1), 279541132.0143589);
  EXPECT_DOUBLE_EQ(tms.ScaleDenominator(18), 2132.729583849784);
  EXPECT_DOUBLE_EQ(tms.Resolution(0), 156543.0339280410);
  EXPECT_DOUBLE_EQ(tms.Resolution(18), 0.5971642834779395);
  EXPECT_EQ(tms.MatrixWidth(0), 1u);
  EXPECT_EQ(tms.MatrixHeight(0), 1u);
  EXPECT_EQ(tms.MatrixWidth(18), 262144u);
  EXPECT_EQ(tms.MatrixWidth(30), uint32_t{1} << 30);
  EXPECT_EQ(tms.MatrixHeight(30), uint32_t{1} << 30);
}

TEST(TileMatrixSetTest, WorldCrs84QuadMatchesOgcAnnexD) {
  const TileMatrixSet tms = TileMatrixSet::WorldCRS84Quad();
  EXPECT_EQ(tms.id(), "WorldCRS84Quad");
  EXPECT_EQ(tms.crs(), "OGC:CRS84");
  EXPECT_TRUE(tms.is_geographic());
  EXPECT_EQ(tms.extent().min_x, -180.0);
  EXPECT_EQ(tms.extent().min_y, -90.0);
  EXPECT_EQ(tms.extent().max_x, 180.0);
  EXPECT_EQ(tms.extent().max_y, 90.0);
  // Table D.2: 0.703125 degrees (180/256) per cell at level 0, two tiles by one.
  EXPECT_EQ(tms.Resolution(0), 0.703125);
  EXPECT_EQ(tms.Resolution(1), 0.3515625);
  EXPECT_DOUBLE_EQ(tms.ScaleDenominator(0), 279541132.0143589);
  EXPECT_DOUBLE_EQ(tms.ScaleDenominator(17), 2132.729583849784);
  EXPECT_EQ(tms.MatrixWidth(0), 2u);
  EXPECT_EQ(tms.MatrixHeight(0), 1u);
  EXPECT_EQ(tms.MatrixWidth(3), 16u);
  EXPECT_EQ(tms.MatrixHeight(3), 8u);
  EXPECT_EQ(tms.MatrixWidth(30), uint32_t{1} << 31);
}

// Morton keys of a 2^(z+1) x 2^z matrix run to twice those of a square one.
TEST(TileMatrixSetTest, KeyEndIsOnePastTheLastTilesKey) {
  const TileMatrixSet web = TileMatrixSet::WebMercatorQuad();
  const TileMatrixSet geo = TileMatrixSet::WorldCRS84Quad();
  EXPECT_EQ(web.KeyEnd(0), 1u);
  EXPECT_EQ(web.KeyEnd(3), 64u);
  EXPECT_EQ(geo.KeyEnd(0), 2u);  // Tiles (0, 0) and (1, 0): keys 0 and 1.
  EXPECT_EQ(geo.KeyEnd(1), 8u);  // Tile (3, 1): key 7.
  EXPECT_EQ(geo.KeyEnd(3), MortonEncode(15, 7) + 1);
  EXPECT_EQ(geo.KeyEnd(3), 128u);
  EXPECT_EQ(geo.KeyEnd(30), uint64_t{1} << 61);
  EXPECT_EQ(geo.KeyEnd(31), 0u);
}

TEST(TileMatrixSetTest, TileSize512KeepsTileExtentsAndHalvesResolution) {
  const TileMatrixSet t256 = TileMatrixSet::WebMercatorQuad(TileMatrixSet::TileSize::k256);
  const TileMatrixSet t512 = TileMatrixSet::WebMercatorQuad(TileMatrixSet::TileSize::k512);
  EXPECT_EQ(t512.tile_size(), 512);
  EXPECT_EQ(t512.Resolution(0), 78271.51696402048);
  EXPECT_EQ(t512.ScaleDenominator(0), t256.ScaleDenominator(0) / 2);
  EXPECT_EQ(t512.MatrixWidth(5), t256.MatrixWidth(5));
  EXPECT_EQ(t512.TileSpan(5), t256.TileSpan(5));
  EXPECT_EQ(TileMatrixSet::WorldCRS84Quad(TileMatrixSet::TileSize::k512).Resolution(0), 0.3515625);
}

TEST(TileMatrixSetTest, EveryZoomHalvesTheResolutionExactly) {
  for (const TileMatrixSet& tms : {TileMatrixSet::WebMercatorQuad(),
                                   TileMatrixSet::WorldCRS84Quad(TileMatrixSet::TileSize::k512)}) {
    for (int z = 1; z <= TileMatrixSet::kMaxZoom; ++z) {
      EXPECT_EQ(tms.Resolution(z), tms.Resolution(z - 1) / 2) << tms.id() << " z=" << z;
      EXPECT_EQ(tms.MatrixWidth(z), tms.MatrixWidth(z - 1) * 2);
    }
  }
}

TEST(TileMatrixSetTest, InvalidZoomGivesEmptyMatrixAndNaN) {
  const TileMatrixSet tms = TileMatrixSet::WebMercatorQuad();
  EXPECT_EQ(tms.MatrixWidth(-1), 0u);
  EXPECT_EQ(tms.MatrixWidth(31), 0u);
  EXPECT_EQ(tms.MatrixHeight(64), 0u);
  EXPECT_TRUE(std::isnan(tms.Resolution(31)));
  EXPECT_TRUE(std::isnan(tms.Resolution(-3)));
  EXPECT_FALSE(tms.IsValid(TileId{31, 0, 0}));
  EXPECT_FALSE(tms.IsValid(TileId{2, 4, 0}));
  EXPECT_TRUE(tms.IsValid(TileId{2, 3, 3}));
}

TEST(TileMatrixSetTest, FromNameIsCaseInsensitiveAndRejectsUnknownNamesAndSizes) {
  absl::StatusOr<TileMatrixSet> a = TileMatrixSet::FromName("webmercatorquad", 512);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->id(), "WebMercatorQuad");
  EXPECT_EQ(a->tile_size(), 512);
  absl::StatusOr<TileMatrixSet> b = TileMatrixSet::FromName("WorldCRS84Quad");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->id(), "WorldCRS84Quad");
  absl::StatusOr<TileMatrixSet> c = TileMatrixSet::FromName("GoogleCRS84Quad");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("GoogleCRS84Quad"), absl::string_view::npos);
  absl::StatusOr<TileMatrixSet> d = TileMatrixSet::FromName("WebMercatorQuad", 300);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("300"), absl::string_view::npos);
}

// Tile sizes are an enum: an int (300) cannot reach the factories; FromName checks ints.
static_assert(!std::is_invocable_v<decltype(&TileMatrixSet::WebMercatorQuad), int>);
static_assert(!std::is_invocable_v<decltype(&TileMatrixSet::WorldCRS84Quad), int>);

TEST(TileMatrixSetTest, TileBoundsInSetCrs) {
  const TileMatrixSet web = TileMatrixSet::WebMercatorQuad();
  const double e = kWebMercatorHalfExtent;
  const Bounds b = web.TileBounds(TileId{1, 0, 0});
  EXPECT_EQ(b.min_x, -e);
  EXPECT_EQ(b.min_y, 0.0);
  EXPECT_EQ(b.max_x, 0.0);
  EXPECT_EQ(b.max_y, e);
  const Bounds c = web.TileBounds(TileId{2, 3, 3});
  // -e + 3 * (e / 2) rounds in the last bit; neighbours share the same expression, so
  // shared edges are still bit-identical (checked below).
  EXPECT_DOUBLE_EQ(c.min_x, e / 2);
  EXPECT_EQ(c.min_y, -e);
  EXPECT_EQ(c.max_x, e);
  EXPECT_DOUBLE_EQ(c.max_y, -e / 2);
  EXPECT_EQ(c.min_x, web.TileBounds(TileId{2, 2, 3}).max_x);
  EXPECT_EQ(c.max_y, web.TileBounds(TileId{2, 3, 2}).min_y);

  const TileMatrixSet geo = TileMatrixSet::WorldCRS84Quad();
  const Bounds d = geo.TileBounds(TileId{0, 1, 0});
  EXPECT_EQ(d.min_x, 0.0);
  EXPECT_EQ(d.min_y, -90.0);
  EXPECT_EQ(d.max_x, 180.0);
  EXPECT_EQ(d.max_y, 90.0);
  const Bounds f = geo.TileBounds(TileId{3, 5, 2});  // 22.5 degree tiles.
  EXPECT_EQ(f.min_x, -67.5);
  EXPECT_EQ(f.min_y, 22.5);
  EXPECT_EQ(f.max_x, -45.0);
  EXPECT_EQ(f.max_y, 45.0);
}

TEST(TileMatrixSetTest, TileBoundsLonLatReachTheWebMercatorLatitudeLimit) {
  const TileMatrixSet web = TileMatrixSet::WebMercatorQuad();
  absl::StatusOr<Bounds> b = web.TileBoundsLonLat(TileId{1, 0, 0});
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NEAR(b->min_x, -180.0, 1e-12);
  EXPECT_NEAR(b->min_y, 0.0, 1e-12);
  EXPECT_NEAR(b->max_x, 0.0, 1e-12);
  // atan(sinh(pi)) in degrees, the OGC / EPSG:3857 latitude limit.
  EXPECT_NEAR(b->max_y, 85.0511287798066, 1e-12);
  EXPECT_NEAR(kWebMercatorMaxLatitude, 85.0511287798, 1e-10);

  absl::StatusOr<Bounds> g = TileMatrixSet::WorldCRS84Quad().TileBoundsLonLat(TileId{3, 5, 2});
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->min_x, -67.5);
  EXPECT_EQ(g->max_y, 45.0);

  absl::StatusOr<Bounds> bad = web.TileBoundsLonLat(TileId{3, 8, 0});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("3/8/0"), absl::string_view::npos);
}

// EPSG:3857 coordinates from PROJ, the independent oracle:
//   printf -- "-34.8553 -7.9986\n2.3522 48.8566\n" |
//     gdaltransform -s_srs EPSG:4326 -t_srs EPSG:3857 -output_xy
//   -3880074.24744679 -893306.372395227   (Olinda, Brazil)
//   261845.706243938 6250564.34954313     (Paris, France)
// The zoom-10 tile is floor((x + 20037508.342789244) / 39135.75848201024) and
// floor((20037508.342789244 - y) / 39135.75848201024): Olinda 412.86, 534.82 and
// Paris 518.69, 352.28, so 10/412/534 and 10/518/352.
TEST(TileMatrixSetTest, LonLatToCrsAgreesWithProj) {
  const TileMatrixSet web = TileMatrixSet::WebMercatorQuad();
  double x, y;
  web.LonLatToCrs(-34.8553, -7.9986, &x, &y);
  EXPECT_NEAR(x, -3880074.24744679, 1e-6);
  EXPECT_NEAR(y, -893306.372395227, 1e-6);
  web.LonLatToCrs(2.3522, 48.8566, &x, &y);
  EXPECT_NEAR(x, 261845.706243938, 1e-6);
  EXPECT_NEAR(y, 6250564.34954313, 1e-6);
}

TEST(TileMatrixSetTest, LatitudesAtTheWebMercatorLimitMapExactlyToTheExtentEdge) {
  const TileMatrixSet web = TileMatrixSet::WebMercatorQuad();
  double x, y;
  web.LonLatToCrs(180.0, kWebMercatorMaxLatitude, &x, &y);
  EXPECT_EQ(x, kWebMercatorHalfExtent);
  EXPECT_EQ(y, kWebMercatorHalfExtent);
  web.LonLatToCrs(-180.0, -90.0, &x, &y);
  EXPECT_EQ(x, -kWebMercatorHalfExtent);
  EXPECT_EQ(y, -kWebMercatorHalfExtent);
  web.LonLatToCrs(0.0, 89.0, &x, &y);
  EXPECT_EQ(y, kWebMercatorHalfExtent);
  web.LonLatToCrs(0.0, std::nan(""), &x, &y);
  EXPECT_TRUE(std::isnan(y));
  // Just inside the limit: PROJ's value for 80 degrees north.
  //   echo "0 80" | gdaltransform -s_srs EPSG:4326 -t_srs EPSG:3857 -output_xy
  web.LonLatToCrs(0.0, 80.0, &x, &y);
  EXPECT_NEAR(y, 15538711.0963092, 1e-6);
}

TEST(TileMatrixSetTest, ZoomTenTilesOfKnownPlaces) {
  const TileMatrixSet web = TileMatrixSet::WebMercatorQuad();
  EXPECT_EQ(web.TileForLonLat(-34.8553, -7.9986, 10), (TileId{10, 412, 534}));
  EXPECT_EQ(web.TileForLonLat(2.3522, 48.8566, 10), (TileId{10, 518, 352}));
  EXPECT_EQ(web.TileForCrs(261845.706243938, 6250564.34954313, 10), (TileId{10, 518, 352}));
  // WorldCRS84Quad zoom 10: 2048 x 1024 tiles of 180/1024 degrees.
  // Paris: (2.3522 + 180) / 0.17578125 = 1037.4, (90 - 48.8566) / 0.17578125 = 234.06.
  const TileMatrixSet geo = TileMatrixSet::WorldCRS84Quad();
  EXPECT_EQ(geo.TileForLonLat(2.3522, 48.8566, 10), (TileId{10, 1037, 234}));
}

TEST(TileMatrixSetTest, TileForCrsClampsToTheMatrixAndPutsEdgesEastAndSouth) {
  const TileMatrixSet web = TileMatrixSet::WebMercatorQuad();
  const double e = kWebMercatorHalfExtent;
  EXPECT_EQ(web.TileForCrs(0.0, 0.0, 1), (TileId{1, 1, 1}));
  EXPECT_EQ(web.TileForCrs(e, -e, 1), (TileId{1, 1, 1}));
  EXPECT_EQ(web.TileForCrs(-e, e, 1), (TileId{1, 0, 0}));
  EXPECT_EQ(web.TileForCrs(-3 * e, 5 * e, 4), (TileId{4, 0, 0}));
  EXPECT_EQ(web.TileForCrs(3 * e, -5 * e, 4), (TileId{4, 15, 15}));
  EXPECT_EQ(web.TileForCrs(std::nan(""), std::nan(""), 4), (TileId{4, 0, 0}));
  // Latitudes past the limit (and the poles) land in the edge rows.
  EXPECT_EQ(web.TileForLonLat(10.0, 90.0, 3), (TileId{3, 4, 0}));
  EXPECT_EQ(web.TileForLonLat(10.0, -89.0, 3), (TileId{3, 4, 7}));
}

TEST(TileMatrixSetTest, LonLatRoundTripsThroughPixelsWithin1e7Degrees) {
  for (const TileMatrixSet& tms :
       {TileMatrixSet::WebMercatorQuad(), TileMatrixSet::WorldCRS84Quad(),
        TileMatrixSet::WebMercatorQuad(TileMatrixSet::TileSize::k512)}) {
    for (int z : {0, 5, 12, 20, 30}) {
      for (double lon = -180.0; lon <= 180.0; lon += 7.3) {
        for (double lat = -85.0; lat <= 85.0; lat += 3.7) {
          double x, y, px, py, x2, y2, lon2, lat2;
          tms.LonLatToCrs(lon, lat, &x, &y);
          tms.CrsToPixel(x, y, z, &px, &py);
          tms.PixelToCrs(px, py, z, &x2, &y2);
          tms.CrsToLonLat(x2, y2, &lon2, &lat2);
          ASSERT_NEAR(lon2, lon, 1e-7) << tms.id() << " z=" << z;
          ASSERT_NEAR(lat2, lat, 1e-7) << tms.id() << " z=" << z;
        }
      }
    }
  }
}

TEST(TileMatrixSetTest, CrsToPixelCountsFromTheTopLeftCorner) {
  const TileMatrixSet web = TileMatrixSet::WebMercatorQuad();
  const double e = kWebMercatorHalfExtent;
  double px, py;
  web.CrsToPixel(-e, e, 3, &px, &py);
  EXPECT_EQ(px, 0.0);
  EXPECT_EQ(py, 0.0);
  web.CrsToPixel(0.0, 0.0, 3, &px, &py);
  EXPECT_EQ(px, 1024.0);
  EXPECT_EQ(py, 1024.0);
  web.CrsToPixel(e, -e, 30, &px, &py);
  EXPECT_EQ(px, 274877906944.0);  // 2^30 tiles * 256 px.
  EXPECT_EQ(py, 274877906944.0);
}

TEST(TileMatrixSetTest, CoveringTilesExcludesTheNextTileAtAnExactEdge) {
  const TileMatrixSet web = TileMatrixSet::WebMercatorQuad();
  const double e = kWebMercatorHalfExtent;
  uint32_t x0, y0, x1, y1;
  // The north-east quarter at zoom 1 is exactly tile 1/1/0.
  ASSERT_TRUE(web.CoveringTiles(Bounds{0.0, 0.0, e, e}, 1, &x0, &y0, &x1, &y1));
  EXPECT_EQ(x0, 1u);
  EXPECT_EQ(x1, 1u);
  EXPECT_EQ(y0, 0u);
  EXPECT_EQ(y1, 0u);
  // At zoom 3 the same box is the 4 x 4 tiles x 4..7, y 0..3.
  ASSERT_TRUE(web.CoveringTiles(Bounds{0.0, 0.0, e, e}, 3, &x0, &y0, &x1, &y1));
  EXPECT_EQ(x0, 4u);
  EXPECT_EQ(x1, 7u);
  EXPECT_EQ(y0, 0u);
  EXPECT_EQ(y1, 3u);
  // One metre past the edge reaches into the next column and row.
  ASSERT_TRUE(web.CoveringTiles(Bounds{-1.0, -1.0, e, e}, 1, &x0, &y0, &x1, &y1));
  EXPECT_EQ(x0, 0u);
  EXPECT_EQ(x1, 1u);
  EXPECT_EQ(y0, 0u);
  EXPECT_EQ(y1, 1u);
  // A box ending exactly on a zoom-10 tile edge computed by arithmetic.
  const Bounds tile = web.TileBounds(TileId{10, 412, 534});
  ASSERT_TRUE(web.CoveringTiles(tile, 10, &x0, &y0, &x1, &y1));
  EXPECT_EQ(x0, 412u);
  EXPECT_EQ(x1, 412u);
  EXPECT_EQ(y0, 534u);
  EXPECT_EQ(y1, 534u);
}

TEST(TileMatrixSetTest, CoveringTilesClampsAndHandlesDegenerateBoxes) {
  const TileMatrixSet geo = TileMatrixSet::WorldCRS84Quad();
  uint32_t x0, y0, x1, y1;
  ASSERT_TRUE(geo.CoveringTiles(Bounds{-500, -100, 500, 100}, 2, &x0, &y0, &x1, &y1));
  EXPECT_EQ(x0, 0u);
  EXPECT_EQ(x1, 7u);
  EXPECT_EQ(y0, 0u);
  EXPECT_EQ(y1, 3u);
  // A point covers the tile holding it; a point on an edge the tile east / south of it.
  ASSERT_TRUE(geo.CoveringTiles(Bounds{10, 10, 10, 10}, 2, &x0, &y0, &x1, &y1));
  EXPECT_EQ(x0, 4u);
  EXPECT_EQ(x1, 4u);
  EXPECT_EQ(y0, 1u);
  EXPECT_EQ(y1, 1u);
  ASSERT_TRUE(geo.CoveringTiles(Bounds{180, -90, 180, -90}, 2, &x0, &y0, &x1, &y1));
  EXPECT_EQ(x0, 7u);
  EXPECT_EQ(y0, 3u);
  // Outside, touching only the edge, inverted, NaN, bad zoom: false and an empty range.
  for (const Bounds& b : {Bounds{190, 0, 200, 10}, Bounds{180, 0, 200, 10}, Bounds{10, 10, 0, 20},
                          Bounds{std::nan(""), 0, 10, 10}}) {
    EXPECT_FALSE(geo.CoveringTiles(b, 2, &x0, &y0, &x1, &y1));
    EXPECT_GT(x0, x1);
    EXPECT_GT(y0, y1);
  }
  EXPECT_FALSE(geo.CoveringTiles(Bounds{0, 0, 1, 1}, 31, &x0, &y0, &x1, &y1));
}

// A footprint crossing the antimeridian as SourceFootprintParts gives it: 170E..180 and
// -180..170W. Columns at zoom z: floor((lon + 180) / 360 * 2^z) for WebMercatorQuad,
// 2^(z+1) columns for WorldCRS84Quad; rows from latitudes 40..50 as TileForLonLat gives them.
TEST(TileMatrixSetTest, CoveringTileRangesListsBothSidesOfTheAntimeridianOnly) {
  const TileMatrixSet web = TileMatrixSet::WebMercatorQuad();
  std::vector<Bounds> parts(2);
  web.LonLatToCrs(170.0, 40.0, &parts[0].min_x, &parts[0].min_y);
  web.LonLatToCrs(180.0, 50.0, &parts[0].max_x, &parts[0].max_y);
  web.LonLatToCrs(-180.0, 40.0, &parts[1].min_x, &parts[1].min_y);
  web.LonLatToCrs(-170.0, 50.0, &parts[1].max_x, &parts[1].max_y);
  // Zoom 10: 170E is column floor(350 / 360 * 1024) = 995, 170W ends in column
  // ceil(10 / 360 * 1024) - 1 = 28: 58 of the 1024 columns.
  const uint32_t north = web.TileForLonLat(0.0, 50.0, 10).y;
  const uint32_t south = web.TileForLonLat(0.0, 40.0, 10).y;
  EXPECT_EQ(north, 347u);  // floor((1 - ln(tan(45 + 25 deg)) / pi) / 2 * 1024).
  EXPECT_EQ(south, 387u);  // The same for 40 degrees.
  EXPECT_EQ(web.CoveringTileRanges(parts, 10),
            (std::vector<TileRect>{{995, north, 1023, south}, {0, north, 28, south}}));
  // Zoom 4: columns 15 and 0. Zoom 0: one tile holds both sides, listed once.
  EXPECT_EQ(web.CoveringTileRanges(parts, 4),
            (std::vector<TileRect>{{15, 5, 15, 6}, {0, 5, 0, 6}}));
  EXPECT_EQ(web.CoveringTileRanges(parts, 0), (std::vector<TileRect>{{0, 0, 0, 0}}));
  // WorldCRS84Quad zoom 2: 8 columns and 4 rows of 45 degrees; 170E is column 7, 170W
  // column 0, latitudes 40..50 straddle 45N: rows 0 and 1.
  const TileMatrixSet geo = TileMatrixSet::WorldCRS84Quad();
  const std::vector<Bounds> geo_parts = {Bounds{170, 40, 180, 50}, Bounds{-180, 40, -170, 50}};
  EXPECT_EQ(geo.CoveringTileRanges(geo_parts, 2),
            (std::vector<TileRect>{{7, 0, 7, 1}, {0, 0, 0, 1}}));
  // Boxes outside the extent are dropped; a bad zoom gives nothing.
  EXPECT_EQ(geo.CoveringTileRanges({Bounds{190, 0, 200, 10}, geo_parts[1]}, 2),
            (std::vector<TileRect>{{0, 0, 0, 1}}));
  EXPECT_TRUE(geo.CoveringTileRanges(geo_parts, 31).empty());
}

TEST(ZoomStrategyTest, ParsesTheThreeNamesAndRefusesOthersListingThem) {
  EXPECT_EQ(*ParseZoomStrategy("nearest"), ZoomStrategy::kNearest);
  EXPECT_EQ(*ParseZoomStrategy("lower"), ZoomStrategy::kLower);
  EXPECT_EQ(*ParseZoomStrategy("upper"), ZoomStrategy::kUpper);
  for (absl::string_view bad : {"best", "", "Nearest", "AUTO"}) {
    absl::StatusOr<ZoomStrategy> parsed = ParseZoomStrategy(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(parsed.status().message(),
              absl::StrCat("unknown zoom strategy '", bad, "': use nearest, lower or upper"));
  }
}

TEST(TileMatrixSetTest, ZoomForResolutionFollowsGdalCogStrategies) {
  const TileMatrixSet web = TileMatrixSet::WebMercatorQuad();
  // Landsat's 28.5 m lies between zoom 12 (38.2185 m) and 13 (19.1093 m).
  // 38.2185 / 28.5 = 1.341 < 28.5 / 19.1093 = 1.491: nearest in log space is 12.
  EXPECT_EQ(web.ZoomForResolution(28.5, ZoomStrategy::kUpper), 13);
  EXPECT_EQ(web.ZoomForResolution(28.5, ZoomStrategy::kLower), 12);
  EXPECT_EQ(web.ZoomForResolution(28.5, ZoomStrategy::kNearest), 12);
  // 25 m: 38.2185 / 25 = 1.529 > 25 / 19.1093 = 1.308, nearest is 13. The arithmetic mean
  // of the two (28.66 m) would say 12: the rule is log space.
  EXPECT_EQ(web.ZoomForResolution(25.0, ZoomStrategy::kNearest), 13);
  // Just each side of the geometric mean sqrt(r12 * r13) = r13 * sqrt(2).
  const double mean = web.Resolution(13) * std::sqrt(2.0);
  EXPECT_EQ(web.ZoomForResolution(mean * 1.0001, ZoomStrategy::kNearest), 12);
  EXPECT_EQ(web.ZoomForResolution(mean * 0.9999, ZoomStrategy::kNearest), 13);
  // Exact zoom resolutions (within 1e-8 relative) are that zoom under every strategy.
  for (ZoomStrategy s : {ZoomStrategy::kNearest, ZoomStrategy::kLower, ZoomStrategy::kUpper}) {
    EXPECT_EQ(web.ZoomForResolution(web.Resolution(12), s), 12);
    EXPECT_EQ(web.ZoomForResolution(web.Resolution(12) * (1 + 1e-9), s), 12);
    EXPECT_EQ(web.ZoomForResolution(web.Resolution(12) * (1 - 1e-9), s), 12);
    EXPECT_EQ(web.ZoomForResolution(1e9, s), 0);
    EXPECT_EQ(web.ZoomForResolution(1e-12, s), TileMatrixSet::kMaxZoom);
    EXPECT_EQ(web.ZoomForResolution(0.0, s), TileMatrixSet::kMaxZoom);
    EXPECT_EQ(web.ZoomForResolution(std::nan(""), s), 0);
  }
  // Degrees: elev.tif's 30 arc seconds (0.008333) lies between CRS84 zoom 6 (0.010986)
  // and 7 (0.005493): 1.318 < 1.517, nearest is 6.
  const TileMatrixSet geo = TileMatrixSet::WorldCRS84Quad();
  EXPECT_EQ(geo.ZoomForResolution(1.0 / 120, ZoomStrategy::kNearest), 6);
  EXPECT_EQ(geo.ZoomForResolution(1.0 / 120, ZoomStrategy::kUpper), 7);
}

// GDAL's own choices. The resolution is gdalwarp's suggestion for EPSG:3857 (what the COG
// driver starts from); the zoom is read from the pixel size the COG driver wrote:
//   gdalwarp -t_srs EPSG:3857 SRC o.tif && gdalinfo o.tif | grep "Pixel Size"
//   gdal_translate -of COG -co TILING_SCHEME=GoogleMapsCompatible
//     -co ZOOM_LEVEL_STRATEGY={AUTO,LOWER,UPPER} SRC c.tif && gdalinfo c.tif
// SRC = L7_ETMs.tif: 28.871176767680531 m -> AUTO 38.2185 (12), LOWER 12, UPPER 19.1093 (13).
// SRC = L7_ETMs.tif resampled to 25 m (gdalwarp -tr 25 25): 25.325504389452139 m ->
//   AUTO 19.1093 (13), LOWER 12, UPPER 13.
// SRC = elev.tif: 1196.351048066273734 m -> AUTO 1222.99 (7), LOWER 7, UPPER 611.50 (8).
// With -co BLOCKSIZE=512, L7_ETMs.tif: AUTO 38.2185 m and UPPER 19.1093 m, which are zooms 11
// and 12 of the 512 px set (same tiles, twice the pixels).
TEST(TileMatrixSetTest, ZoomForResolutionAgreesWithGdalCogDriver) {
  const TileMatrixSet web = TileMatrixSet::WebMercatorQuad();
  struct Case {
    double resolution;
    int nearest, lower, upper;
  };
  for (const Case& c : {Case{28.871176767680531, 12, 12, 13}, Case{25.325504389452139, 13, 12, 13},
                        Case{1196.351048066273734, 7, 7, 8}}) {
    EXPECT_EQ(web.ZoomForResolution(c.resolution, ZoomStrategy::kNearest), c.nearest);
    EXPECT_EQ(web.ZoomForResolution(c.resolution, ZoomStrategy::kLower), c.lower);
    EXPECT_EQ(web.ZoomForResolution(c.resolution, ZoomStrategy::kUpper), c.upper);
  }
  const TileMatrixSet web512 = TileMatrixSet::WebMercatorQuad(TileMatrixSet::TileSize::k512);
  EXPECT_EQ(web512.ZoomForResolution(28.871176767680531, ZoomStrategy::kNearest), 11);
  EXPECT_DOUBLE_EQ(web512.Resolution(11), 38.218514142588127);
  EXPECT_EQ(web512.ZoomForResolution(28.871176767680531, ZoomStrategy::kUpper), 12);
  EXPECT_DOUBLE_EQ(web512.Resolution(12), 19.109257071294063);
}

TEST(TileMatrixSetTest, TmsRowFlipsRowsAndIsItsOwnInverse) {
  const TileMatrixSet web = TileMatrixSet::WebMercatorQuad();
  EXPECT_EQ(TmsRow(0, 0, web), 0u);
  EXPECT_EQ(TmsRow(3, 0, web), 7u);
  EXPECT_EQ(TmsRow(3, 7, web), 0u);
  EXPECT_EQ(TmsRow(10, 352, web), 671u);  // Paris: TMS 10/518/671.
  const TileMatrixSet geo = TileMatrixSet::WorldCRS84Quad();
  EXPECT_EQ(TmsRow(2, 1, geo), 2u);  // 4 rows at zoom 2.
  for (uint32_t row = 0; row < 64; ++row) EXPECT_EQ(TmsRow(6, TmsRow(6, row, web), web), row);
}

}  // namespace
}  // namespace geo
}  // namespace flatpyramid
