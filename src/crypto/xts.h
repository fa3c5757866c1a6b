// AES-XTS with the plain64 IV, as dm-crypt's "aes-xts-plain64" encrypts a LUKS2
// data segment: each sector is one XTS data unit whose tweak is its 64-bit sector
// number (little-endian, zero-padded to 16 bytes), counted from the segment start.
// `disk create --encrypt` writes the encrypted root this way without device-mapper.
#pragma once

#include <cstdint>
#include <span>

#include "base/bytes.h"

namespace bootseal::crypto {

// Encrypts (or decrypts) `data` in place: whole sectors of `sector_size` bytes, the
// first being sector number `first_sector`. `key` is 32 (AES-128-XTS) or 64 bytes
// (AES-256-XTS). An input error for a bad key size or a partial sector.
Status aes_xts_plain64(bool encrypt, ByteSpan key, uint64_t first_sector, size_t sector_size,
                       std::span<uint8_t> data);

}  // namespace bootseal::crypto
