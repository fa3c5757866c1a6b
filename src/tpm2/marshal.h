#pragma once
// TPM 2.0 marshalling (Part 1 "Marshalling": big-endian integers), for the command
// and structure bytes the policy math hashes.
#include <cstdint>

#include "base/bytes.h"

namespace bootseal::tpm2 {

inline void put_be32(Bytes& b, uint32_t v) {
  for (int i = 3; i >= 0; i--) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline void put_be16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

}  // namespace bootseal::tpm2
