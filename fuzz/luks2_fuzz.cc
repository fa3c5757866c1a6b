// libFuzzer target: the LUKS2 header reader verify uses for a LUKS2 root
// (tpm2::parse_luks2_header), then the token parsers on every token it returns.
// Half of the inputs get their primary header's checksum recomputed first, so
// the mutations reach the JSON area instead of stopping at the checksum.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "crypto/hash.h"
#include "tpm2/luks2.h"
#include "tpm2/token.h"

using namespace bootseal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes d(data, data + size);
  if (size >= 16384 && (data[size - 1] & 1)) {
    uint64_t hs = 0;
    for (int i = 0; i < 8; i++) hs = hs << 8 | d[8 + i];
    if (hs >= 16384 && hs <= size && hs <= (4u << 20)) {
      std::memset(d.data() + 448, 0, 64);
      Bytes sum = crypto::digest(crypto::HashAlg::kSha256, ByteSpan(d).subspan(0, hs));
      std::memcpy(d.data() + 448, sum.data(), sum.size());
    }
  }
  auto h = tpm2::parse_luks2_header(d);
  if (!h.ok()) return 0;
  for (auto& [id, json] : h->tokens) {
    (void)tpm2::parse_token_header(json);
    (void)tpm2::parse_tpm2_token(json);
  }
  return 0;
}
