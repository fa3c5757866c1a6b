// libFuzzer target: the composefs karg parser (bls/karg.h). Links only bootseal::bls.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bls/karg.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  for (auto h : {bootseal::bls::KargHash::kSha256, bootseal::bls::KargHash::kSha512}) {
    auto r = bootseal::bls::parse_composefs_karg(s, h);
    if (r.ok() && r->has_value()) {
      // Formatting and re-parsing what was parsed must give the same result.
      auto again = bootseal::bls::parse_composefs_karg(bootseal::bls::format_composefs_karg(**r), h);
      if (!again.ok() || !again->has_value() || (*again)->digest != (**r).digest) __builtin_trap();
    }
  }
  (void)bootseal::bls::cmdline_value(s, "root");
  (void)bootseal::bls::cmdline_flag(s, "composefs.insecure");
  return 0;
}
