// Internal to //tools: the progress line of the long-running tools (build_pyramid,
// convert_pyramid). On a terminal one line is redrawn in place at most every 0.2 s; otherwise
// (a log file, a CI job) a line is written every 5 s, so a log stays short. The final state
// is always printed. Each tool formats its own line.
//
// Example:
//   ProgressPrinter printer;  // stderr
//   ... in the progress callback:
//   if (printer.Due(printer.SecondsSinceStart(), done == total)) {
//     printer.Print(absl::StrFormat("%d/%d tiles", done, total), done == total);
//   }
#ifndef FLATPYRAMID_TOOLS_INTERNAL_PROGRESS_H_
#define FLATPYRAMID_TOOLS_INTERNAL_PROGRESS_H_

#include <cstdio>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace flatpyramid {
namespace tools {

// ProgressPrinter is not thread-safe: call it from one thread (the libraries' progress
// callbacks are called from one thread at a time).
class ProgressPrinter {
 public:
  // Writes to stderr, redrawing in place when stderr is a terminal.
  ProgressPrinter();
  // Writes to `out` (not owned; it must outlive the printer); `terminal` chooses in-place
  // redrawing.
  ProgressPrinter(std::FILE* out, bool terminal);

  // terminal is true when lines are redrawn in place.
  bool terminal() const { return terminal_; }

  // SecondsSinceStart is the time since construction, for callers whose progress reports
  // carry no elapsed time.
  double SecondsSinceStart() const;

  // Due is true when a line should be printed at `elapsed_seconds`: always when `finished`,
  // else at least 0.2 s (terminal) or 5 s (otherwise) after the last line Due allowed. A
  // true answer counts as printed.
  bool Due(double elapsed_seconds, bool finished);

  // Print writes `line`: on a terminal "\r" + line + " " (the space clears a shorter line's
  // leftover), ending with a newline when `finished`; otherwise line + "\n". It flushes.
  void Print(absl::string_view line, bool finished);

 private:
  std::FILE* const out_;
  const bool terminal_;
  const absl::Time start_ = absl::Now();
  double last_print_ = -1e9;  // Seconds; far in the past, so the first report prints.
};

}  // namespace tools
}  // namespace flatpyramid

#endif  // FLATPYRAMID_TOOLS_INTERNAL_PROGRESS_H_
