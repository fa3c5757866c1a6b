// libFuzzer target: Authenticode verification of arbitrary PE bytes (the
// certificate table, WIN_CERTIFICATE entries, PKCS#7, SpcIndirectDataContent).
// Links bootseal::authenticode only. Seeds: fuzz/corpus/authenticode/ and
// fuzz/corpus/pe/.
#include <cstddef>
#include <cstdint>

#include "authenticode/authenticode.h"

using namespace bootseal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteSpan in(data, size);
  (void)authenticode::parse_spc_indirect_data_content(in);
  auto rep = authenticode::verify(in, {});
  if (rep.ok()) (void)rep->failure();
  auto u = authenticode::unsign(in);
  if (u.ok()) (void)authenticode::verify(*u, {});
  return 0;
}
