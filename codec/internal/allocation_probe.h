// Test-only measurement of heap allocations: the largest single request any thread makes
// (malloc, calloc, realloc, aligned allocations, and operator new, which calls malloc),
// including requests made inside the system codec libraries. Internal to //codec, testonly.
//
// How: without AddressSanitizer, the probe library defines malloc and friends in the test
// binary, which interposes them for every shared library, and forwards to glibc's
// __libc_malloc & co. Under AddressSanitizer (which owns malloc) it installs the sanitizer's
// allocation hooks instead. Either way no allocation is changed, only observed.
//
// Example:
//   internal::AllocationProbe probe;  // Starts recording from zero.
//   absl::StatusOr<Image> image = Decode(hostile_bytes, limits);
//   EXPECT_LE(probe.largest(), budget);
//
// Caveats: one probe at a time per process (they share one counter); allocations by mmap
// or by other allocators are not seen.
#ifndef FLATPYRAMID_CODEC_INTERNAL_ALLOCATION_PROBE_H_
#define FLATPYRAMID_CODEC_INTERNAL_ALLOCATION_PROBE_H_

#include <cstddef>

namespace flatpyramid {
namespace codec {
namespace internal {

// AllocationProbe records the largest allocation request made between its construction
// (or the last Reset) and its destruction.
class AllocationProbe {
 public:
  AllocationProbe();
  ~AllocationProbe();
  AllocationProbe(const AllocationProbe&) = delete;
  AllocationProbe& operator=(const AllocationProbe&) = delete;

  // Reset forgets what was recorded so far.
  void Reset();
  // largest is the size in bytes of the largest single request recorded.
  size_t largest() const;
  // count is the number of requests recorded (a probe that sees none is not working).
  size_t count() const;
};

}  // namespace internal
}  // namespace codec
}  // namespace flatpyramid

#endif  // FLATPYRAMID_CODEC_INTERNAL_ALLOCATION_PROBE_H_
