#include "crypto/key.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/store.h>
#include <openssl/ui.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <cstring>
#include <vector>

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
  return from_pem(pem, what, std::nullopt, false);
}

namespace {

struct PassState {
  const std::optional<std::string>* given;
  bool prompt;
  std::string what;
  bool asked = false;     // the key is encrypted: a passphrase was needed
  bool prompted = false;  // ... and read from the terminal
};

// PEM password callback: the given passphrase, else the terminal, else none.
int pem_pass(char* buf, int size, int, void* u) {
  auto* st = static_cast<PassState*>(u);
  st->asked = true;
  std::string pw;
  if (*st->given) {
    pw = **st->given;
  } else if (st->prompt) {
    std::string prompt = "Passphrase for " + st->what + ": ";
    std::vector<char> tmp(static_cast<size_t>(size) + 1);
    if (EVP_read_pw_string(tmp.data(), size, prompt.c_str(), 0) != 0) return -1;
    st->prompted = true;
    pw = tmp.data();
  } else {
    return -1;
  }
  if (pw.size() > static_cast<size_t>(size)) return -1;
  std::memcpy(buf, pw.data(), pw.size());
  return static_cast<int>(pw.size());
}

}  // namespace

Result<PrivateKey> PrivateKey::from_pem(ByteSpan pem, std::string_view what, const std::optional<std::string>& passphrase,
                                        bool prompt) {
  if (pem.size() > INT32_MAX) return input_error("{}: too large for a key", what);
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PassState st{&passphrase, prompt, std::string(what)};
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, pem_pass, &st);
  if (!pkey) {
    std::string why = openssl_error();
    if (st.asked && !passphrase && !st.prompted)
      return input_error("{}: the key is encrypted: give its passphrase with --key-passphrase-file FILE "
                         "(or run on a terminal to be asked)", what);
    if (st.asked) return input_error("{}: wrong passphrase for the encrypted key", what);
    return input_error("{}: not a PEM private key ({})", what, why);
  }
  auto impl = std::make_shared<Impl>();
  impl->pkey.reset(pkey);
  int id = EVP_PKEY_get_base_id(pkey);
  if (id != EVP_PKEY_RSA && id != EVP_PKEY_EC)
    return unsupported_error("{}: only RSA and EC keys are supported", what);
  return PrivateKey(std::move(impl), std::string(what));
}

Result<PrivateKey> PrivateKey::from_pkcs11_uri(const std::string& uri) {
  // Loading a provider explicitly turns off the implicit default one: load both,
  // once. pkcs11-provider reads its module from PKCS11_PROVIDER_MODULE.
  static OSSL_PROVIDER* pkcs11 = nullptr;
  static std::string load_error;
  static bool tried = false;
  if (!tried) {
    tried = true;
    if (!OSSL_PROVIDER_load(nullptr, "default")) load_error = "the default provider: " + openssl_error();
    pkcs11 = OSSL_PROVIDER_load(nullptr, "pkcs11");
    if (!pkcs11) load_error = "OpenSSL's pkcs11 provider (Debian package pkcs11-provider): " + openssl_error();
  }
  if (!pkcs11) return unsupported_error("{}: cannot load {}", uri, load_error);
  OSSL_STORE_CTX* store = OSSL_STORE_open_ex(uri.c_str(), nullptr, nullptr, UI_get_default_method(), nullptr,
                                             nullptr, nullptr, nullptr);
  if (!store) return input_error("{}: cannot open the PKCS#11 URI ({})", uri, openssl_error());
  OSSL_STORE_expect(store, OSSL_STORE_INFO_PKEY);
  EVP_PKEY* pkey = nullptr;
  while (!pkey && !OSSL_STORE_eof(store)) {
    OSSL_STORE_INFO* info = OSSL_STORE_load(store);
    if (!info) break;
    if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY) pkey = OSSL_STORE_INFO_get1_PKEY(info);
    OSSL_STORE_INFO_free(info);
  }
  OSSL_STORE_close(store);
  if (!pkey) {
    std::string why = openssl_error();
    return input_error("{}: no private key found in the token ({})", uri, why);
  }
  auto impl = std::make_shared<Impl>();
  impl->pkey.reset(pkey);
  int id = EVP_PKEY_get_base_id(pkey);
  if (id != EVP_PKEY_RSA && id != EVP_PKEY_EC && !EVP_PKEY_is_a(pkey, "RSA") && !EVP_PKEY_is_a(pkey, "EC"))
    return unsupported_error("{}: only RSA and EC keys are supported", uri);
  return PrivateKey(std::move(impl), "PKCS#11 key " + uri);
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
  if (EVP_PKEY_is_a(k, "RSA")) return fmt::format("RSA {}", EVP_PKEY_get_bits(k));
  char group[64] = {0};
  size_t glen = 0;
  EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen);
  return fmt::format("EC {}", group);
}

Bytes PrivateKey::public_key_der() const { return spki_der(impl_->pkey.get()); }

SignatureScheme PrivateKey::scheme() const {
  return EVP_PKEY_is_a(impl_->pkey.get(), "RSA") ? SignatureScheme::kRsaPkcs1v15
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
