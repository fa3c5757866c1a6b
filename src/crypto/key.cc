#include "crypto/key.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <cstdlib>

#include "crypto/openssl_util.h"

namespace bootseal::crypto {

std::string openssl_error() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    const char* reason = ERR_reason_error_string(e);
    if (!out.empty()) out += "; ";
    out += reason ? reason : buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

Result<KeyType> parse_key_type(std::string_view name) {
  if (name == "rsa2048") return KeyType::kRsa2048;
  if (name == "rsa4096") return KeyType::kRsa4096;
  if (name == "ec-p256") return KeyType::kEcP256;
  return input_error("unknown key type '{}' (expected rsa2048, rsa4096 or ec-p256)", name);
}

std::string_view key_type_name(KeyType type) {
  switch (type) {
    case KeyType::kRsa2048: return "rsa2048";
    case KeyType::kRsa4096: return "rsa4096";
    case KeyType::kEcP256: return "ec-p256";
  }
  return "?";
}

const EVP_MD* evp_md(HashAlg alg) {
  switch (alg) {
    case HashAlg::kSha1: return EVP_sha1();
    case HashAlg::kSha256: return EVP_sha256();
    case HashAlg::kSha384: return EVP_sha384();
    case HashAlg::kSha512: return EVP_sha512();
  }
  return EVP_sha256();
}

Bytes spki_der(EVP_PKEY* pkey) {
  int n = i2d_PUBKEY(pkey, nullptr);
  if (n <= 0) return {};
  Bytes out(static_cast<size_t>(n));
  uint8_t* p = out.data();
  i2d_PUBKEY(pkey, &p);
  return out;
}

Result<PrivateKey> PrivateKey::generate(KeyType type) {
  EVP_PKEY* pkey = nullptr;
  switch (type) {
    case KeyType::kRsa2048: pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}); break;
    case KeyType::kRsa4096: pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{4096}); break;
    case KeyType::kEcP256: pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
  }
  if (!pkey) return internal_error("generating a {} key: {}", key_type_name(type), openssl_error());
  auto impl = std::make_shared<Impl>();
  impl->pkey.reset(pkey);
  return PrivateKey(std::move(impl), fmt::format("new {} key", key_type_name(type)));
}

Result<PrivateKey> PrivateKey::from_pem(ByteSpan pem, std::string_view what) {
  if (pem.size() > INT32_MAX) return input_error("{}: too large for a key", what);
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  // A null password callback that fails: encrypted keys are refused rather than prompting.
  auto no_pass = [](char*, int, int, void*) -> int { return -1; };
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_pass, nullptr);
  if (!pkey) {
    std::string why = openssl_error();
    return input_error("{}: not an unencrypted PEM private key ({})", what, why);
  }
  auto impl = std::make_shared<Impl>();
  impl->pkey.reset(pkey);
  int id = EVP_PKEY_get_base_id(pkey);
  if (id != EVP_PKEY_RSA && id != EVP_PKEY_EC)
    return unsupported_error("{}: only RSA and EC keys are supported", what);
  return PrivateKey(std::move(impl), std::string(what));
}

std::string PrivateKey::to_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), impl_->pkey.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string PrivateKey::algorithm() const {
  EVP_PKEY* k = impl_->pkey.get();
  if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA) return fmt::format("RSA {}", EVP_PKEY_get_bits(k));
  char group[64] = {0};
  size_t glen = 0;
  EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen);
  return fmt::format("EC {}", group);
}

Bytes PrivateKey::public_key_der() const { return spki_der(impl_->pkey.get()); }

SignatureScheme PrivateKey::scheme() const {
  return EVP_PKEY_get_base_id(impl_->pkey.get()) == EVP_PKEY_RSA ? SignatureScheme::kRsaPkcs1v15
                                                                 : SignatureScheme::kEcdsa;
}

Result<Bytes> PrivateKey::sign_digest(HashAlg alg, ByteSpan dig) const {
  if (dig.size() != digest_size(alg)) return internal_error("digest of {} bytes for {}", dig.size(), hash_name(alg));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new(impl_->pkey.get(), nullptr));
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_signature_md(ctx.get(), evp_md(alg)) != 1)
    return internal_error("{}: preparing to sign: {}", what_, openssl_error());
  if (scheme() == SignatureScheme::kRsaPkcs1v15 && EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1)
    return internal_error("{}: setting PKCS#1 padding: {}", what_, openssl_error());
  size_t len = 0;
  if (EVP_PKEY_sign(ctx.get(), nullptr, &len, dig.data(), dig.size()) != 1)
    return internal_error("{}: signing: {}", what_, openssl_error());
  Bytes sig(len);
  if (EVP_PKEY_sign(ctx.get(), sig.data(), &len, dig.data(), dig.size()) != 1)
    return internal_error("{}: signing: {}", what_, openssl_error());
  sig.resize(len);
  return sig;
}

Result<bool> verify_signature(ByteSpan public_key_der, HashAlg alg, ByteSpan message, ByteSpan signature) {
  const uint8_t* p = public_key_der.data();
  PkeyPtr pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(public_key_der.size())));
  if (!pkey) return input_error("invalid public key: {}", openssl_error());
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, evp_md(alg), nullptr, pkey.get()) != 1)
    return internal_error("verify init: {}", openssl_error());
  int r = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(), message.size());
  ERR_clear_error();
  return r == 1;
}

Bytes random_bytes(size_t n) {
  Bytes out(n);
  if (n && RAND_bytes(out.data(), static_cast<int>(n)) != 1) std::abort();  // no entropy: nothing safe to do
  return out;
}

}  // namespace bootseal::crypto
