// libFuzzer target: Authenticode verification of arbitrary PE bytes (the
// certificate table, WIN_CERTIFICATE entries, PKCS#7, SpcIndirectDataContent).
// Also: signing preparation of a layout. Links bootseal::authenticode only. Seeds: fuzz/corpus/authenticode/ and
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
  // Preparing a layout for signing (strip or keep the table, pad): the hash
  // from the pieces equals the hash of the materialized bytes.
  if (auto img = pe::parse(in); img.ok() && size < (1u << 20)) {
    for (bool append : {false, true}) {
      auto p = authenticode::prepare_signing(pe::Layout::of_file(in, img->SizeOfHeaders), append);
      if (!p.ok()) continue;
      auto h = authenticode::image_hash(p->layout, p->ranges, crypto::HashAlg::kSha256);
      Bytes flat = p->layout.materialize();
      auto f = authenticode::image_hash(flat, p->ranges, crypto::HashAlg::kSha256);
      if (h.ok() != f.ok() || (h.ok() && *h != *f)) __builtin_trap();
    }
  }
  return 0;
}
