// xxHash32 (Yann Collet's XXH32, as specified in xxhash.h / doc/xxhash_spec.md),
// used by EROFS for the per-inode xattr name bloom filter.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bootseal::erofs {

uint32_t xxh32(const void* data, size_t len, uint32_t seed);

}  // namespace bootseal::erofs
