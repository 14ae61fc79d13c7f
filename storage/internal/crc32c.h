// CRC32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78), as in iSCSI, ext4 and
// LevelDB: initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF. Crc32c("123456789") = 0xE3069283.
// Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at run time), otherwise
// a slicing-by-8 table.
#ifndef FLATPYRAMID_STORAGE_INTERNAL_CRC32C_H_
#define FLATPYRAMID_STORAGE_INTERNAL_CRC32C_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace flatpyramid {
namespace storage {
namespace internal {

// Crc32cExtend returns the CRC32C of A+B given `crc` = Crc32c(A) and `data` = B.
uint32_t Crc32cExtend(uint32_t crc, const char* data, size_t length);

// Crc32c returns the CRC32C of `data`.
inline uint32_t Crc32c(absl::string_view data) { return Crc32cExtend(0, data.data(), data.size()); }

// Crc32cPortable is the table implementation (exposed so tests compare both paths).
uint32_t Crc32cPortable(uint32_t crc, const char* data, size_t length);

// Crc32cHardwareAvailable is true when the SSE4.2 path is used.
bool Crc32cHardwareAvailable();

}  // namespace internal
}  // namespace storage
}  // namespace flatpyramid

#endif  // FLATPYRAMID_STORAGE_INTERNAL_CRC32C_H_
