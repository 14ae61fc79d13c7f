#include "tools/internal/progress.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace flatpyramid {
namespace tools {
namespace {

// Captured collects what a printer writes, through open_memstream.
class Captured {
 public:
  Captured() : file_(open_memstream(&buffer_, &size_)) {}
  ~Captured() {
    std::fclose(file_);
    std::free(buffer_);
  }
  std::FILE* file() { return file_; }
  std::string text() {
    std::fflush(file_);
    return std::string(buffer_, size_);
  }

 private:
  char* buffer_ = nullptr;
  size_t size_ = 0;
  std::FILE* file_;
};

TEST(ProgressPrinterTest, LogLinesComeEveryFiveSecondsAndAlwaysAtTheEnd) {
  Captured out;
  ProgressPrinter printer(out.file(), /*terminal=*/false);
  EXPECT_TRUE(printer.Due(0.0, false));
  EXPECT_FALSE(printer.Due(4.9, false));
  EXPECT_TRUE(printer.Due(5.0, false));
  EXPECT_FALSE(printer.Due(5.1, false));
  EXPECT_TRUE(printer.Due(5.1, true));
  printer.Print("1/2 tiles", false);
  printer.Print("2/2 tiles", true);
  EXPECT_EQ(out.text(), "1/2 tiles\n2/2 tiles\n");
}

TEST(ProgressPrinterTest, TerminalRedrawsOneLineEveryFifthOfASecondAndEndsIt) {
  Captured out;
  ProgressPrinter printer(out.file(), /*terminal=*/true);
  EXPECT_TRUE(printer.terminal());
  EXPECT_TRUE(printer.Due(1.0, false));
  EXPECT_FALSE(printer.Due(1.1, false));
  EXPECT_TRUE(printer.Due(1.25, false));
  printer.Print("1/2 tiles", false);
  printer.Print("2/2 tiles", true);
  EXPECT_EQ(out.text(), "\r1/2 tiles \r2/2 tiles \n");
}

}  // namespace
}  // namespace tools
}  // namespace flatpyramid
