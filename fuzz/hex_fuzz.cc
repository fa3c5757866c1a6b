// Fuzzes the hex decoder (used for salts, digests and payload names).
#include <cstdint>
#include <string_view>

#include "base/hex.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  auto r = bootseal::from_hex(s);
  if (r.ok() && bootseal::to_hex(*r).size() != s.size()) __builtin_trap();
  return 0;
}
