#include "storage/internal/crc32c.h"

#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace flatpyramid {
namespace storage {
namespace internal {
namespace {

constexpr uint32_t kPolynomial = 0x82F63B78u;  // Castagnoli, reflected.

struct Tables {
  uint32_t t[8][256];
  Tables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t crc = i;
      for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) ? kPolynomial : 0);
      t[0][i] = crc;
    }
    for (uint32_t i = 0; i < 256; ++i) {
      for (int k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF];
    }
  }
};

const Tables& GetTables() {
  static const Tables* const tables = new Tables();
  return *tables;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t Crc32cSse42(uint32_t crc, const char* data,
                                                       size_t length) {
  uint64_t state = ~crc;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(data);
  while (length > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    state = _mm_crc32_u8(static_cast<uint32_t>(state), *p++);
    --length;
  }
  while (length >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    state = _mm_crc32_u64(state, word);
    p += 8;
    length -= 8;
  }
  while (length > 0) {
    state = _mm_crc32_u8(static_cast<uint32_t>(state), *p++);
    --length;
  }
  return ~static_cast<uint32_t>(state);
}
#endif

bool DetectHardware() {
#if defined(__x86_64__)
  return __builtin_cpu_supports("sse4.2");
#else
  return false;
#endif
}

}  // namespace

uint32_t Crc32cPortable(uint32_t crc, const char* data, size_t length) {
  const Tables& tables = GetTables();
  const auto& t = tables.t;
  uint32_t state = ~crc;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(data);
  while (length >= 8) {
    uint32_t low;
    uint32_t high;
    std::memcpy(&low, p, 4);
    std::memcpy(&high, p + 4, 4);
    low ^= state;  // Little-endian hosts only, as the rest of the store.
    state = t[7][low & 0xFF] ^ t[6][(low >> 8) & 0xFF] ^ t[5][(low >> 16) & 0xFF] ^
            t[4][low >> 24] ^ t[3][high & 0xFF] ^ t[2][(high >> 8) & 0xFF] ^
            t[1][(high >> 16) & 0xFF] ^ t[0][high >> 24];
    p += 8;
    length -= 8;
  }
  while (length > 0) {
    state = (state >> 8) ^ t[0][(state ^ *p++) & 0xFF];
    --length;
  }
  return ~state;
}

bool Crc32cHardwareAvailable() {
  static const bool available = DetectHardware();
  return available;
}

uint32_t Crc32cExtend(uint32_t crc, const char* data, size_t length) {
#if defined(__x86_64__)
  if (Crc32cHardwareAvailable()) return Crc32cSse42(crc, data, length);
#endif
  return Crc32cPortable(crc, data, length);
}

}  // namespace internal
}  // namespace storage
}  // namespace flatpyramid
