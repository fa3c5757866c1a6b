#include "crypto/hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstdlib>

namespace bootseal::crypto {
namespace {

// Fetched once: EVP_MD_fetch is costly, and per-block hashing must not pay for it.
const EVP_MD* md_for(HashAlg alg) {
  static const EVP_MD* mds[4] = {
      EVP_MD_fetch(nullptr, "SHA1", nullptr),
      EVP_MD_fetch(nullptr, "SHA256", nullptr),
      EVP_MD_fetch(nullptr, "SHA384", nullptr),
      EVP_MD_fetch(nullptr, "SHA512", nullptr),
  };
  const EVP_MD* md = mds[static_cast<int>(alg)];
  if (!md) std::abort();  // OpenSSL without SHA-2 is not a supported configuration
  return md;
}

}  // namespace

size_t digest_size(HashAlg alg) {
  switch (alg) {
    case HashAlg::kSha1: return 20;
    case HashAlg::kSha256: return 32;
    case HashAlg::kSha384: return 48;
    case HashAlg::kSha512: return 64;
  }
  return 0;
}

size_t block_size(HashAlg alg) {
  return alg == HashAlg::kSha384 || alg == HashAlg::kSha512 ? 128 : 64;
}

std::string_view hash_name(HashAlg alg) {
  switch (alg) {
    case HashAlg::kSha1: return "sha1";
    case HashAlg::kSha256: return "sha256";
    case HashAlg::kSha384: return "sha384";
    case HashAlg::kSha512: return "sha512";
  }
  return "?";
}

Result<HashAlg> parse_hash_name(std::string_view name) {
  if (name == "sha1") return HashAlg::kSha1;
  if (name == "sha256") return HashAlg::kSha256;
  if (name == "sha384") return HashAlg::kSha384;
  if (name == "sha512") return HashAlg::kSha512;
  return input_error("unknown hash algorithm '{}' (expected sha1, sha256, sha384 or sha512)", name);
}

struct Hasher::Impl {
  EVP_MD_CTX* ctx = nullptr;
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Hasher::Hasher(HashAlg alg) : alg_(alg), impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  if (!impl_->ctx) std::abort();
  reset();
}
Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::reset() {
  if (EVP_DigestInit_ex2(impl_->ctx, md_for(alg_), nullptr) != 1) std::abort();
}
void Hasher::update(ByteSpan data) {
  if (!data.empty()) EVP_DigestUpdate(impl_->ctx, data.data(), data.size());
}
void Hasher::finish(uint8_t* out) {
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, out, &len);
  reset();
}
Bytes Hasher::finish() {
  Bytes out(size());
  finish(out.data());
  return out;
}
void Hasher::copy_state_from(const Hasher& other) {
  if (EVP_MD_CTX_copy_ex(impl_->ctx, other.impl_->ctx) != 1) std::abort();
}

Bytes digest(HashAlg alg, ByteSpan data) {
  Bytes out(digest_size(alg));
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, md_for(alg), nullptr);
  return out;
}

std::string library_version() { return OpenSSL_version(OPENSSL_VERSION); }

}  // namespace bootseal::crypto
