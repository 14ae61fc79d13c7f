#include "tools/internal/progress.h"

#include <unistd.h>

namespace flatpyramid {
namespace tools {

ProgressPrinter::ProgressPrinter() : ProgressPrinter(stderr, isatty(2) == 1) {}

ProgressPrinter::ProgressPrinter(std::FILE* out, bool terminal) : out_(out), terminal_(terminal) {}

double ProgressPrinter::SecondsSinceStart() const {
  return absl::ToDoubleSeconds(absl::Now() - start_);
}

bool ProgressPrinter::Due(double elapsed_seconds, bool finished) {
  if (!finished && elapsed_seconds - last_print_ < (terminal_ ? 0.2 : 5.0)) return false;
  last_print_ = elapsed_seconds;
  return true;
}

void ProgressPrinter::Print(absl::string_view line, bool finished) {
  if (terminal_) {
    std::fprintf(out_, "\r%.*s %s", static_cast<int>(line.size()), line.data(),
                 finished ? "\n" : "");
  } else {
    std::fprintf(out_, "%.*s\n", static_cast<int>(line.size()), line.data());
  }
  std::fflush(out_);
}

}  // namespace tools
}  // namespace flatpyramid
