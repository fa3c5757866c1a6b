#include "crypto/kdf.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>

namespace bootseal::crypto {
namespace {
const EVP_MD* md(HashAlg alg) {
  switch (alg) {
    case HashAlg::kSha1: return EVP_sha1();
    case HashAlg::kSha256: return EVP_sha256();
    case HashAlg::kSha384: return EVP_sha384();
    case HashAlg::kSha512: return EVP_sha512();
  }
  std::abort();
}
}  // namespace

Bytes hmac(HashAlg alg, ByteSpan key, ByteSpan data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned len = 0;
  if (!HMAC(md(alg), key.data(), static_cast<int>(key.size()), data.data(), data.size(), out.data(), &len))
    std::abort();  // only fails on allocation failure
  out.resize(len);
  return out;
}

Bytes pbkdf2_hmac(HashAlg alg, ByteSpan password, ByteSpan salt, unsigned iterations, size_t out_len) {
  Bytes out(out_len);
  if (PKCS5_PBKDF2_HMAC(reinterpret_cast<const char*>(password.data()), static_cast<int>(password.size()), salt.data(),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), md(alg),
                        static_cast<int>(out_len), out.data()) != 1)
    std::abort();
  return out;
}

}  // namespace bootseal::crypto
