#include "serve/handler.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "codec/codec.h"
#include "gtest/gtest.h"
#include "pyramid/internal/region_test_pyramid.h"
#include "pyramid/reader.h"
#include "serve/pyramid_set.h"
#include "testing/files.h"
#include "testing/synthetic_raster.h"

namespace flatpyramid {
namespace serve {
namespace {

using pyramid::internal::TestPyramidSpec;
using pyramid::internal::WriteTestPyramid;

// A 0.02 x 0.02 degree scene near Recife, and the zoom-12 tile holding its top-left corner.
constexpr double kWest = -34.90, kNorth = -7.95;
constexpr int kZoom = 12;

test::SyntheticRasterSpec SceneSpec(int bands, GDALDataType type) {
  test::SyntheticRasterSpec spec;
  spec.width = spec.height = 200;
  spec.bands = bands;
  spec.type = type;
  spec.geotransform = {kWest, 0.0001, 0, kNorth, 0, -0.0001};
  return spec;
}

class HandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<GDALDatasetUniquePtr> rgb = test::MakeSyntheticRaster(SceneSpec(3, GDT_Byte));
    ASSERT_TRUE(rgb.ok()) << rgb.status();
    TestPyramidSpec imagery;
    imagery.min_zoom = 10;
    imagery.max_zoom = kZoom;
    imagery.codec = codec::CodecId::kJpeg;
    ASSERT_TRUE(WriteTestPyramid(**rgb, imagery, dir_.Path("scene.fpyr")).ok());

    test::SyntheticRasterSpec dem_spec = SceneSpec(1, GDT_Float32);
    dem_spec.nodata = -9999;
    absl::StatusOr<GDALDatasetUniquePtr> dem = test::MakeSyntheticRaster(dem_spec);
    ASSERT_TRUE(dem.ok()) << dem.status();
    TestPyramidSpec elevation;
    elevation.min_zoom = 11;
    elevation.max_zoom = kZoom;
    elevation.codec = codec::CodecId::kElevation;
    elevation.add_alpha = false;
    elevation.nodata = -9999;
    elevation.resampling = "nearest";
    ASSERT_TRUE(WriteTestPyramid(**dem, elevation, dir_.Path("dem.fpyr")).ok());

    absl::StatusOr<std::unique_ptr<PyramidSet>> set =
        PyramidSet::Open({dir_.Path("scene.fpyr"), dir_.Path("dem.fpyr")}, {});
    ASSERT_TRUE(set.ok()) << set.status();
    pyramids_ = *std::move(set);
    const geo::TileMatrixSet tms = geo::TileMatrixSet::WebMercatorQuad();
    corner_ = tms.TileForLonLat(kWest + 0.001, kNorth - 0.001, kZoom);
  }

  Response Get(const std::string& target, const HandlerOptions& options = {}) const {
    Handler handler(pyramids_.get(), options);
    Request request;
    request.method = "GET";
    request.target = target;
    request.host = "127.0.0.1:8080";
    return handler.Handle(request);
  }

  std::string TileTarget(const std::string& name, const std::string& suffix = "") const {
    return absl::StrCat("/", name, "/", kZoom, "/", corner_.x, "/", corner_.y, suffix);
  }

