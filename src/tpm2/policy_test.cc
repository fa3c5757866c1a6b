// Golden values measured with systemd 254.26 (systemd-cryptenroll, systemd-measure) and
// tpm2-tools 5.4 on swtpm; the inputs are tests/data/vectors/tpm2/ (see its README).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "base/hex.h"
#include "crypto/key.h"
#include "crypto/pem.h"
#include "tpm2/pcrsig.h"
#include "tpm2/policy.h"
#include "tpm2/recovery_key.h"
#include "tpm2/token.h"

namespace bootseal::tpm2 {
namespace {

using crypto::HashAlg;

std::string slurp(const std::string& name) {
  std::ifstream f(std::string(BOOTSEAL_VECTORS_DIR) + "/tpm2/" + name, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Bytes pcr_pub_spki() {
  std::string pem = slurp("tpm2-pcr-public-key.pem");
  auto der = crypto::public_key_der_from_pem(as_bytes(pem), "pem");
  EXPECT_TRUE(der.ok());
  return der.ok() ? *der : Bytes{};
}

TEST(Policy, KeyNameAndFingerprint) {
  auto key = rsa_public_from_spki(pcr_pub_spki());
  ASSERT_TRUE(key.ok()) << key.error().message();
  EXPECT_EQ(key->modulus.size(), 256u);
  EXPECT_EQ(key->exponent, 65537u);  // marshalled as is (0 would give another name)
  Bytes name = rsa_key_name(*key);
  EXPECT_EQ(to_hex(name).substr(0, 8), "000b5bc4");  // tpm2_loadexternal -n, systemd 254's log
  auto fp = public_key_fingerprint(pcr_pub_spki());
  ASSERT_TRUE(fp.ok());
  // The pkfp in systemd-measure 254's signature JSON for this key.
  EXPECT_EQ(to_hex(*fp), "51d2aa3be7b44642aebefaaa7bba3cd97195328e4c550f2a86e306eae8db1539");
  EXPECT_EQ(to_hex(policy_authorize(name)).substr(0, 8), "0c0aebf9");
}

TEST(Policy, SealingPoliciesOfSystemd254Tokens) {
  auto key = rsa_public_from_spki(pcr_pub_spki());
  ASSERT_TRUE(key.ok());
  SealingPolicy p;
  p.pcr_mask = 1u << 7;
  p.pcr_values = {Bytes(32, 0)};  // swtpm's PCR 7 when systemd-cryptenroll enrolled them
  // token0: PolicyPCR(7)
  EXPECT_EQ(to_hex(*sealing_policy_digest(p)), "8b5682d81b29435d08d79278150611dc7e5923b2fefcce684a09577b40130a8b");
  // token2: PolicyPCR(7) + PolicyAuthValue
  p.pin = true;
  EXPECT_EQ(to_hex(*sealing_policy_digest(p)), "b8db92fae7c1e0c588e7352d2fc10f27c7b384e32f706a520cb10bf7ffee8970");
  // token1: PolicyAuthorize(PCR key) + PolicyPCR(7)
  p.pin = false;
  p.pubkey_name = rsa_key_name(*key);
  EXPECT_EQ(to_hex(*sealing_policy_digest(p)), "37918e95107424f58a3e023b59d466d4bdbefc40d99a3303c4bfebc446a89a3a");
  // Each digest equals the token's own tpm2-policy-hash.
  for (auto [file, pin, signed_] : {std::tuple{"systemd254-token0.json", false, false},
                                    std::tuple{"systemd254-token1.json", false, true},
                                    std::tuple{"systemd254-token2.json", true, false}}) {
    auto t = parse_tpm2_token(slurp(file));
    ASSERT_TRUE(t.ok()) << file << ": " << t.error().message();
    EXPECT_EQ(t->uses_pin(), pin) << file;
    EXPECT_EQ(t->pubkey_pcr_mask() != 0, signed_) << file;
    SealingPolicy q;
    q.pcr_mask = pcr_mask_of(t->pcrs);
    q.pcr_values = {Bytes(32, 0)};
    q.pin = t->uses_pin();
    if (t->pubkey_pem) {
      auto der = crypto::public_key_der_from_pem(as_bytes(*t->pubkey_pem), "token");
      ASSERT_TRUE(der.ok());
      q.pubkey_name = rsa_key_name(*rsa_public_from_spki(*der));
    }
    EXPECT_EQ(*sealing_policy_digest(q), t->policy_hashes[0]) << file;
  }
}

TEST(Policy, PcrSignatureIsRsaPkcs1OverPol) {
  auto doc = parse_pcrsig(slurp("tpm2-pcr-signature.json"));
  ASSERT_TRUE(doc.ok());
  ASSERT_EQ(doc->banks.size(), 1u);
  auto fp = *public_key_fingerprint(pcr_pub_spki());
  for (auto& e : doc->banks[0].entries) {
    EXPECT_EQ(e.pkfp, fp);
    auto ok = crypto::verify_signature(pcr_pub_spki(), HashAlg::kSha256, e.pol, e.sig);
    ASSERT_TRUE(ok.ok());
    EXPECT_TRUE(*ok);
    Bytes bad = e.pol;
    bad[0] ^= 1;
    EXPECT_FALSE(*crypto::verify_signature(pcr_pub_spki(), HashAlg::kSha256, bad, e.sig));
  }
  EXPECT_EQ(to_hex(doc->banks[0].entries[0].pol), "6ff5a3249cafe1ff61733d8a0121b0e906b9adf77c94a7d4f28a214116d755c4");
}

TEST(Policy, NotRsa) {
  auto ec = crypto::PrivateKey::generate(crypto::KeyType::kEcP256);
  ASSERT_TRUE(ec.ok());
  EXPECT_FALSE(rsa_public_from_spki(ec->public_key_der()).ok());
  EXPECT_FALSE(rsa_public_from_spki(Bytes{1, 2, 3}).ok());
}

TEST(Policy, PinAuthValue) {
  // Without a salt the authValue is SHA256(pin), trailing zeros trimmed.
  EXPECT_EQ(pin_auth_value("1234", {}), crypto::digest(HashAlg::kSha256, std::string_view("1234")));
  Bytes salt(32, 7);
  Bytes a = pin_auth_value("1234", salt);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, pin_auth_value("1235", salt));
  EXPECT_NE(a, pin_auth_value("1234", Bytes(32, 8)));
  EXPECT_EQ(passphrase_from_secret(Bytes(32, 0)), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
}

TEST(RecoveryKey, FormatAndNormalize) {
  EXPECT_EQ(format_recovery_key(Bytes(32, 0)),
            "cccccccc-cccccccc-cccccccc-cccccccc-cccccccc-cccccccc-cccccccc-cccccccc");
  Bytes seq;
  for (int i = 0; i < 32; i++) seq.push_back(static_cast<uint8_t>(i * 8 + 1));
  std::string k = format_recovery_key(seq);
  ASSERT_EQ(k.size(), kRecoveryKeyFormattedSize);
  EXPECT_EQ(k.substr(0, 9), "cbckbbbk-");  // 0x01 0x09 0x11 0x19: high nibble first
  EXPECT_EQ(*decode_recovery_key(k), seq);
  // The key systemd-cryptenroll 254 printed (it unlocked its slot with cryptsetup).
  const std::string sample = "cfhlrjuh-fcdkdfrl-vdvecdkb-hjugtici-rukgnjjr-btvudbek-ldrjkljn-dbhvgbvv";
  EXPECT_EQ(*normalize_recovery_key(sample), sample);
  std::string nodash, upper;
  for (char c : sample)
    if (c != '-') nodash += c;
  for (char c : sample) upper += static_cast<char>(c == '-' ? c : c - 32);
  EXPECT_EQ(*normalize_recovery_key(nodash), sample);
  EXPECT_EQ(*normalize_recovery_key(upper), sample);
  EXPECT_EQ(format_recovery_key(*decode_recovery_key(sample)), sample);
  EXPECT_FALSE(normalize_recovery_key(sample.substr(1)).ok());
  std::string bad = sample;
  bad[8] = 'c';
  bad[9] = '-';
  EXPECT_FALSE(normalize_recovery_key(bad).ok());
  bad = sample;
  bad[0] = 'a';  // not modhex
  EXPECT_FALSE(normalize_recovery_key(bad).ok());
  EXPECT_EQ(format_recovery_key(Bytes(31, 0)), "");
}

}  // namespace
}  // namespace bootseal::tpm2

namespace bootseal::tpm2 {
namespace {

TEST(FindSignature, SystemdOrderAndMessages) {
  auto doc = parse_pcrsig(slurp("tpm2-pcr-signature.json"));
  ASSERT_TRUE(doc.ok());
  auto fp = *public_key_fingerprint(pcr_pub_spki());
  auto& entries = doc->banks[0].entries;
  auto hit = find_signature(*doc, HashAlg::kSha256, 1u << 11, fp, entries[1].pol);
  ASSERT_TRUE(hit.ok());
  EXPECT_EQ(hit->sig, entries[1].sig);
  auto miss = [&](HashAlg bank, uint32_t mask, ByteSpan pkfp, ByteSpan pol) {
    auto r = find_signature(*doc, bank, mask, pkfp, pol);
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.error().message();
  };
  EXPECT_NE(miss(HashAlg::kSha1, 1u << 11, fp, entries[0].pol).find("sha1 bank"), std::string::npos);
  EXPECT_NE(miss(HashAlg::kSha256, 1u << 7, fp, entries[0].pol).find("PCR set"), std::string::npos);
  Bytes other_fp(32, 1);
  EXPECT_NE(miss(HashAlg::kSha256, 1u << 11, other_fp, entries[0].pol).find("made with the token's PCR key"),
            std::string::npos);
  Bytes other_pol(32, 2);
  EXPECT_NE(miss(HashAlg::kSha256, 1u << 11, fp, other_pol).find("matches the current PCR values"), std::string::npos);
}

}  // namespace
}  // namespace bootseal::tpm2

#include "tpm2/duplicate.h"

namespace bootseal::tpm2 {
namespace {

TEST(Offline, SerializedSrkOfSystemd254) {
  auto t = parse_tpm2_token(slurp("systemd254-token1.json"));
  ASSERT_TRUE(t.ok());
  auto pub = public_of_serialized(*t->srk);
  ASSERT_TRUE(pub.ok());
  auto key = parse_ecc_storage_key(*pub);
  ASSERT_TRUE(key.ok()) << key.error().message();
  // The SRK name systemd persisted (tpm2_createprimary with the same template gives it too).
  EXPECT_EQ(to_hex(key->name()).substr(0, 12), "000b24bdc1c8");
  // Our serialization of it is systemd's tpm2_srk byte for byte.
  EXPECT_EQ(serialize_persistent(0x81000001, *key), *t->srk);
  Bytes bad = *pub;
  bad[3] ^= 1;  // type
  EXPECT_FALSE(parse_ecc_storage_key(bad).ok());
  EXPECT_FALSE(parse_ecc_storage_key(Bytes(pub->begin(), pub->end() - 1)).ok());
}

TEST(Offline, Kdfs) {
  // KDFa output length and counter mode: the first 32 bytes are one HMAC block.
  Bytes key(32, 1);
  Bytes a = kdfa_sha256(key, "STORAGE", Bytes{1, 2}, {}, 128);
  EXPECT_EQ(a.size(), 16u);
  EXPECT_EQ(kdfa_sha256(key, "STORAGE", Bytes{1, 2}, {}, 512).size(), 64u);
  EXPECT_NE(kdfa_sha256(key, "INTEGRITY", {}, {}, 256), kdfa_sha256(key, "STORAGE", {}, {}, 256));
  EXPECT_EQ(kdfe_sha256(key, "DUPLICATE", {}, {}, 256).size(), 32u);
}

}  // namespace
}  // namespace bootseal::tpm2
