#include "crypto/xts.h"

#include <openssl/evp.h>

#include <memory>

namespace bootseal::crypto {

Status aes_xts_plain64(bool encrypt, ByteSpan key, uint64_t first_sector, size_t sector_size,
                       std::span<uint8_t> data) {
  const EVP_CIPHER* c = key.size() == 64 ? EVP_aes_256_xts() : key.size() == 32 ? EVP_aes_128_xts() : nullptr;
  if (!c) return input_error("AES-XTS key of {} bytes (expected 32 or 64)", key.size());
  if (sector_size < 16 || data.size() % sector_size)
    return input_error("AES-XTS: {} bytes is not a whole number of {}-byte sectors", data.size(), sector_size);
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  if (!ctx || EVP_CipherInit_ex(ctx.get(), c, nullptr, key.data(), nullptr, encrypt ? 1 : 0) != 1)
    return internal_error("AES-XTS: cipher init failed (identical key halves?)");
  uint8_t iv[16];
  for (size_t off = 0; off < data.size(); off += sector_size) {
    uint64_t s = first_sector + off / sector_size;
    for (int i = 0; i < 16; i++) iv[i] = i < 8 ? static_cast<uint8_t>(s >> (8 * i)) : 0;
    int n = 0;
    if (EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, nullptr, iv, -1) != 1 ||
        EVP_CipherUpdate(ctx.get(), data.data() + off, &n, data.data() + off, static_cast<int>(sector_size)) != 1 ||
        static_cast<size_t>(n) != sector_size)
      return internal_error("AES-XTS: sector {} failed", s);
  }
  return {};
}

}  // namespace bootseal::crypto
