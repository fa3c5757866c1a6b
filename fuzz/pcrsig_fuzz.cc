// libFuzzer target: the .pcrsig JSON parser (tpm2::parse_pcrsig) and its
// writer round trip. Links bootseal::tpm2.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tpm2/pcrsig.h"

using namespace bootseal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto doc = tpm2::parse_pcrsig(in);
  if (!doc.ok()) return 0;
  // What we parsed, we can write and read back to the same document.
  for (auto style : {tpm2::JsonStyle::kShort, tpm2::JsonStyle::kPython}) {
    auto again = tpm2::parse_pcrsig(tpm2::to_json(*doc, style));
    if (!again.ok() || again->banks.size() != doc->banks.size()) __builtin_trap();
    for (size_t i = 0; i < doc->banks.size(); i++)
      if (again->banks[i].entries != doc->banks[i].entries) __builtin_trap();
  }
  return 0;
}
