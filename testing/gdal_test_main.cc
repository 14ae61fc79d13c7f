// main() of the tests that open rasters through GDAL (//testing:gdal_test_main, in place of
// gtest_main): every GDAL driver registered before the first test, and GDAL's PAM off so
// that no test writes .aux.xml files next to the test data.
#include "cpl_conv.h"
#include "gdal.h"
#include "gtest/gtest.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  GDALAllRegister();
  CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");
  return RUN_ALL_TESTS();
}
