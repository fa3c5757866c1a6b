#include "crypto/pem.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "crypto/key.h"

namespace bootseal::crypto {

std::string base64_encode(ByteSpan data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(), static_cast<int>(data.size()));
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

Result<Bytes> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return input_error("invalid base64: length {} is not a multiple of 4", text.size());
  Bytes out(text.size() / 4 * 3);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return input_error("invalid base64");
  size_t len = static_cast<size_t>(n);
  if (!text.empty() && text.back() == '=') len--;
  if (text.size() >= 2 && text[text.size() - 2] == '=') len--;
  out.resize(len);
  return out;
}

std::string public_key_pem(ByteSpan spki_der) {
  std::string b64 = base64_encode(spki_der);
  std::string out = "-----BEGIN PUBLIC KEY-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) {
    out.append(b64, i, 64);
    out.push_back('\n');
  }
  out += "-----END PUBLIC KEY-----\n";
  return out;
}

Result<Bytes> public_key_der_from_pem(ByteSpan pem, std::string_view what) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) return internal_error("BIO_new_mem_buf failed");
  EVP_PKEY* pkey = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!pkey) return input_error("{}: not a PEM public key ({})", what, openssl_error());
  int n = i2d_PUBKEY(pkey, nullptr);
  Bytes out(n > 0 ? static_cast<size_t>(n) : 0);
  uint8_t* p = out.data();
  if (n > 0) i2d_PUBKEY(pkey, &p);
  EVP_PKEY_free(pkey);
  if (n <= 0) return input_error("{}: cannot encode the public key", what);
  return out;
}

}  // namespace bootseal::crypto

namespace bootseal::crypto {
Result<Bytes> raw_public_key_der(ByteSpan spki_der) {
  const unsigned char* p = spki_der.data();
  EVP_PKEY* pkey = d2i_PUBKEY(nullptr, &p, static_cast<long>(spki_der.size()));
  if (!pkey) return input_error("not a DER public key ({})", openssl_error());
  int n = i2d_PublicKey(pkey, nullptr);
  Bytes out(n > 0 ? static_cast<size_t>(n) : 0);
  unsigned char* q = out.data();
  if (n > 0) i2d_PublicKey(pkey, &q);
  EVP_PKEY_free(pkey);
  if (n <= 0) return input_error("cannot encode the public key");
  return out;
}
}  // namespace bootseal::crypto
