#include "serve/router.h"

#include <string>

#include "gtest/gtest.h"

namespace flatpyramid {
namespace serve {
namespace {

TEST(ParseTarget, RootIsTheIndex) {
  absl::StatusOr<Route> route = ParseTarget("/");
  ASSERT_TRUE(route.ok()) << route.status();
  EXPECT_EQ(route->kind, RouteKind::kIndex);
}

TEST(ParseTarget, TileWithAndWithoutExtension) {
  absl::StatusOr<Route> route = ParseTarget("/landsat/12/1583/2167.JPG");
  ASSERT_TRUE(route.ok()) << route.status();
  EXPECT_EQ(route->kind, RouteKind::kTile);
  EXPECT_EQ(route->name, "landsat");
  EXPECT_EQ(route->z, 12);
  EXPECT_EQ(route->x, 1583u);
  EXPECT_EQ(route->y, 2167u);
  EXPECT_EQ(route->extension, "jpg");
  route = ParseTarget("/landsat/0/0/0");
  ASSERT_TRUE(route.ok()) << route.status();
  EXPECT_EQ(route->extension, "");
  route = ParseTarget("/landsat/30/4294967295/4294967295.webp");
  ASSERT_TRUE(route.ok()) << route.status();
  EXPECT_EQ(route->x, 4294967295u);
}

TEST(ParseTarget, TileNumbersMustBeDigitsInRange) {
  for (const char* target :
       {"/a/31/0/0", "/a/-1/0/0", "/a/x/0/0", "/a/1/+1/0", "/a/1/0/ 1", "/a/1/4294967296/0",
        "/a/1/0/99999999999999999999", "/a/1/0x10/0", "/a/1//0", "/a/1/1.5/0", "/a/1/0/0.gif",
        "/a/1/0/0.", "/a/01234567890/0/0"}) {
    absl::StatusOr<Route> route = ParseTarget(target);
    EXPECT_TRUE(absl::IsInvalidArgument(route.status())) << target << ": " << route.status();
  }
}

TEST(ParseTarget, DocumentsOfAPyramid) {
  EXPECT_EQ(ParseTarget("/a/tilejson.json")->kind, RouteKind::kTileJson);
  EXPECT_EQ(ParseTarget("/a/WMTSCapabilities.xml")->kind, RouteKind::kWmtsCapabilities);
  EXPECT_EQ(ParseTarget("/a/point?x=1&y=2")->kind, RouteKind::kPoint);
  absl::StatusOr<Route> region = ParseTarget("/a/region.tif?bbox=1,2,3,4");
  ASSERT_TRUE(region.ok());
  EXPECT_EQ(region->kind, RouteKind::kRegion);
  EXPECT_EQ(region->extension, "tif");
  EXPECT_EQ(region->query.at("bbox"), "1,2,3,4");
  EXPECT_EQ(ParseTarget("/a/")->kind, RouteKind::kViewer);
  EXPECT_EQ(ParseTarget("/a")->kind, RouteKind::kViewerRedirect);
  EXPECT_EQ(ParseTarget("/_static/viewer.js")->kind, RouteKind::kStatic);
  EXPECT_EQ(ParseTarget("/_static/viewer.js")->name, "viewer.js");
}

TEST(ParseTarget, QueryIsPercentDecodedLastValueWins) {
  absl::StatusOr<Route> route = ParseTarget("/a/point?srs=EPSG%3A32725&x=1&x=2&flag&note=a+b%20c");
  ASSERT_TRUE(route.ok()) << route.status();
  EXPECT_EQ(route->query.at("srs"), "EPSG:32725");
  EXPECT_EQ(route->query.at("x"), "2");
  EXPECT_EQ(route->query.at("flag"), "");
  EXPECT_EQ(route->query.at("note"), "a b c");
}

TEST(ParseTarget, PercentEncodedNamesAreDecoded) {
  absl::StatusOr<Route> route = ParseTarget("/my%20map/1/0/0.png");
  ASSERT_TRUE(route.ok()) << route.status();
  EXPECT_EQ(route->name, "my map");
}

TEST(ParseTarget, RefusesDotSegmentsSlashesAndControlCharacters) {
  for (const char* target :
       {"/../etc/passwd", "/a/../b/", "/%2e%2e/x", "/%2E%2E/1/0/0", "/a/%2e/", "/.", "/a%2fb/1/0/0",
        "/a%5cb/", "/a%00b/", "/a%0d%0aSet-Cookie:x/", "//", "/a//"}) {
    absl::StatusOr<Route> route = ParseTarget(target);
    EXPECT_TRUE(absl::IsInvalidArgument(route.status())) << target << ": " << route.status();
  }
}

TEST(ParseTarget, RefusesBadPercentEscapes) {
  for (const char* target : {"/a%", "/a%2", "/a%zz/", "/a/point?x=%g1", "/a/point?%"}) {
    absl::StatusOr<Route> route = ParseTarget(target);
    EXPECT_TRUE(absl::IsInvalidArgument(route.status())) << target << ": " << route.status();
  }
}

TEST(ParseTarget, UnknownPathsAreNotFound) {
  for (const char* target : {"/a/b", "/a/1/2", "/a/1/2/3/4", "/a/tilejson.json/", "/_static",
                             "/_static/a/b", "/a/region.jpg"}) {
    absl::StatusOr<Route> route = ParseTarget(target);
    EXPECT_TRUE(absl::IsNotFound(route.status())) << target << ": " << route.status();
  }
}

TEST(ParseTarget, TargetsMustBeOriginFormAndBounded) {
  EXPECT_TRUE(absl::IsInvalidArgument(ParseTarget("").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseTarget("http://x/a/").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseTarget("*").status()));
  const std::string longest = "/" + std::string(kMaxTargetLength - 1, 'a');
  EXPECT_TRUE(absl::IsNotFound(ParseTarget(longest + "/x").status()) ||
              absl::IsOutOfRange(ParseTarget(longest + "/x").status()));
  EXPECT_EQ(ParseTarget(longest)->kind, RouteKind::kViewerRedirect);
  EXPECT_TRUE(absl::IsOutOfRange(ParseTarget(longest + "a").status()));
}

TEST(PercentDecode, DecodesHexAndOptionallyPlus) {
  EXPECT_EQ(*PercentDecode("a%41%7e+b", false), "aA~+b");
  EXPECT_EQ(*PercentDecode("a%41%7e+b", true), "aA~ b");
  EXPECT_TRUE(absl::IsInvalidArgument(PercentDecode("%4", false).status()));
}

}  // namespace
}  // namespace serve
}  // namespace flatpyramid
