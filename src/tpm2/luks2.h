// The LUKS2 on-disk header, read from bytes (no libcryptsetup, no I/O): what
// `bootseal verify` needs from a root partition inside a disk image, where
// libcryptsetup would need the partition as a device or file of its own.
// Format: cryptsetup's docs/on-disk-format-luks2.pdf. Two copies, each a
// 4096-byte binary header (big-endian; magic "LUKS\xba\xbe" / "SKUL\xba\xbe",
// version 2, hdr_size, seqid, checksum over the whole hdr_size area with the
// csum field zeroed) followed by the JSON area (keyslots, tokens, segments,
// digests, config). The copy with the valid checksum and the higher seqid wins,
// as in cryptsetup.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"

namespace bootseal::tpm2 {

struct Luks2Keyslot {
  std::string type;      // "luks2"
  std::string kdf;       // "argon2id", "pbkdf2", ...
  int priority = 1;      // 0 ignore, 1 normal, 2 high
};

struct Luks2Header {
  uint64_t hdr_size = 0;
  uint64_t seqid = 0;
  std::string label, uuid, checksum_alg;
  bool primary = true;  // the primary copy was used (else the secondary: the primary is damaged)
  std::string damaged;  // why a copy was not used ("" when both are good)
  std::map<int, Luks2Keyslot> keyslots;
  std::map<int, std::string> tokens;  // id -> the token's JSON text (as tpm2/token.h parses it)
};

// `data`: the partition's start (at least the primary header; the secondary is
// tried at offset hdr_size when present). Errors name the structure at fault.
Result<Luks2Header> parse_luks2_header(ByteSpan data);

inline bool has_luks_magic(ByteSpan d) {
  return d.size() >= 6 && d[0] == 'L' && d[1] == 'U' && d[2] == 'K' && d[3] == 'S' && d[4] == 0xBA && d[5] == 0xBE;
}

}  // namespace bootseal::tpm2
