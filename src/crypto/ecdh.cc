#include "crypto/ecdh.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <memory>

#include "crypto/key.h"

namespace bootseal::crypto {
namespace {
template <auto F>
struct Del {
  template <typename T>
  void operator()(T* p) const { F(p); }
};
using Group = std::unique_ptr<EC_GROUP, Del<EC_GROUP_free>>;
using Point = std::unique_ptr<EC_POINT, Del<EC_POINT_free>>;
using Bn = std::unique_ptr<BIGNUM, Del<BN_free>>;
using Ctx = std::unique_ptr<BN_CTX, Del<BN_CTX_free>>;

Bytes bn_bytes(const BIGNUM* b, size_t n) {
  Bytes out(n);
  BN_bn2binpad(b, out.data(), static_cast<int>(n));
  return out;
}
}  // namespace

Result<EcdhP256> ecdh_p256_ephemeral(ByteSpan peer_x, ByteSpan peer_y) {
  Group g(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  Ctx ctx(BN_CTX_new());
  if (!g || !ctx) return internal_error("P-256: {}", openssl_error());
  Bn px(BN_bin2bn(peer_x.data(), static_cast<int>(peer_x.size()), nullptr));
  Bn py(BN_bin2bn(peer_y.data(), static_cast<int>(peer_y.size()), nullptr));
  Point peer(EC_POINT_new(g.get()));
  if (!px || !py || !peer || EC_POINT_set_affine_coordinates(g.get(), peer.get(), px.get(), py.get(), ctx.get()) != 1 ||
      EC_POINT_is_on_curve(g.get(), peer.get(), ctx.get()) != 1)
    return input_error("the SRK's public point is not on P-256");
  Bn d(BN_new());
  const BIGNUM* order = EC_GROUP_get0_order(g.get());
  if (!d || BN_priv_rand_range(d.get(), order) != 1 || BN_is_zero(d.get()))
    return internal_error("P-256 key: {}", openssl_error());
  Point q(EC_POINT_new(g.get())), z(EC_POINT_new(g.get()));
  if (!q || !z || EC_POINT_mul(g.get(), q.get(), d.get(), nullptr, nullptr, ctx.get()) != 1 ||
      EC_POINT_mul(g.get(), z.get(), nullptr, peer.get(), d.get(), ctx.get()) != 1)
    return internal_error("P-256 ECDH: {}", openssl_error());
  Bn qx(BN_new()), qy(BN_new()), zx(BN_new()), zy(BN_new());
  if (EC_POINT_get_affine_coordinates(g.get(), q.get(), qx.get(), qy.get(), ctx.get()) != 1 ||
      EC_POINT_get_affine_coordinates(g.get(), z.get(), zx.get(), zy.get(), ctx.get()) != 1)
    return internal_error("P-256 ECDH: {}", openssl_error());
  return EcdhP256{bn_bytes(qx.get(), 32), bn_bytes(qy.get(), 32), bn_bytes(zx.get(), 32)};
}

namespace {
Result<Bytes> aes_cfb(ByteSpan key, ByteSpan iv, ByteSpan data, bool enc) {
  const EVP_CIPHER* c = key.size() == 16 ? EVP_aes_128_cfb128()
                        : key.size() == 24 ? EVP_aes_192_cfb128()
                        : key.size() == 32 ? EVP_aes_256_cfb128()
                                           : nullptr;
  if (!c || iv.size() != 16) return internal_error("AES-CFB: bad key or IV size");
  std::unique_ptr<EVP_CIPHER_CTX, Del<EVP_CIPHER_CTX_free>> ctx(EVP_CIPHER_CTX_new());
  Bytes out(data.size() + 16);
  int n = 0, m = 0;
  if (!ctx || EVP_CipherInit_ex(ctx.get(), c, nullptr, key.data(), iv.data(), enc ? 1 : 0) != 1 ||
      EVP_CipherUpdate(ctx.get(), out.data(), &n, data.data(), static_cast<int>(data.size())) != 1 ||
      EVP_CipherFinal_ex(ctx.get(), out.data() + n, &m) != 1)
    return internal_error("AES-CFB: {}", openssl_error());
  out.resize(static_cast<size_t>(n + m));
  return out;
}
}  // namespace

Result<Bytes> aes_cfb_encrypt(ByteSpan key, ByteSpan iv, ByteSpan data) { return aes_cfb(key, iv, data, true); }
Result<Bytes> aes_cfb_decrypt(ByteSpan key, ByteSpan iv, ByteSpan data) { return aes_cfb(key, iv, data, false); }

}  // namespace bootseal::crypto
