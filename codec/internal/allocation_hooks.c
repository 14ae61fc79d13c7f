// The allocation hooks behind allocation_probe.h. C, so that the definitions of malloc & co.
// match the C library's declarations exactly.
#include "codec/internal/allocation_hooks.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

static atomic_int g_recording = 0;
static atomic_size_t g_largest = 0;
static atomic_size_t g_count = 0;

static void Record(size_t size) {
  if (!atomic_load_explicit(&g_recording, memory_order_relaxed)) return;
  atomic_fetch_add_explicit(&g_count, 1, memory_order_relaxed);
  size_t seen = atomic_load_explicit(&g_largest, memory_order_relaxed);
  while (size > seen && !atomic_compare_exchange_weak_explicit(
                            &g_largest, &seen, size, memory_order_relaxed, memory_order_relaxed)) {
  }
}

void FlatpyramidAllocationRecording(int on) {
  if (on) {
    atomic_store(&g_largest, 0);
    atomic_store(&g_count, 0);
  }
  atomic_store(&g_recording, on);
}

size_t FlatpyramidLargestAllocation(void) { return atomic_load(&g_largest); }
size_t FlatpyramidAllocationCount(void) { return atomic_load(&g_count); }

#if defined(__SANITIZE_ADDRESS__)
// AddressSanitizer owns malloc: observe through its hooks (declared as in the runtime's
// <sanitizer/allocator_interface.h>, which Bazel's sandbox does not expose).
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*, size_t),
                                              void (*free_hook)(const volatile void*));

static void MallocHook(const volatile void* pointer, size_t size) {
  (void)pointer;
  Record(size);
}
static void FreeHook(const volatile void* pointer) { (void)pointer; }

__attribute__((constructor)) static void InstallHooks(void) {
  __sanitizer_install_malloc_and_free_hooks(MallocHook, FreeHook);
}
#else
// glibc's own entry points: what malloc & co. would have run.
extern void* __libc_malloc(size_t size);
extern void* __libc_calloc(size_t count, size_t size);
extern void* __libc_realloc(void* pointer, size_t size);
extern void* __libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void* pointer);

void* malloc(size_t size) {
  Record(size);
  return __libc_malloc(size);
}

void* calloc(size_t count, size_t size) {
  Record(size != 0 && count > SIZE_MAX / size ? SIZE_MAX : count * size);
  return __libc_calloc(count, size);
}

void* realloc(void* pointer, size_t size) {
  Record(size);
  return __libc_realloc(pointer, size);
}

void free(void* pointer) { __libc_free(pointer); }

void* memalign(size_t alignment, size_t size) {
  Record(size);
  return __libc_memalign(alignment, size);
}

void* aligned_alloc(size_t alignment, size_t size) {
  Record(size);
  return __libc_memalign(alignment, size);
}

int posix_memalign(void** out, size_t alignment, size_t size) {
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
  Record(size);
  void* pointer = __libc_memalign(alignment, size);
  if (pointer == NULL) return ENOMEM;
  *out = pointer;
  return 0;
}
#endif
