#include "codec/internal/allocation_probe.h"

#include "codec/internal/allocation_hooks.h"

namespace flatpyramid {
namespace codec {
namespace internal {

AllocationProbe::AllocationProbe() { FlatpyramidAllocationRecording(1); }
AllocationProbe::~AllocationProbe() { FlatpyramidAllocationRecording(0); }
void AllocationProbe::Reset() { FlatpyramidAllocationRecording(1); }
size_t AllocationProbe::largest() const { return FlatpyramidLargestAllocation(); }
size_t AllocationProbe::count() const { return FlatpyramidAllocationCount(); }

}  // namespace internal
}  // namespace codec
}  // namespace flatpyramid