  test::TempDir dir_;
  std::unique_ptr<PyramidSet> pyramids_;
  geo::TileId corner_;
};

TEST_F(HandlerTest, TileIsTheStoredBytesWithoutACopy) {
  std::shared_ptr<const pyramid::Reader> reader = pyramids_->Get("scene");
  absl::StatusOr<absl::string_view> stored = reader->GetTileBytes(kZoom, corner_.x, corner_.y);
  ASSERT_TRUE(stored.ok()) << stored.status();
  Response response = Get(TileTarget("scene", ".jpg"));
  EXPECT_EQ(response.status(), 200);
  EXPECT_EQ(response.body().data(), stored->data());  // A view of the map itself.
  EXPECT_EQ(response.body().size(), stored->size());
  // The corner tile is partial: stored as PNG with alpha in a "jpeg" pyramid.
  EXPECT_EQ(response.Header("Content-Type"), "image/png");
  EXPECT_EQ(response.Header("Cache-Control"), "public, max-age=60");
  EXPECT_EQ(response.Header("ETag").size(), 34u);
  EXPECT_EQ(response.Header("ETag")[0], '"');
}

TEST_F(HandlerTest, IdenticalBytesShareAnEtagAndDifferentTilesDoNot) {
  const std::string etag = std::string(Get(TileTarget("scene")).Header("ETag"));
  EXPECT_EQ(Get(TileTarget("scene", ".png")).Header("ETag"), etag);
  const std::string neighbour = absl::StrCat("/scene/", kZoom, "/", corner_.x + 1, "/", corner_.y);
  EXPECT_NE(Get(neighbour).Header("ETag"), etag);
}

TEST_F(HandlerTest, IfNoneMatchGives304WithoutBody) {
  const std::string etag = std::string(Get(TileTarget("scene")).Header("ETag"));
  Handler handler(pyramids_.get(), {});
  for (const std::string& header : {etag, absl::StrCat("\"x\", W/", etag), std::string("*")}) {
    Request request;
    request.method = "GET";
    request.target = TileTarget("scene");
    request.if_none_match = header;
    Response response = handler.Handle(request);
    EXPECT_EQ(response.status(), 304) << header;
    EXPECT_EQ(response.body(), "") << header;
    EXPECT_EQ(response.Header("ETag"), etag);
  }
  Request other;
  other.method = "GET";
  other.target = TileTarget("scene");
  other.if_none_match = "\"0123\"";
  EXPECT_EQ(handler.Handle(other).status(), 200);
}

TEST_F(HandlerTest, TilesWithoutDataAre404OrTheConfigured204) {
  for (const std::string& target :
       {std::string("/scene/12/0/0"), std::string("/scene/5/0/0"), std::string("/scene/13/0/0"),
        std::string("/scene/1/5/0"), std::string("/scene/0/4294967295/0")}) {
    EXPECT_EQ(Get(target).status(), 404) << target;
    HandlerOptions options;
    options.empty_tile_status = 204;
    Response response = Get(target, options);
    EXPECT_EQ(response.status(), 204) << target;
    EXPECT_EQ(response.body(), "");
  }
}

TEST_F(HandlerTest, ErrorAnswersNameTheProblem) {
  struct Case {
    std::string target;
    int status;
    std::string text;
  };
  for (const Case& c : std::vector<Case>{
           {"/nope/1/0/0", 404, "no pyramid named \"nope\""},
           {"/nope/tilejson.json", 404, "no pyramid named \"nope\""},
           {"/scene/31/0/0", 400, "tile zoom \"31\""},
           {"/scene/1/a/0", 400, "not whole numbers"},
           {"/scene/1/0/0.gif", 400, "tile extension"},
           {"/%2e%2e/etc/passwd", 400, "\"..\" is not allowed"},
           {"/scene/other", 404, "no route \"other\""},
           {"/_static/nothing.js", 404, "no file \"nothing.js\""},
           {"/" + std::string(kMaxTargetLength, 'a'), 414, "longer than"},
           {"/scene/region.png", 400, "parameter bbox"},
           {"/scene/region.png?bbox=0,0,1,1&width=0&height=5", 400, "parameter width"},
           {"/scene/region.png?bbox=0,0,1,1&width=5000&height=5", 400, "1..4096"},
           {"/scene/region.png?bbox=0,0,1,1&width=5&height=5&resampling=fancy", 400,
            "parameter resampling"},
           {"/scene/region.png?bbox=0,0,1,nan&width=5&height=5", 400, "parameter bbox"},
           {"/scene/region.png?bbox=0,0,1,1&width=5&height=5&srs=EPSG:99999999", 400, ""},
           {"/scene/point?y=1", 400, "parameter x"},
           {"/scene/point?x=1&y=inf", 400, "parameter y"},
           {"/scene/point?x=1&y=100", 400, "parameter x/y"},
           {"/scene/point?x=1&y=1&method=cubic", 400, "parameter method"},
           {"/scene/1/0/0?encoding=terrarium", 400, "elevation pyramids only"},
           {"/dem/1/0/0?encoding=lerc", 400,
            "unknown terrain encoding \"lerc\": use terrarium or mapbox"},
           {"/dem/tilejson.json?encoding=x", 400, "terrarium or mapbox"},
       }) {
    Response response = Get(c.target);
    EXPECT_EQ(response.status(), c.status) << c.target << ": " << response.body();
    EXPECT_EQ(response.Header("Content-Type"), "text/plain; charset=utf-8") << c.target;
    EXPECT_TRUE(absl::StrContains(response.body(), c.text)) << c.target << ": " << response.body();
  }
}

TEST_F(HandlerTest, MethodsOtherThanGetAndHeadAre405UnlessCorsPreflight) {
  Handler handler(pyramids_.get(), {});
  Request request;
  request.target = "/";
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
    request.method = method;
    Response response = handler.Handle(request);
    EXPECT_EQ(response.status(), 405) << method;
    EXPECT_EQ(response.Header("Allow"), "GET, HEAD");
    EXPECT_EQ(response.Header("Access-Control-Allow-Origin"), "");
  }
  request.method = "HEAD";
  EXPECT_EQ(handler.Handle(request).status(), 200);

