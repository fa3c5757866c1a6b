// libFuzzer target: the systemd-tpm2 LUKS2 token JSON parser (tpm2::parse_tpm2_token)
// and its writer round trip. Links bootseal::tpm2.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tpm2/token.h"

using namespace bootseal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)tpm2::parse_token_header(in);
  auto t = tpm2::parse_tpm2_token(in);
  if (!t.ok()) return 0;
  // What we parsed, we write and read back to the same token.
  auto again = tpm2::parse_tpm2_token(tpm2::to_json(*t));
  if (!again.ok() || !(*again == *t)) __builtin_trap();
  for (auto& b : t->blobs) {
    auto parts = tpm2::split_blob(b);
    if (!parts.ok() || tpm2::join_blob(*parts) != b) __builtin_trap();
  }
  return 0;
}
