// libFuzzer target: the BLS type 1 entry parser (bls/entry.h). Links only bootseal::bls.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bls/entry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  auto e = bootseal::bls::parse_entry(s);
  if (e.ok()) {
    for (auto& [k, v] : e->fields)
      if (k.empty() && !v.empty()) __builtin_trap();  // a value always follows a key
    (void)e->get("efi");
  }
  return 0;
}