  HandlerOptions cors;
  cors.cors_origin = "*";
  Handler cors_handler(pyramids_.get(), cors);
  request.method = "OPTIONS";
  request.target = TileTarget("scene");
  Response preflight = cors_handler.Handle(request);
  EXPECT_EQ(preflight.status(), 204);
  EXPECT_EQ(preflight.Header("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(preflight.Header("Access-Control-Allow-Methods"), "GET, HEAD, OPTIONS");
  request.method = "GET";
  EXPECT_EQ(cors_handler.Handle(request).Header("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(cors_handler.Handle(request).Header("Access-Control-Expose-Headers"), "ETag");
}

TEST_F(HandlerTest, TileJsonDescribesThePyramid) {
  Response response = Get("/scene/tilejson.json");
  EXPECT_EQ(response.status(), 200);
  EXPECT_EQ(response.Header("Content-Type"), "application/json");
  const std::string body(response.body());
  for (const char* part :
       {"\"tilejson\":\"3.0.0\"", "\"name\":\"scene\"",
        "\"tiles\":[\"http://127.0.0.1:8080/scene/{z}/{x}/{y}.jpg\"]", "\"scheme\":\"xyz\"",
        "\"minzoom\":10", "\"maxzoom\":12", "\"format\":\"jpg\"", "\"tileSize\":256",
        "\"crs\":\"EPSG:3857\"", "\"tile_matrix_set\":\"WebMercatorQuad\""}) {
    EXPECT_TRUE(absl::StrContains(body, part)) << part << " in " << body;
  }
  const std::string dem(Get("/dem/tilejson.json?encoding=mapbox").body());
  EXPECT_TRUE(absl::StrContains(dem, "/dem/{z}/{x}/{y}.png?encoding=mapbox\"")) << dem;
  EXPECT_TRUE(absl::StrContains(dem, "\"encoding\":\"mapbox\"")) << dem;
  EXPECT_TRUE(absl::StrContains(dem, "\"nodata\":-9999")) << dem;
}

TEST_F(HandlerTest, TileJsonTakesOnlyHostCharactersFromTheHostHeader) {
  Handler handler(pyramids_.get(), {});
  Request request;
  request.method = "GET";
  request.target = "/scene/tilejson.json";
  request.host = "evil\"host\r\n:80";
  const std::string body(handler.Handle(request).body());
  EXPECT_TRUE(absl::StrContains(body, "\"http://evilhost:80/scene/")) << body;
}

TEST_F(HandlerTest, WmtsCapabilitiesListEveryTileMatrix) {
  Response response = Get("/scene/WMTSCapabilities.xml");
  EXPECT_EQ(response.status(), 200);
  EXPECT_EQ(response.Header("Content-Type"), "application/xml");
  const std::string xml(response.body());
  EXPECT_TRUE(absl::StrContains(
      xml, "template=\"http://127.0.0.1:8080/scene/{TileMatrix}/{TileCol}/{TileRow}.jpg\""));
  EXPECT_TRUE(absl::StrContains(xml, "urn:ogc:def:wkss:OGC:1.0:GoogleMapsCompatible"));
  EXPECT_TRUE(absl::StrContains(xml, "<ows:Identifier>12</ows:Identifier>"));
  EXPECT_FALSE(absl::StrContains(xml, "<ows:Identifier>13</ows:Identifier>"));
  EXPECT_TRUE(absl::StrContains(xml, "<MatrixWidth>4096</MatrixWidth>"));
}

TEST_F(HandlerTest, TerrariumTileDecodesToTheStoredHeights) {
  std::shared_ptr<const pyramid::Reader> reader = pyramids_->Get("dem");
  absl::StatusOr<std::shared_ptr<const codec::Image>> heights =
      reader->GetTile(kZoom, corner_.x, corner_.y);
  ASSERT_TRUE(heights.ok()) << heights.status();
  for (const char* encoding : {"terrarium", "mapbox"}) {
    Response response = Get(TileTarget("dem", absl::StrCat(".png?encoding=", encoding)));
    ASSERT_EQ(response.status(), 200) << response.body();
    EXPECT_EQ(response.Header("Content-Type"), "image/png");
    EXPECT_TRUE(absl::EndsWith(response.Header("ETag"), absl::StrCat("-", encoding, "\"")));
    absl::StatusOr<codec::Image> rgb = codec::Decode(response.body());
    ASSERT_TRUE(rgb.ok()) << rgb.status();
    const bool terrarium = std::string(encoding) == "terrarium";
    int data_pixels = 0;
    for (int i = 0; i < 256 * 256; ++i) {
      const uint8_t* p = rgb->data() + 3 * i;
      const double decoded = terrarium ? p[0] * 256.0 + p[1] + p[2] / 256.0 - 32768.0
                                       : -10000.0 + (p[0] * 65536.0 + p[1] * 256.0 + p[2]) * 0.1;
      float h;
      std::memcpy(&h, (*heights)->data() + 4 * i, 4);
      if (h == -9999.0f) {
        EXPECT_EQ(decoded, 0.0) << i;
      } else {
        ++data_pixels;
        EXPECT_LE(std::fabs(decoded - h), terrarium ? 0.5 / 256 : 0.05 + 1e-6) << i;
      }
    }
    EXPECT_GT(data_pixels, 1000);
  }
}

TEST_F(HandlerTest, RegionPngHasReadRegionsPixels) {
  Response response =
      Get("/scene/region.png?bbox=-34.895,-7.965,-34.885,-7.955&width=64&height=48&"
          "resampling=nearest");
  ASSERT_EQ(response.status(), 200) << response.body();
  EXPECT_EQ(response.Header("Content-Type"), "image/png");
  absl::StatusOr<codec::Image> image = codec::Decode(response.body());
  ASSERT_TRUE(image.ok()) << image.status();
  pyramid::RegionRequest request;
  request.bbox = {-34.895, -7.965, -34.885, -7.955};
  request.width = 64;
  request.height = 48;
  request.resampling = pyramid::Resampling::kNearest;
  absl::StatusOr<pyramid::Region> region = pyramids_->Get("scene")->ReadRegion(request);
  ASSERT_TRUE(region.ok()) << region.status();
  ASSERT_EQ(image->size_bytes(), region->image.size_bytes());
  EXPECT_EQ(std::memcmp(image->data(), region->image.data(), image->size_bytes()), 0);

  Response tiff = Get("/dem/region.tif?bbox=-34.895,-7.965,-34.885,-7.955&width=32&height=32");
  ASSERT_EQ(tiff.status(), 200) << tiff.body();
  EXPECT_EQ(tiff.Header("Content-Type"), "image/tiff");
  EXPECT_TRUE(absl::StartsWith(tiff.body(), "II*")) << "a little-endian TIFF";
  EXPECT_EQ(Get("/dem/region.png?bbox=-34.895,-7.965,-34.885,-7.955&width=8&height=8").status(),
            400);
}

TEST_F(HandlerTest, PointAnswersReaderSample) {
  std::shared_ptr<const pyramid::Reader> dem = pyramids_->Get("dem");
  absl::StatusOr<std::optional<double>> expected = dem->Sample(-34.8912, -7.9634);
  ASSERT_TRUE(expected.ok() && expected->has_value());
  Response response = Get("/dem/point?x=-34.8912&y=-7.9634");
  ASSERT_EQ(response.status(), 200) << response.body();
  EXPECT_EQ(response.Header("Content-Type"), "application/json");
  char value[64];
  std::snprintf(value, sizeof(value), "%.17g", **expected);
  EXPECT_EQ(response.body(),
            absl::StrCat("{\"lon\":-34.8912,\"lat\":-7.9634,\"values\":[", value, "]}\n"));
  EXPECT_TRUE(
      absl::StrContains(Get("/scene/point?x=10&y=10").body(), "\"values\":[null,null,null]"));
  // The same point given in UTM 25S.
  Response utm = Get("/dem/point?x=291000&y=9120000&srs=EPSG:31985");
  EXPECT_EQ(utm.status(), 200) << utm.body();
}

TEST_F(HandlerTest, IndexViewerAndStaticFiles) {
  Response index = Get("/");
  EXPECT_EQ(index.status(), 200);
  EXPECT_TRUE(absl::StrContains(index.body(), "<a href=\"/scene/\">scene</a>"));
  EXPECT_TRUE(absl::StrContains(index.body(), "<a href=\"/dem/\">dem</a>"));
  Response viewer = Get("/scene/");
  EXPECT_EQ(viewer.status(), 200);
  EXPECT_EQ(viewer.Header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_TRUE(absl::StrContains(viewer.body(), "/_static/leaflet.js"));
  Response redirect = Get("/scene");
  EXPECT_EQ(redirect.status(), 301);
  EXPECT_EQ(redirect.Header("Location"), "/scene/");
  for (const char* file : {"leaflet.js", "leaflet.css", "viewer.js", "viewer.css", "maplibre-gl.js",
                           "maplibre-gl.css", "terrain3d.js"}) {
    Response response = Get(absl::StrCat("/_static/", file));
    EXPECT_EQ(response.status(), 200) << file;
    EXPECT_GT(response.body().size(), 200u) << file;
  }
}

TEST(PyramidSetTest, ReplacedFileIsServedAfterTheRecheckAndTheOldReaderStaysValid) {
  test::TempDir dir;
  absl::StatusOr<GDALDatasetUniquePtr> rgb = test::MakeSyntheticRaster(SceneSpec(3, GDT_Byte));
  ASSERT_TRUE(rgb.ok());
  TestPyramidSpec spec;
  spec.min_zoom = spec.max_zoom = 10;
  const std::string path = dir.Path("a.fpyr");
  ASSERT_TRUE(WriteTestPyramid(**rgb, spec, path).ok());
  PyramidSetOptions options;
  options.recheck_interval = absl::Milliseconds(50);
  absl::StatusOr<std::unique_ptr<PyramidSet>> set = PyramidSet::Open({path}, options);
  ASSERT_TRUE(set.ok()) << set.status();
  uint64_t old_version = 0, new_version = 0;
  std::shared_ptr<const pyramid::Reader> old = (*set)->Get("a", &old_version);
  ASSERT_EQ(old->max_zoom(), 10);

  // A rebuild to a temporary file renamed over the old one, as build_pyramid does.
  spec.max_zoom = 11;
  ASSERT_TRUE(WriteTestPyramid(**rgb, spec, dir.Path("a.fpyr.tmp")).ok());
  ASSERT_EQ(std::rename(dir.Path("a.fpyr.tmp").c_str(), path.c_str()), 0);
  usleep(80 * 1000);
  EXPECT_EQ((*set)->Get("a", &new_version)->max_zoom(), 11);
  EXPECT_NE(new_version, old_version);  // Caches keyed by version never mix the two files.
  // The old Reader (a request in flight) still reads its file.
  EXPECT_TRUE(old->GetTile(10, old->FindLevel(10)->min_x(), old->FindLevel(10)->min_y()).ok());

  // A file that does not open (a half-written one) leaves the current Reader in place.
  FILE* broken = std::fopen(dir.Path("b.tmp").c_str(), "w");
  std::fputs("not a pyramid", broken);
  std::fclose(broken);
  ASSERT_EQ(std::rename(dir.Path("b.tmp").c_str(), path.c_str()), 0);
  usleep(80 * 1000);
  EXPECT_EQ((*set)->Get("a")->max_zoom(), 11);
  EXPECT_EQ((*set)->Get("b"), nullptr);
}

TEST(PyramidSetTest, NamesAreFileStemsUniqueAndUsableInUrls) {
  EXPECT_EQ(PyramidSet::NameForPath("/data/landsat.fpyr"), "landsat");
  EXPECT_EQ(PyramidSet::NameForPath("a.b.fpyr"), "a.b");
  EXPECT_EQ(PyramidSet::NameForPath("noext"), "noext");
  test::TempDir dir;
  absl::StatusOr<GDALDatasetUniquePtr> rgb = test::MakeSyntheticRaster(SceneSpec(3, GDT_Byte));
  ASSERT_TRUE(rgb.ok());
  TestPyramidSpec spec;
  spec.min_zoom = spec.max_zoom = 10;
  ASSERT_TRUE(WriteTestPyramid(**rgb, spec, dir.Path("a.fpyr")).ok());
  ASSERT_TRUE(WriteTestPyramid(**rgb, spec, dir.Path("_static.fpyr")).ok());
  absl::Status twice = PyramidSet::Open({dir.Path("a.fpyr"), dir.Path("a.fpyr")}, {}).status();
  EXPECT_TRUE(absl::IsInvalidArgument(twice)) << twice;
  EXPECT_TRUE(absl::StrContains(twice.message(), "two pyramids are named \"a\""));
  absl::Status reserved = PyramidSet::Open({dir.Path("_static.fpyr")}, {}).status();
  EXPECT_TRUE(absl::IsInvalidArgument(reserved)) << reserved;
  EXPECT_TRUE(absl::IsNotFound(PyramidSet::Open({dir.Path("none.fpyr")}, {}).status()));
}

}  // namespace
}  // namespace serve
}  // namespace flatpyramid
