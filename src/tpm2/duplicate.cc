#include "tpm2/duplicate.h"

#include "crypto/ecdh.h"
#include "crypto/hash.h"
#include "crypto/kdf.h"
#include "tpm2/pcr.h"
#include "tpm2/policy.h"

namespace bootseal::tpm2 {

using crypto::HashAlg;

namespace {
void be32(Bytes& b, uint32_t v) {
  for (int i = 3; i >= 0; i--) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void be16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void append(Bytes& b, ByteSpan s) { b.insert(b.end(), s.begin(), s.end()); }
void tpm2b(Bytes& b, ByteSpan s) {
  be16(b, static_cast<uint16_t>(s.size()));
  append(b, s);
}
Bytes label_bytes(std::string_view l) {
  Bytes b(l.begin(), l.end());
  b.push_back(0);
  return b;
}
}  // namespace

Bytes kdfa_sha256(ByteSpan key, std::string_view label, ByteSpan u, ByteSpan v, size_t bits) {
  Bytes out;
  for (uint32_t i = 1; out.size() * 8 < bits; i++) {
    Bytes msg;
    be32(msg, i);
    append(msg, label_bytes(label));
    append(msg, u);
    append(msg, v);
    be32(msg, static_cast<uint32_t>(bits));
    append(out, crypto::hmac(HashAlg::kSha256, key, msg));
  }
  out.resize((bits + 7) / 8);
  return out;
}

Bytes kdfe_sha256(ByteSpan z, std::string_view label, ByteSpan u, ByteSpan v, size_t bits) {
  Bytes out;
  for (uint32_t i = 1; out.size() * 8 < bits; i++) {
    Bytes msg;
    be32(msg, i);
    append(msg, z);
    append(msg, label_bytes(label));
    append(msg, u);
    append(msg, v);
    append(out, crypto::digest(HashAlg::kSha256, msg));
  }
  out.resize((bits + 7) / 8);
  return out;
}

Bytes EccStorageKey::name() const {
  Bytes n;
  be16(n, kAlgSha256);
  append(n, crypto::digest(HashAlg::kSha256, tpmt_public));
  return n;
}

Result<EccStorageKey> parse_ecc_storage_key(ByteSpan pub) {
  ByteReader r(pub);
  auto u16 = [&](const char* what) -> Result<uint16_t> {
    auto b = BS_TRY(r.bytes(2, what));
    return static_cast<uint16_t>(b[0] << 8 | b[1]);
  };
  uint16_t size = BS_TRY(u16("TPM2B_PUBLIC size"));
  if (size != pub.size() - 2) return input_error("SRK public key: TPM2B_PUBLIC size {} but {} bytes", size, pub.size() - 2);
  EccStorageKey k;
  k.tpmt_public.assign(pub.begin() + 2, pub.end());
  if (BS_TRY(u16("type")) != 0x0023) return input_error("SRK public key: not an ECC key");
  if (BS_TRY(u16("nameAlg")) != kAlgSha256) return input_error("SRK public key: nameAlg is not sha256");
  auto attrs = BS_TRY(r.bytes(4, "objectAttributes"));
  uint32_t a = static_cast<uint32_t>(attrs[0]) << 24 | attrs[1] << 16 | attrs[2] << 8 | attrs[3];
  if (!(a & 0x00010000) || !(a & 0x00020000)) return input_error("SRK public key: not a restricted decryption key");
  uint16_t policy = BS_TRY(u16("authPolicy"));
  BS_TRY(r.bytes(policy, "authPolicy"));
  if (BS_TRY(u16("symmetric")) != 0x0006 || BS_TRY(u16("keyBits")) != 128 || BS_TRY(u16("mode")) != 0x0043)
    return input_error("SRK public key: symmetric is not AES-128-CFB");
  if (BS_TRY(u16("scheme")) != kAlgNull) return input_error("SRK public key: scheme is not NULL");
  if (BS_TRY(u16("curveID")) != 0x0003) return input_error("SRK public key: curve is not NIST P-256");
  if (BS_TRY(u16("kdf")) != kAlgNull) return input_error("SRK public key: kdf is not NULL");
  uint16_t xs = BS_TRY(u16("x"));
  auto x = BS_TRY(r.bytes(xs, "x"));
  uint16_t ys = BS_TRY(u16("y"));
  auto y = BS_TRY(r.bytes(ys, "y"));
  if (xs != 32 || ys != 32) return input_error("SRK public key: point coordinates are not 32 bytes");
  if (r.pos() != pub.size()) return input_error("SRK public key: {} trailing bytes", pub.size() - r.pos());
  k.x.assign(x.begin(), x.end());
  k.y.assign(y.begin(), y.end());
  return k;
}

Bytes serialize_persistent(uint32_t handle, const EccStorageKey& key) {
  Bytes b;
  be32(b, handle);
  tpm2b(b, key.name());
  be32(b, 1);  // IESYSC_KEY_RSRC
  tpm2b(b, key.tpmt_public);
  return b;
}

Result<Bytes> public_of_serialized(ByteSpan s) {
  ByteReader r(s);
  BS_TRY(r.bytes(4, "handle"));
  auto ns = BS_TRY(r.bytes(2, "name size"));
  BS_TRY(r.bytes(static_cast<size_t>(ns[0] << 8 | ns[1]), "name"));
  BS_TRY(r.bytes(4, "resource type"));
  return Bytes(s.begin() + static_cast<std::ptrdiff_t>(r.pos()), s.end());
}

SealedBlob seal_offline_blob(const EccStorageKey& srk, ByteSpan policy, ByteSpan secret, std::optional<Bytes> auth,
                             ByteSpan obfuscation, ByteSpan ex, ByteSpan ey, ByteSpan z) {
  // The object's public area (TPMT_PUBLIC of a KEYEDHASH object).
  Bytes unique_in(obfuscation.begin(), obfuscation.end());
  append(unique_in, secret);
  Bytes pub;
  be16(pub, kAlgKeyedHash);
  be16(pub, kAlgSha256);
  be32(pub, 0);  // no fixedTPM/fixedParent (an imported object), no userWithAuth: policy only
  tpm2b(pub, policy);
  be16(pub, kAlgNull);  // TPMT_KEYEDHASH_SCHEME: NULL
  tpm2b(pub, crypto::digest(HashAlg::kSha256, unique_in));
  Bytes name;
  be16(name, kAlgSha256);
  append(name, crypto::digest(HashAlg::kSha256, pub));

  // TPM2B_SENSITIVE { TPMT_SENSITIVE { type, authValue, seedValue, sensitive } }.
  Bytes sens;
  be16(sens, kAlgKeyedHash);
  tpm2b(sens, auth.value_or(Bytes{}));
  tpm2b(sens, obfuscation);
  tpm2b(sens, secret);
  Bytes sens2b;
  tpm2b(sens2b, sens);

  // Seed from ECDH with the SRK, then the outer wrapper.
  Bytes seed = kdfe_sha256(z, "DUPLICATE", ex, srk.x, 256);
  Bytes sym_key = kdfa_sha256(seed, "STORAGE", name, {}, 128);
  Bytes hmac_key = kdfa_sha256(seed, "INTEGRITY", {}, {}, 256);
  Bytes enc = *crypto::aes_cfb_encrypt(sym_key, Bytes(16, 0), sens2b);  // sizes are ours: cannot fail
  Bytes mac_in = enc;
  append(mac_in, name);
  Bytes mac = crypto::hmac(HashAlg::kSha256, hmac_key, mac_in);
  Bytes dup;
  tpm2b(dup, mac);
  append(dup, enc);

  SealedBlob out;
  tpm2b(out.private_part, dup);
  tpm2b(out.public_part, pub);
  Bytes point;
  tpm2b(point, ex);
  tpm2b(point, ey);
  tpm2b(out.seed, point);
  return out;
}

}  // namespace bootseal::tpm2
