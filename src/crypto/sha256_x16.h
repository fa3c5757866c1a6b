// SHA-256 of 16 equal-sized 4 KiB blocks at once, one per 32-bit lane of
// AVX-512 registers: the fs-verity leaf level, where every block is hashed on
// its own. On CPUs with AVX-512 this is about twice the throughput of
// OpenSSL's single-stream SHA-NI code; without it, callers use crypto::Hasher.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bootseal::crypto {

inline constexpr size_t kSha256X16Lanes = 16;
inline constexpr size_t kSha256X16BlockSize = 4096;

// True if this CPU (and OS) run the AVX-512 code and the environment does
// not set BOOTSEAL_NO_AVX512.
bool sha256_x16_available();

// out[32 * i .. 32 * i + 31] = SHA-256(first + i * stride, 4096 bytes), for
// i in 0..15. Only when sha256_x16_available().
void sha256_x16_4k(const uint8_t* first, size_t stride, uint8_t* out);

}  // namespace bootseal::crypto
