// C interface of allocation_hooks.c, for allocation_probe.cc. Internal to //codec, testonly.
#ifndef FLATPYRAMID_CODEC_INTERNAL_ALLOCATION_HOOKS_H_
#define FLATPYRAMID_CODEC_INTERNAL_ALLOCATION_HOOKS_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// FlatpyramidAllocationRecording starts (on != 0, from zero) or stops recording.
void FlatpyramidAllocationRecording(int on);
// FlatpyramidLargestAllocation is the largest request recorded.
size_t FlatpyramidLargestAllocation(void);
// FlatpyramidAllocationCount is the number of requests recorded.
size_t FlatpyramidAllocationCount(void);

#ifdef __cplusplus
}
#endif

#endif  // FLATPYRAMID_CODEC_INTERNAL_ALLOCATION_HOOKS_H_
