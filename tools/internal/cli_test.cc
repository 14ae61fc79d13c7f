// ResolvePath against GDAL's names (connection strings, archives), and build_pyramid reading
// a relative NETCDF:file:var from the directory `bazel run` was started in.
#include "tools/internal/cli.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/files.h"

namespace flatpyramid {
namespace tools {
namespace {

void Touch(const std::string& path) { std::ofstream(path) << "x"; }

TEST(ResolvePathTest, ResolvesTheFileInsideGdalNamesAndLeavesTheRestAlone) {
  test::TempDir dir;
  const std::string d = dir.path();
  Touch(dir.Path("rel.nc"));
  ASSERT_EQ(mkdir(dir.Path("sub").c_str(), 0755), 0);
  Touch(dir.Path("sub/a.zip"));
  Touch(dir.Path("var"));  // A file named like the variable: only the first field resolves.

  EXPECT_EQ(ResolvePathAgainst("plain.tif", d), d + "/plain.tif");
  EXPECT_EQ(ResolvePathAgainst("sub/a.zip", d), d + "/sub/a.zip");
  EXPECT_EQ(ResolvePathAgainst("NETCDF:rel.nc:var", d), "NETCDF:" + d + "/rel.nc:var");
  EXPECT_EQ(ResolvePathAgainst("NETCDF:\"rel.nc\":var", d), "NETCDF:\"" + d + "/rel.nc\":var");
  EXPECT_EQ(ResolvePathAgainst("HDF5:\"rel.nc\"://group/x", d),
            "HDF5:\"" + d + "/rel.nc\"://group/x");
  EXPECT_EQ(ResolvePathAgainst("GTIFF_DIR:2:sub/a.zip", d), "GTIFF_DIR:2:" + d + "/sub/a.zip");
  EXPECT_EQ(ResolvePathAgainst("/vsizip/sub/a.zip/x.tif", d), "/vsizip/" + d + "/sub/a.zip/x.tif");
  EXPECT_EQ(ResolvePathAgainst("/vsizip/{sub/a.zip}/x.tif", d),
            "/vsizip/{" + d + "/sub/a.zip}/x.tif");
  EXPECT_EQ(ResolvePathAgainst("/vsigzip/rel.nc", d), "/vsigzip/" + d + "/rel.nc");
  for (const std::string unchanged :
       {"", "-", "/abs/x.tif", "/vsicurl/https://example.com/a.tif", "/vsimem/x.tif",
        "/vsizip//abs/a.zip/x.tif", "NETCDF:/abs/x.nc:var", "<VRTDataset></VRTDataset>"}) {
    EXPECT_EQ(ResolvePathAgainst(unchanged, d), unchanged);
  }
  // Nothing under dir: a connection string keeps its fields (GDAL then names what is missing).
  EXPECT_EQ(ResolvePathAgainst("NETCDF:missing.nc:other", d), "NETCDF:missing.nc:other");
}

TEST(ResolvePathTest, WithoutBuildWorkingDirectoryPathsStayRelative) {
  unsetenv("BUILD_WORKING_DIRECTORY");
  EXPECT_EQ(ResolvePath("NETCDF:rel.nc:var"), "NETCDF:rel.nc:var");
  setenv("BUILD_WORKING_DIRECTORY", "/work/here", 1);
  EXPECT_EQ(ResolvePath("x.tif"), "/work/here/x.tif");
  unsetenv("BUILD_WORKING_DIRECTORY");
}

TEST(ResolvePathTest, BuildPyramidReadsARelativeNetcdfSubdatasetFromTheWorkingDirectory) {
  test::TempDir work;
  {
    std::ifstream in(test::DataPath("etopo20.cdf"), std::ios::binary);
    std::ofstream out(work.Path("etopo20.cdf"), std::ios::binary);
    out << in.rdbuf();
  }
  const std::string tool =
      absl::StrCat(std::getenv("TEST_SRCDIR"), "/flatpyramid/tools/build_pyramid");
  // Run from another directory, as `bazel run` does (it starts in the runfiles tree).
  const std::string command =
      absl::StrCat("cd / && BUILD_WORKING_DIRECTORY='", work.path(), "' '", tool,
                   "' --input=NETCDF:etopo20.cdf:ROSE --source_srs=EPSG:4326 --max_zoom=1 "
                   "--output=etopo.fpyr --quiet 2> '",
                   work.Path("stderr.txt"), "'");
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << test::ReadFileOrDie(work.Path("stderr.txt"));
  EXPECT_EQ(access(work.Path("etopo.fpyr").c_str(), F_OK), 0);
}

}  // namespace
}  // namespace tools
}  // namespace flatpyramid
