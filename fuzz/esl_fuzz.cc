// libFuzzer target: EFI signature lists and EFI_VARIABLE_AUTHENTICATION_2
// (.auth) files, including the PKCS#7 inside. Links bootseal::efivar only.
// Seeds: fuzz/corpus/esl/.
#include <cstddef>
#include <cstdint>

#include "efivar/auth.h"
#include "efivar/esl.h"

using namespace bootseal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteSpan in(data, size);
  auto lists = efivar::parse_signature_lists(in);
  if (lists.ok()) {
    (void)efivar::dump_signature_lists(*lists);
    // Round trip: what we parse we can write back identically.
    auto out = efivar::write_signature_lists(*lists);
    if (!out.ok() || *out != Bytes(in.begin(), in.end())) __builtin_trap();
  }
  auto auth = efivar::parse_auth2(in);
  if (auth.ok()) {
    (void)efivar::dump_auth2(*auth);
    (void)efivar::parse_signature_lists(auth->Data);
    (void)crypto::pkcs7_parse(auth->CertData);
    (void)efivar::verify_auth2("db", efivar::kEfiImageSecurityDatabase, efivar::kSecureBootVariableAttributes, *auth,
                               {});
  }
  return 0;
}
