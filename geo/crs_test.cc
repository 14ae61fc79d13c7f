#include "geo/crs.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "cpl_conv.h"
#include "gdal_priv.h"
#include "geo/tile_matrix_set.h"
#include "gtest/gtest.h"
#include "testing/files.h"
#include "testing/synthetic_raster.h"

namespace flatpyramid {
namespace geo {
namespace {

constexpr double kE = kWebMercatorHalfExtent;

// Opens real test data read-only; PAM off so GDAL never writes .aux.xml into the tree.
GDALDatasetUniquePtr OpenData(const std::string& name) {
  GDALAllRegister();
  CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");
  GDALDatasetUniquePtr ds(
      GDALDataset::Open(test::DataPath(name).c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  EXPECT_NE(ds, nullptr) << name;
  return ds;
}

GDALDatasetUniquePtr Synthetic(const std::string& srs, int width, int height,
                               std::array<double, 6> geotransform) {
  GDALAllRegister();
  test::SyntheticRasterSpec spec;
  spec.width = width;
  spec.height = height;
  spec.srs = srs;
  spec.geotransform = geotransform;
  absl::StatusOr<GDALDatasetUniquePtr> ds = test::MakeSyntheticRaster(spec);
  EXPECT_TRUE(ds.ok()) << ds.status();
  return ds.ok() ? std::move(*ds) : nullptr;
}

double MercatorY(double lat) {
  const TileMatrixSet web = TileMatrixSet::WebMercatorQuad();
  double x, y;
  web.LonLatToCrs(0.0, lat, &x, &y);
  return y;
}

void ExpectBoundsNear(const Bounds& actual, const Bounds& expected, double tolerance) {
  EXPECT_NEAR(actual.min_x, expected.min_x, tolerance);
  EXPECT_NEAR(actual.min_y, expected.min_y, tolerance);
  EXPECT_NEAR(actual.max_x, expected.max_x, tolerance);
  EXPECT_NEAR(actual.max_y, expected.max_y, tolerance);
}

TEST(ParseSrsTest, AcceptsEpsgWktAndProjStringsInTraditionalAxisOrder) {
  absl::StatusOr<OGRSpatialReference> utm = ParseSrs("EPSG:31985");
  ASSERT_TRUE(utm.ok()) << utm.status();
  EXPECT_TRUE(utm->IsProjected());
  EXPECT_STREQ(utm->GetAuthorityCode(nullptr), "31985");
  int north = 1;
  EXPECT_EQ(utm->GetUTMZone(&north), 25);
  EXPECT_EQ(north, 0);
  EXPECT_EQ(utm->GetAxisMappingStrategy(), OAMS_TRADITIONAL_GIS_ORDER);

  absl::StatusOr<OGRSpatialReference> proj =
      ParseSrs("+proj=utm +zone=33 +datum=WGS84 +units=m +no_defs");
  ASSERT_TRUE(proj.ok()) << proj.status();
  EXPECT_EQ(proj->GetUTMZone(&north), 33);
  EXPECT_EQ(north, 1);

  char* wkt = nullptr;
  OGRSpatialReference wgs84;
  wgs84.importFromEPSG(4326);
  wgs84.exportToWkt(&wkt);
  absl::StatusOr<OGRSpatialReference> from_wkt = ParseSrs(wkt);
  CPLFree(wkt);
  ASSERT_TRUE(from_wkt.ok()) << from_wkt.status();
  EXPECT_TRUE(from_wkt->IsGeographic());
  EXPECT_EQ(from_wkt->GetAxisMappingStrategy(), OAMS_TRADITIONAL_GIS_ORDER);

  absl::StatusOr<OGRSpatialReference> crs84 = ParseSrs("OGC:CRS84");
  ASSERT_TRUE(crs84.ok()) << crs84.status();
  EXPECT_TRUE(crs84->IsGeographic());
}

TEST(ParseSrsTest, RejectsUnparsableInputNamingIt) {
  for (const char* text : {"EPSG:99999999", "not a crs", "+proj=nonsense"}) {
    absl::StatusOr<OGRSpatialReference> srs = ParseSrs(text);
    EXPECT_EQ(srs.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_TRUE(absl::StrContains(srs.status().message(), text)) << srs.status();
  }
  EXPECT_EQ(ParseSrs("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TileMatrixSetSrsTest, IsEpsg3857OrLonLatWgs84) {
  absl::StatusOr<OGRSpatialReference> web = TileMatrixSetSrs(TileMatrixSet::WebMercatorQuad());
  ASSERT_TRUE(web.ok()) << web.status();
  EXPECT_STREQ(web->GetAuthorityCode(nullptr), "3857");
  absl::StatusOr<OGRSpatialReference> geo = TileMatrixSetSrs(TileMatrixSet::WorldCRS84Quad());
  ASSERT_TRUE(geo.ok()) << geo.status();
  EXPECT_STREQ(geo->GetAuthorityCode(nullptr), "4326");
  EXPECT_EQ(geo->GetAxisMappingStrategy(), OAMS_TRADITIONAL_GIS_ORDER);
}

TEST(TransformBoundsTest, LonLatToWebMercatorMatchesTheTileMatrixSetFormulas) {
  // Meridians and parallels are straight in Web Mercator: the box maps corner to corner.
  absl::StatusOr<Bounds> b = TransformBounds({-10, 20, 30, 60}, "EPSG:4326", "EPSG:3857");
  ASSERT_TRUE(b.ok()) << b.status();
  const TileMatrixSet tms = TileMatrixSet::WebMercatorQuad();
  double min_x, min_y, max_x, max_y;
  tms.LonLatToCrs(-10, 20, &min_x, &min_y);
  tms.LonLatToCrs(30, 60, &max_x, &max_y);
  EXPECT_NEAR(b->min_x, min_x, 1e-6);
  EXPECT_NEAR(b->min_y, min_y, 1e-6);
  EXPECT_NEAR(b->max_x, max_x, 1e-6);
  EXPECT_NEAR(b->max_y, max_y, 1e-6);
  EXPECT_EQ(TransformBounds({0, 0, 1, 1}, "EPSG:999999", "EPSG:3857").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SourceFootprintTest, SourceWithoutCrsFailsNamingTheSourceSrsOverrideArgument) {
  GDALDatasetUniquePtr etopo = OpenData("etopo20.cdf");
  ASSERT_NE(etopo, nullptr);
  absl::StatusOr<Bounds> b = SourceFootprint(*etopo, TileMatrixSet::WebMercatorQuad());
  EXPECT_EQ(b.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(
      absl::EndsWith(b.status().message(),
                     "etopo20.cdf: the raster has no coordinate reference system; give one in "
                     "source_srs_override (for example EPSG:4326 for longitude/latitude grids)"))
      << b.status();
  EXPECT_TRUE(absl::StrContains(b.status().message(), "etopo20.cdf")) << b.status();
  auto t = TileToSourceTransformer::Create(*etopo, TileMatrixSet::WorldCRS84Quad());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(t.status().message(), b.status().message());
}

// L7_ETMs.tif is UTM 25S (EPSG:31985), 349 x 352 pixels of 28.5 m. Its corners through PROJ:
//   gdaltransform -s_srs EPSG:31985 -t_srs EPSG:4326 -output_xy  with the input lines
//   "288776.25 9120760.75", "288776.25 9110728.75", "298722.75 9120760.75",
//   "298722.75 9110728.75" (gdalinfo's corners) gives
//   -34.9161655352482 -7.94982210711088    (upper left)
//   -34.916588961493 -8.04051604376795     (lower left)
//   -34.8259656438086 -7.95022840884865    (upper right)
//   -34.8263691657338 -8.04092703939302    (lower right)
// and with -t_srs EPSG:3857:
//   -3886849.76783748 -887823.425275251 / -3886896.90343144 -898018.527655009
//   -3876808.76185281 -887869.09349128  / -3876853.68170805 -898064.73373508
// Over 10 km the edges bow by far less than a millimetre, so the corners are the extremes:
// 1e-8 degrees (1 mm) and 1 mm tolerances.
TEST(SourceFootprintTest, UtmLandsatSceneMatchesProjCorners) {
  GDALDatasetUniquePtr l7 = OpenData("L7_ETMs.tif");
  ASSERT_NE(l7, nullptr);
  absl::StatusOr<Bounds> lonlat = SourceFootprintLonLat(*l7);
  ASSERT_TRUE(lonlat.ok()) << lonlat.status();
  ExpectBoundsNear(
      *lonlat, Bounds{-34.916588961493, -8.04092703939302, -34.8259656438086, -7.94982210711088},
      1e-8);
  absl::StatusOr<Bounds> web = SourceFootprint(*l7, TileMatrixSet::WebMercatorQuad());
  ASSERT_TRUE(web.ok()) << web.status();
  ExpectBoundsNear(
      *web, Bounds{-3886896.90343144, -898064.73373508, -3876808.76185281, -887823.425275251},
      1e-3);
  // gdalwarp -t_srs EPSG:3857 L7_ETMs.tif o.tif; gdalinfo o.tif: origin
  // (-3886896.903430492, -887823.425246053), 349 x 355 pixels of 28.871176767680531 m.
  // gdalwarp rounds the size to whole pixels, so its far edges are within one pixel.
  const double pixel = 28.871176767680531;
  EXPECT_NEAR(web->min_x, -3886896.903430492, 1e-3);
  EXPECT_NEAR(web->max_y, -887823.425246053, 1e-3);
  EXPECT_NEAR(web->max_x, -3886896.903430492 + 349 * pixel, pixel);
  EXPECT_NEAR(web->min_y, -887823.425246053 - 355 * pixel, pixel);
}

// elev.tif is EPSG:4326, 95 x 90 pixels of 30": gdalinfo's corners are
// (5.7416667, 49.4416667) to (6.5333333, 50.1916667). Through PROJ,
//   printf "5.7416666666666666 50.191666666666663\n6.5333333333333 49.441666666666666\n"
//   | gdaltransform -s_srs EPSG:4326 -t_srs EPSG:3857 -output_xy
//   639159.409638046 6479535.53529339
//   727287.339849384 6350137.99277809
// which gdalwarp -t_srs EPSG:3857 confirms (origin 639159.409638046, 6479535.535293386).
TEST(SourceFootprintTest, GeographicDemMatchesGdalinfoCornersAndProj) {
  GDALDatasetUniquePtr elev = OpenData("elev.tif");
  ASSERT_NE(elev, nullptr);
  absl::StatusOr<Bounds> lonlat = SourceFootprintLonLat(*elev);
  ASSERT_TRUE(lonlat.ok()) << lonlat.status();
  ExpectBoundsNear(
      *lonlat, Bounds{5.741666666666666, 49.441666666666666, 6.533333333333333, 50.191666666666663},
      1e-9);
  absl::StatusOr<Bounds> web = SourceFootprint(*elev, TileMatrixSet::WebMercatorQuad());
  ASSERT_TRUE(web.ok()) << web.status();
  ExpectBoundsNear(
      *web, Bounds{639159.409638046, 6350137.99277809, 727287.339849384, 6479535.53529339}, 1e-3);
  absl::StatusOr<Bounds> geo = SourceFootprint(*elev, TileMatrixSet::WorldCRS84Quad());
  ASSERT_TRUE(geo.ok()) << geo.status();
  ExpectBoundsNear(*geo, *lonlat, 1e-12);
}

// etopo20.cdf: 1081 x 540 pixels of 0.3333333 degrees from longitude 20.00000005 to
// 380.333 (gdalinfo), 89.99998205 down to -90. With EPSG:4326 it spans the whole circle.
// gdalwarp -s_srs EPSG:4326 -t_srs EPSG:3857 etopo20.cdf o.tif spans x from -20037489.6
// over 204 pixels of 196371.8 m (to 20022365.5): the whole width within one pixel.
TEST(SourceFootprintTest, ZeroTo360GridCoversTheWholeWorld) {
  GDALDatasetUniquePtr etopo = OpenData("etopo20.cdf");
  ASSERT_NE(etopo, nullptr);
  absl::StatusOr<OGRSpatialReference> srs = ParseSrs("EPSG:4326");
  ASSERT_TRUE(srs.ok());
  absl::StatusOr<Bounds> lonlat = SourceFootprintLonLat(*etopo, &*srs);
  ASSERT_TRUE(lonlat.ok()) << lonlat.status();
  ExpectBoundsNear(*lonlat, Bounds{-180.0, -90.0, 180.0, 89.99998205}, 1e-6);

  absl::StatusOr<Bounds> web = SourceFootprint(*etopo, TileMatrixSet::WebMercatorQuad(), &*srs);
  ASSERT_TRUE(web.ok()) << web.status();
  EXPECT_EQ(web->min_x, -kE);
  EXPECT_EQ(web->max_x, kE);
  EXPECT_EQ(web->min_y, -kE);  // Clamped at -85.0511287798 degrees.
  EXPECT_EQ(web->max_y, kE);
  EXPECT_NEAR(web->min_x, -20037489.6, 196371.8);
  EXPECT_NEAR(web->max_x, -20037489.6 + 204 * 196371.839005394722335, 196371.8);

  absl::StatusOr<Bounds> geo = SourceFootprint(*etopo, TileMatrixSet::WorldCRS84Quad(), &*srs);
  ASSERT_TRUE(geo.ok()) << geo.status();
  ExpectBoundsNear(*geo, Bounds{-180.0, -90.0, 180.0, 89.99998205}, 1e-6);
}

// A polar stereographic square (EPSG:3413, +-1000 km around the north pole). Its corners,
//   printf -- "-1000000 1000000\n1000000 -1000000\n" |
//   gdaltransform -s_srs EPSG:3413 -t_srs EPSG:4326 -output_xy
// lie at latitude 76.9988155316827, the farthest points from the pole; the pole is inside,
// so every longitude is covered up to 90 degrees.
TEST(SourceFootprintTest, PoleInsideTheRasterCoversAllLongitudesUpToNinety) {
  GDALDatasetUniquePtr polar = Synthetic("EPSG:3413", 200, 200, {-1e6, 1e4, 0, 1e6, 0, -1e4});
  ASSERT_NE(polar, nullptr);
  absl::StatusOr<Bounds> lonlat = SourceFootprintLonLat(*polar);
  ASSERT_TRUE(lonlat.ok()) << lonlat.status();
  ExpectBoundsNear(*lonlat, Bounds{-180.0, 76.9988155316827, 180.0, 90.0}, 1e-9);
  absl::StatusOr<Bounds> web = SourceFootprint(*polar, TileMatrixSet::WebMercatorQuad());
  ASSERT_TRUE(web.ok()) << web.status();
  EXPECT_EQ(web->min_x, -kE);
  EXPECT_EQ(web->max_x, kE);
  EXPECT_NEAR(web->min_y, MercatorY(76.9988155316827), 1e-3);
  EXPECT_EQ(web->max_y, kE);
}

// UTM zone 1N from easting 200 to 400 km, northing 4900 to 5100 km straddles 180 degrees:
//   printf "200000 5100000\n200000 4900000\n400000 5100000\n400000 4900000\n" |
//   gdaltransform -s_srs EPSG:32601 -t_srs EPSG:4326 -output_xy
//   179.126394823852 45.9878821436923 / 179.246126158757 44.1915169637247
//   -178.292532035827 46.046265455836 / -178.252477051787 44.2463709151875
// The whole raster lies west of the zone's central meridian (-177), where lines of constant
// easting lean away from it northwards: the west edge is farthest west at its north end,
// the east edge farthest east at its south end; the south edge is lowest at its west end
// and the north edge highest at its east end. So the corners are the extremes.
TEST(SourceFootprintTest, AntimeridianCrossingGivesWestGreaterThanEast) {
  GDALDatasetUniquePtr utm = Synthetic("EPSG:32601", 200, 200, {2e5, 1e3, 0, 5.1e6, 0, -1e3});
  ASSERT_NE(utm, nullptr);
  absl::StatusOr<Bounds> lonlat = SourceFootprintLonLat(*utm);
  ASSERT_TRUE(lonlat.ok()) << lonlat.status();
  ExpectBoundsNear(*lonlat,
                   Bounds{179.126394823852, 44.1915169637247, -178.252477051787, 46.046265455836},
                   1e-7);
  absl::StatusOr<Bounds> web = SourceFootprint(*utm, TileMatrixSet::WebMercatorQuad());
  ASSERT_TRUE(web.ok()) << web.status();
  EXPECT_EQ(web->min_x, -kE);
  EXPECT_EQ(web->max_x, kE);
  EXPECT_NEAR(web->min_y, MercatorY(44.1915169637247), 0.05);
  EXPECT_NEAR(web->max_y, MercatorY(46.046265455836), 0.05);
  // Exactly: one box each side of the antimeridian, x from the corners' longitudes
  // (R * lon in radians, R = 6378137).
  absl::StatusOr<std::vector<Bounds>> parts =
      SourceFootprintParts(*utm, TileMatrixSet::WebMercatorQuad());
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 2u);
  const double to_metres = 6378137.0 * 3.14159265358979323846 / 180.0;
  ExpectBoundsNear((*parts)[0],
                   Bounds{179.126394823852 * to_metres, MercatorY(44.1915169637247), kE,
                          MercatorY(46.046265455836)},
                   0.05);
  ExpectBoundsNear((*parts)[1],
                   Bounds{-kE, MercatorY(44.1915169637247), -178.252477051787 * to_metres,
                          MercatorY(46.046265455836)},
                   0.05);
}

// A raster from 170E to 170W and 40N to 50N in PDC Mercator (EPSG:3832, centred on 150E):
//   printf "170 40\n-170 50\n" | gdaltransform -s_srs EPSG:4326 -t_srs EPSG:3832 -output_xy
//   2226389.81586547 4838471.39806114 / 4452779.63173094 6413524.59416364
// gives its corners; back through PROJ they are 170E / 170W, and the top edge's midpoint
// (3339584.7237982, 6413524.59416364) is (180, 50). Into EPSG:3857:
//   printf "170 50\n-170 40\n" | gdaltransform -s_srs EPSG:4326 -t_srs EPSG:3857 -output_xy
//   18924313.4348565 6446275.84101716 / -18924313.4348565 4865942.27950318
// gdalwarp -t_srs EPSG:3857 itself widens such a raster to the whole world (origin
// -20037506.6, 237 pixels of 168696.9 m to 19943651.8): SourceFootprint's hull does the
// same, SourceFootprintParts keeps the two sides.
TEST(SourceFootprintTest, RasterFrom170Eto170WIsTwoBoxesAndFewTiles) {
  GDALDatasetUniquePtr pdc = Synthetic(
      "EPSG:3832", 200, 100,
      {2226389.81586547, 11131.949079327350773, 0, 6413524.59416364, 0, -15750.531961024998964});
  ASSERT_NE(pdc, nullptr);
  absl::StatusOr<Bounds> lonlat = SourceFootprintLonLat(*pdc);
  ASSERT_TRUE(lonlat.ok()) << lonlat.status();
  ExpectBoundsNear(*lonlat, Bounds{170.0, 40.0, -170.0, 50.0}, 1e-7);

  const TileMatrixSet web = TileMatrixSet::WebMercatorQuad();
  absl::StatusOr<std::vector<Bounds>> parts = SourceFootprintParts(*pdc, web);
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 2u);
  ExpectBoundsNear((*parts)[0], Bounds{18924313.4348565, 4865942.27950318, kE, 6446275.84101716},
                   1e-3);
  ExpectBoundsNear((*parts)[1], Bounds{-kE, 4865942.27950318, -18924313.4348565, 6446275.84101716},
                   1e-3);
  absl::StatusOr<Bounds> hull = SourceFootprint(*pdc, web);
  ASSERT_TRUE(hull.ok()) << hull.status();
  ExpectBoundsNear(*hull, Bounds{-kE, 4865942.27950318, kE, 6446275.84101716}, 1e-3);
  EXPECT_NEAR(hull->min_x, -20037506.644188616, 168696.9);  // gdalwarp's output, +-1 pixel.
  EXPECT_NEAR(hull->max_x, 19943651.843, 168696.9);

  // Zoom 10: 170E starts in column floor(350 / 360 * 1024) = 995, 170W ends in column
  // ceil(10 / 360 * 1024) - 1 = 28; rows 347..387 (latitudes 50..40). 58 columns where the
  // hull would list all 1024.
  EXPECT_EQ(web.CoveringTileRanges(*parts, 10),
            (std::vector<TileRect>{{995, 347, 1023, 387}, {0, 347, 28, 387}}));
  uint32_t x0, y0, x1, y1;
  ASSERT_TRUE(web.CoveringTiles(*hull, 10, &x0, &y0, &x1, &y1));
  EXPECT_EQ(x1 - x0 + 1, 1024u);

  // In WorldCRS84Quad the parts are the longitudes themselves.
  absl::StatusOr<std::vector<Bounds>> geo_parts =
      SourceFootprintParts(*pdc, TileMatrixSet::WorldCRS84Quad());
  ASSERT_TRUE(geo_parts.ok()) << geo_parts.status();
  ASSERT_EQ(geo_parts->size(), 2u);
  ExpectBoundsNear((*geo_parts)[0], Bounds{170.0, 40.0, 180.0, 50.0}, 1e-7);
  ExpectBoundsNear((*geo_parts)[1], Bounds{-180.0, 40.0, -170.0, 50.0}, 1e-7);
}

// A wide UTM 33N box, eastings 166 to 834 km (the zone's whole width), northings 5000 to
// 5500 km: its north edge is a curve that bows north between the corners.
//   printf "166000 5500000\n834000 5500000\n500000 5500000\n166000 5000000\n" |
//   gdaltransform -s_srs EPSG:32633 -t_srs EPSG:4326 -output_xy
//   10.3807551761891 49.5602813974484   (north-west corner)
//   19.6192448238108 49.5602813974484   (north-east corner)
//   15 49.6525429224508                 (north edge midpoint, on the central meridian)
//   10.756728831118 45.0745784617006    (south-west corner; the south edge's lowest points)
// Only a densified edge finds the 49.6525 maximum: the corners say 49.5603 (10 km less).
TEST(SourceFootprintTest, EdgesAreDensifiedSoACurvedEdgeKeepsItsBulge) {
  GDALDatasetUniquePtr utm =
      Synthetic("EPSG:32633", 668, 500, {166000, 1000, 0, 5500000, 0, -1000});
  ASSERT_NE(utm, nullptr);
  absl::StatusOr<Bounds> lonlat = SourceFootprintLonLat(*utm);
  ASSERT_TRUE(lonlat.ok()) << lonlat.status();
  // 21 points per edge put one exactly on the midpoint (the 11th), so the bulge is exact.
  EXPECT_NEAR(lonlat->max_y, 49.6525429224508, 1e-9);
  EXPECT_GT(lonlat->max_y - 49.5602813974484, 0.09);
  EXPECT_NEAR(lonlat->min_x, 10.3807551761891, 1e-9);
  EXPECT_NEAR(lonlat->max_x, 19.6192448238108, 1e-9);
  EXPECT_NEAR(lonlat->min_y, 45.0745784617006, 1e-9);
  absl::StatusOr<Bounds> web = SourceFootprint(*utm, TileMatrixSet::WebMercatorQuad());
  ASSERT_TRUE(web.ok()) << web.status();
  EXPECT_NEAR(web->max_y, MercatorY(49.6525429224508), 1e-3);
}

// olinda_dem_utm25s.tif carries its CRS as WKT only (a BOUNDCRS of "UTM Zone 25, Southern
// Hemisphere" on GRS 1980 with a null transformation to WGS84, no EPSG code). Its pixel
// corners through PROJ, printf "0 0\n0 111\n111 0\n111 111\n" | gdaltransform
// -t_srs EPSG:4326 -output_xy olinda_dem_utm25s.tif (gdalinfo's corners, to 0.01"):
//   -34.9161655352397 -7.94982210685112 / -34.9165871504718 -8.0401303915377
//   -34.8255771254279 -7.9502301163017  / -34.825978836096 -8.04054309455663
// and with -t_srs EPSG:3857 the extremes -3886896.70182948 (west), -3876765.51218451
// (east), -898021.568831702 (south), -887823.425246053 (north); gdalwarp -t_srs EPSG:3857
// puts its origin at (-3886896.701829480, -887823.425246053).
TEST(SourceFootprintTest, WktOnlyCrsDemMatchesGdalinfoCornersAndGdalwarp) {
  GDALDatasetUniquePtr olinda = OpenData("olinda_dem_utm25s.tif");
  ASSERT_NE(olinda, nullptr);
  ASSERT_EQ(olinda->GetSpatialRef()->GetAuthorityCode(nullptr), nullptr);
  absl::StatusOr<Bounds> lonlat = SourceFootprintLonLat(*olinda);
  ASSERT_TRUE(lonlat.ok()) << lonlat.status();
  ExpectBoundsNear(
      *lonlat, Bounds{-34.9165871504718, -8.04054309455663, -34.8255771254279, -7.94982210685112},
      1e-8);
  absl::StatusOr<Bounds> web = SourceFootprint(*olinda, TileMatrixSet::WebMercatorQuad());
  ASSERT_TRUE(web.ok()) << web.status();
  ExpectBoundsNear(
      *web, Bounds{-3886896.70182948, -898021.568831702, -3876765.51218451, -887823.425246053},
      1e-3);
  EXPECT_NEAR(web->min_x, -3886896.701829480, 1e-3);
  EXPECT_NEAR(web->max_y, -887823.425246053, 1e-3);
}

TEST(SourceFootprintTest, GeographicGridPast180WrapsAcrossTheAntimeridian) {
  // Longitudes 170..190, latitudes 40..50.
  GDALDatasetUniquePtr grid = Synthetic("EPSG:4326", 20, 10, {170, 1, 0, 50, 0, -1});
  ASSERT_NE(grid, nullptr);
  absl::StatusOr<Bounds> lonlat = SourceFootprintLonLat(*grid);
  ASSERT_TRUE(lonlat.ok()) << lonlat.status();
  ExpectBoundsNear(*lonlat, Bounds{170.0, 40.0, -170.0, 50.0}, 1e-9);
  absl::StatusOr<Bounds> geo = SourceFootprint(*grid, TileMatrixSet::WorldCRS84Quad());
  ASSERT_TRUE(geo.ok()) << geo.status();
  ExpectBoundsNear(*geo, Bounds{-180.0, 40.0, 180.0, 50.0}, 1e-9);
  absl::StatusOr<std::vector<Bounds>> parts =
      SourceFootprintParts(*grid, TileMatrixSet::WorldCRS84Quad());
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 2u);
  ExpectBoundsNear((*parts)[0], Bounds{170.0, 40.0, 180.0, 50.0}, 1e-9);
  ExpectBoundsNear((*parts)[1], Bounds{-180.0, 40.0, -170.0, 50.0}, 1e-9);
  // A source that does not cross is one part, equal to SourceFootprint.
  GDALDatasetUniquePtr plain = Synthetic("EPSG:4326", 20, 10, {10, 1, 0, 50, 0, -1});
  absl::StatusOr<std::vector<Bounds>> one =
      SourceFootprintParts(*plain, TileMatrixSet::WorldCRS84Quad());
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_EQ(one->size(), 1u);
  ExpectBoundsNear(one->front(), Bounds{10.0, 40.0, 30.0, 50.0}, 1e-12);
}

TEST(SourceFootprintTest, BeyondTheWebMercatorLimitIsOutOfRangeButFitsCrs84) {
  GDALDatasetUniquePtr arctic = Synthetic("EPSG:4326", 10, 3, {0, 1, 0, 89, 0, -1});
  ASSERT_NE(arctic, nullptr);
  absl::StatusOr<Bounds> web = SourceFootprint(*arctic, TileMatrixSet::WebMercatorQuad());
  EXPECT_EQ(web.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(absl::StrContains(web.status().message(), "WorldCRS84Quad")) << web.status();
  absl::StatusOr<Bounds> geo = SourceFootprint(*arctic, TileMatrixSet::WorldCRS84Quad());
  ASSERT_TRUE(geo.ok()) << geo.status();
  ExpectBoundsNear(*geo, Bounds{0.0, 86.0, 10.0, 89.0}, 1e-9);
  // Partly beyond: clamped to the limit.
  GDALDatasetUniquePtr north = Synthetic("EPSG:4326", 10, 10, {0, 1, 0, 90, 0, -1});
  absl::StatusOr<Bounds> clamped = SourceFootprint(*north, TileMatrixSet::WebMercatorQuad());
  ASSERT_TRUE(clamped.ok()) << clamped.status();
  EXPECT_EQ(clamped->max_y, kE);
  EXPECT_NEAR(clamped->min_y, MercatorY(80.0), 1e-6);
}

// Source pixel / line of destination pixel centres in the block [-3886000, -897000,
// -3877000, -888000] (EPSG:3857) of 256 x 256 pixels (35.15625 m), from PROJ:
//   gdaltransform -i -t_srs EPSG:3857 L7_ETMs.tif  with the input lines
//   "-3885982.421875 -888017.578125", "-3877017.578125 -896982.421875",
//   "-3881482.421875 -892517.578125" gives
//   30.1777414102889 6.56472703500185      (column 0, row 0)
//   343.138207262198 314.663426202023      (column 255, row 255)
//   187.286796522523 161.221425529977      (column 128, row 128)
TEST(TileToSourceTransformerTest, ExactTransformMatchesGdaltransform) {
  GDALDatasetUniquePtr l7 = OpenData("L7_ETMs.tif");
  ASSERT_NE(l7, nullptr);
  TransformerOptions options;
  options.max_error_pixels = 0.0;
  auto t = TileToSourceTransformer::Create(*l7, TileMatrixSet::WebMercatorQuad(), options);
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_TRUE((*t)->SetBlock(Bounds{-3886000, -897000, -3877000, -888000}, 256, 256).ok());
  std::vector<double> sx(256), sy(256);
  std::vector<int> ok(256);
  ASSERT_TRUE((*t)->TransformRow(0, sx.data(), sy.data(), ok.data()).ok());
  EXPECT_EQ(ok[0], 1);
  EXPECT_NEAR(sx[0], 30.1777414102889, 1e-6);
  EXPECT_NEAR(sy[0], 6.56472703500185, 1e-6);
  ASSERT_TRUE((*t)->TransformRow(255, sx.data(), sy.data(), ok.data()).ok());
  EXPECT_NEAR(sx[255], 343.138207262198, 1e-6);
  EXPECT_NEAR(sy[255], 314.663426202023, 1e-6);
  ASSERT_TRUE((*t)->TransformRow(128, sx.data(), sy.data(), ok.data()).ok());
  EXPECT_NEAR(sx[128], 187.286796522523, 1e-6);
  EXPECT_NEAR(sy[128], 161.221425529977, 1e-6);
}

TEST(TileToSourceTransformerTest, ApproximationStaysWithinItsErrorBudget) {
  GDALDatasetUniquePtr l7 = OpenData("L7_ETMs.tif");
  ASSERT_NE(l7, nullptr);
  const TileMatrixSet web = TileMatrixSet::WebMercatorQuad();
  TransformerOptions exact_options;
  exact_options.max_error_pixels = 0.0;
  auto exact = TileToSourceTransformer::Create(*l7, web, exact_options);
  auto approx = TileToSourceTransformer::Create(*l7, web);  // 0.125 px, as gdalwarp.
  ASSERT_TRUE(exact.ok() && approx.ok());
  // The zoom-12 tile over Olinda, 1 km wide, and a coarser block 30 km wide.
  for (const Bounds& block : {web.TileBounds(web.TileForLonLat(-34.87, -7.99, 12)),
                              Bounds{-3900000, -910000, -3870000, -880000}}) {
    ASSERT_TRUE((*exact)->SetBlock(block, 256, 256).ok());
    ASSERT_TRUE((*approx)->SetBlock(block, 256, 256).ok());
    std::vector<double> ex(256), ey(256), ax(256), ay(256);
    std::vector<int> eok(256), aok(256);
    double worst = 0;
    for (int row = 0; row < 256; ++row) {
      ASSERT_TRUE((*exact)->TransformRow(row, ex.data(), ey.data(), eok.data()).ok());
      ASSERT_TRUE((*approx)->TransformRow(row, ax.data(), ay.data(), aok.data()).ok());
      for (int col = 0; col < 256; ++col) {
        ASSERT_EQ(eok[col], 1);
        ASSERT_EQ(aok[col], 1);
        worst =
            std::max(worst, std::max(std::fabs(ax[col] - ex[col]), std::fabs(ay[col] - ey[col])));
      }
    }
    EXPECT_LE(worst, 0.125);
  }
}

// etopo20.cdf with EPSG:4326: source x = (lon (+360 when below 20) - 20.00000005) / 0.3333333
// and y = (89.99998205 - lat) / 0.3333333 (gdalinfo's origin and pixel size):
//   lon -170, lat 10:  x = 510.00005085, y = 239.99997015
//   lon 25, lat -45:   x = 15.00000135,  y = 404.99998665
// gdaltransform -i answers -570 for the first: GDAL does not wrap this grid itself.
TEST(TileToSourceTransformerTest, ZeroTo360GridWrapsWesternLongitudes) {
  GDALDatasetUniquePtr etopo = OpenData("etopo20.cdf");
  ASSERT_NE(etopo, nullptr);
  absl::StatusOr<OGRSpatialReference> srs = ParseSrs("EPSG:4326");
  ASSERT_TRUE(srs.ok());
  TransformerOptions options;
  options.source_srs_override = &*srs;
  for (const TileMatrixSet& tms :
       {TileMatrixSet::WorldCRS84Quad(), TileMatrixSet::WebMercatorQuad()}) {
    auto t = TileToSourceTransformer::Create(*etopo, tms, options);
    ASSERT_TRUE(t.ok()) << t.status();
    ASSERT_TRUE((*t)->SetBlock(tms.extent(), 1024, 1024).ok());
    double x[2], y[2], px[2], py[2];
    tms.LonLatToCrs(-170.0, 10.0, &x[0], &y[0]);
    tms.LonLatToCrs(25.0, -45.0, &x[1], &y[1]);
    const double res_x = (tms.extent().max_x - tms.extent().min_x) / 1024;
    const double res_y = (tms.extent().max_y - tms.extent().min_y) / 1024;
    for (int i = 0; i < 2; ++i) {
      px[i] = (x[i] - tms.extent().min_x) / res_x;
      py[i] = (tms.extent().max_y - y[i]) / res_y;
    }
    int ok[2] = {0, 0};
    (*t)->Transform(2, px, py, ok);
    EXPECT_EQ(ok[0], 1);
    EXPECT_EQ(ok[1], 1);
    EXPECT_NEAR(px[0], 510.00005085, 1e-6) << tms.id();
    EXPECT_NEAR(py[0], 239.99997015, 1e-6) << tms.id();
    EXPECT_NEAR(px[1], 15.00000135, 1e-6) << tms.id();
    EXPECT_NEAR(py[1], 404.99998665, 1e-6) << tms.id();
    // A whole row of the world: every pixel lands on the grid, none to its west.
    std::vector<double> sx(1024), sy(1024);
    std::vector<int> sok(1024);
    ASSERT_TRUE((*t)->TransformRow(512, sx.data(), sy.data(), sok.data()).ok());
    for (int col = 0; col < 1024; ++col) {
      ASSERT_EQ(sok[col], 1);
      ASSERT_GE(sx[col], 0.0) << col;
      ASSERT_LT(sx[col], 1081.0) << col;
    }
  }
}

TEST(TileToSourceTransformerTest, RejectsBadOptionsBlocksAndRows) {
  GDALDatasetUniquePtr elev = OpenData("elev.tif");
  ASSERT_NE(elev, nullptr);
  TransformerOptions bad;
  bad.max_error_pixels = -1;
  EXPECT_EQ(
      TileToSourceTransformer::Create(*elev, TileMatrixSet::WebMercatorQuad(), bad).status().code(),
      absl::StatusCode::kInvalidArgument);
  bad.max_error_pixels = std::nan("");
  EXPECT_EQ(
      TileToSourceTransformer::Create(*elev, TileMatrixSet::WebMercatorQuad(), bad).status().code(),
      absl::StatusCode::kInvalidArgument);
  auto t = TileToSourceTransformer::Create(*elev, TileMatrixSet::WebMercatorQuad());
  ASSERT_TRUE(t.ok()) << t.status();
  double x[4], y[4];
  int ok[4];
  EXPECT_EQ((*t)->TransformRow(0, x, y, ok).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*t)->SetBlock(Bounds{0, 0, 1, 1}, 0, 4).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*t)->SetBlock(Bounds{1, 0, 0, 1}, 4, 4).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*t)->SetBlock(Bounds{0, 0, std::nan(""), 1}, 4, 4).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE((*t)->SetBlock(Bounds{0, 0, 1, 1}, 4, 4).ok());
  EXPECT_EQ((*t)->width(), 4);
  EXPECT_EQ((*t)->height(), 4);
  EXPECT_EQ((*t)->TransformRow(4, x, y, ok).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*t)->TransformRow(-1, x, y, ok).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace geo
}  // namespace flatpyramid
