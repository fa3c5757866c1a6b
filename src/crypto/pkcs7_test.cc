#include "crypto/pkcs7.h"

#include <gtest/gtest.h>

#include "crypto/der.h"

namespace bootseal::crypto {
namespace {

CertificateProfile profile(std::string cn, bool ca) {
  CertificateProfile p;
  p.subject = "CN=" + cn;
  p.not_before = 1700000000;
  p.not_after = 2000000000;
  p.serial = {0x81, 0x02, 0x03};
  p.ca = ca;
  p.code_signing = !ca;
  return p;
}

TEST(Der, OidRoundTrip) {
  Bytes o = *der::oid("1.3.6.1.4.1.311.2.1.4");
  EXPECT_EQ(o, (Bytes{0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x04}));
  der::Reader r(o);
  auto e = r.expect(der::kOid, "oid");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*der::oid_to_string(e->value), "1.3.6.1.4.1.311.2.1.4");
  EXPECT_FALSE(der::oid("1").ok());
  EXPECT_FALSE(der::oid("1..2").ok());
}

TEST(Der, LongLengthsAndTruncation) {
  Bytes v(300, 0xab);
  Bytes t = der::tlv(der::kOctetString, v);
  EXPECT_EQ(t[1], 0x82);
  der::Reader r(t);
  EXPECT_EQ(r.next("x")->value.size(), 300u);
  t.pop_back();
  der::Reader r2(t);
  EXPECT_FALSE(r2.next("x").ok());
}

TEST(Key, GenerateSignVerify) {
  for (KeyType kt : {KeyType::kRsa2048, KeyType::kEcP256}) {
    PrivateKey k = *PrivateKey::generate(kt);
    Bytes sig = *k.sign(HashAlg::kSha256, as_bytes("hello"));
    EXPECT_TRUE(*verify_signature(k.public_key_der(), HashAlg::kSha256, as_bytes("hello"), sig));
    EXPECT_FALSE(*verify_signature(k.public_key_der(), HashAlg::kSha256, as_bytes("hellp"), sig));
    PrivateKey k2 = *PrivateKey::from_pem(as_bytes(k.to_pem()), "pem");
    EXPECT_EQ(k2.public_key_der(), k.public_key_der());
  }
  EXPECT_FALSE(PrivateKey::from_pem(as_bytes("garbage"), "x").ok());
  EXPECT_FALSE(parse_key_type("rsa1024").ok());
}

TEST(X509, SelfSigned) {
  PrivateKey k = *PrivateKey::generate(KeyType::kEcP256);
  Certificate c = *make_self_signed(k, profile("bootseal test db", false));
  EXPECT_EQ(c.subject(), "CN=bootseal test db");
  EXPECT_EQ(c.issuer(), c.subject());
  EXPECT_EQ(c.not_before(), 1700000000);
  EXPECT_EQ(c.not_after(), 2000000000);
  EXPECT_EQ(c.serial_hex(), "010203");
  EXPECT_TRUE(c.has_code_signing_usage());
  EXPECT_EQ(c.public_key_der(), k.public_key_der());
  Certificate again = *Certificate::load(as_bytes(c.pem()), "pem");
  EXPECT_EQ(again.der(), c.der());
  EXPECT_FALSE(Certificate::load(as_bytes("nope"), "x").ok());
}

TEST(Pkcs7, DetachedSignVerify) {
  PrivateKey k = *PrivateKey::generate(KeyType::kRsa2048);
  Certificate c = *make_self_signed(k, profile("signer", true));
  PrivateKey other = *PrivateKey::generate(KeyType::kRsa2048);
  Certificate oc = *make_self_signed(other, profile("other", true));
  Pkcs7SignOptions o;
  o.signed_attributes = false;
  Bytes data(1000, 7);
  Bytes sig = *pkcs7_sign_detached(data, k, c, o);
  // RSA PKCS#1 v1.5 without attributes: deterministic.
  EXPECT_EQ(sig, *pkcs7_sign_detached(data, k, c, o));
  EXPECT_TRUE(pkcs7_verify(sig, data, {c}).ok());
  data[3] ^= 1;
  auto bad = pkcs7_verify(sig, data, {c});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind(), ErrorKind::kCheckFailed);
  data[3] ^= 1;
  auto wrong = pkcs7_verify(sig, data, {oc});
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message().find("wrong signer"), std::string::npos) << wrong.error().message();
  // Key not matching the certificate.
  EXPECT_FALSE(pkcs7_sign_detached(data, other, c, o).ok());
  auto info = *pkcs7_parse(sig);
  EXPECT_EQ(info.content_type_oid, kOidPkcs7Data);
  ASSERT_EQ(info.signers.size(), 1u);
  EXPECT_EQ(info.signers[0].issuer, "CN=signer");
  EXPECT_TRUE(info.signers[0].certificate.has_value());
  EXPECT_FALSE(pkcs7_parse(Bytes{0x30, 0x03, 0x02, 0x01, 0x01}).ok());
}

TEST(Pkcs7, EmbeddedWithAttributes) {
  PrivateKey k = *PrivateKey::generate(KeyType::kEcP256);
  Certificate c = *make_self_signed(k, profile("signer", false));
  Bytes content = der::sequence(*der::oid("1.2.3.4"));
  Pkcs7SignOptions o;
  o.signing_time = 1750000000;
  Bytes sig = *pkcs7_sign_embedded("1.3.6.1.4.1.311.2.1.4", content, k, c, o);
  auto info = *pkcs7_parse(sig);
  EXPECT_EQ(info.content_type_oid, "1.3.6.1.4.1.311.2.1.4");
  EXPECT_EQ(info.content_der, content);
  EXPECT_EQ(info.signers[0].signing_time, 1750000000);
  EXPECT_TRUE(pkcs7_verify(sig, *der_content_octets(content), {c}).ok());
  EXPECT_FALSE(pkcs7_verify(sig, content, {c}).ok());
}

// Offline signing: the prepared attributes signed elsewhere and put back make
// the same bytes as signing here (RSA PKCS#1 v1.5 is deterministic).
TEST(Pkcs7, OfflineSigningEqualsSigning) {
  PrivateKey k = *PrivateKey::generate(KeyType::kRsa2048);
  Certificate c = *make_self_signed(k, profile("signer", false));
  Bytes content = der::sequence(*der::oid("1.2.3.4"));
  Pkcs7SignOptions o;
  o.signing_time = 1750000000;
  const std::string_view oid = "1.3.6.1.4.1.311.2.1.4";
  Bytes online = *pkcs7_sign_embedded(oid, content, k, c, o);
  Bytes tbs = *pkcs7_embedded_signed_attributes(oid, content, c, o);
  ASSERT_FALSE(tbs.empty());
  EXPECT_EQ(tbs[0], 0x31);  // SET OF Attribute
  Bytes sig = *k.sign(HashAlg::kSha256, tbs);
  auto offline = pkcs7_assemble_embedded(oid, content, c, o, tbs, sig);
  ASSERT_TRUE(offline.ok()) << offline.error().message();
  EXPECT_EQ(*offline, online);

  // Attributes for other content, a wrong signature, other content type, junk.
  Bytes other = der::sequence(*der::oid("1.2.3.5"));
  auto r = pkcs7_assemble_embedded(oid, other, c, o, tbs, sig);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("messageDigest"), std::string::npos) << r.error().message();
  EXPECT_EQ(r.error().kind(), ErrorKind::kInput);
  Bytes bad = sig;
  bad[10] ^= 1;
  r = pkcs7_assemble_embedded(oid, content, c, o, tbs, bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("does not verify"), std::string::npos) << r.error().message();
  r = pkcs7_assemble_embedded("1.2.840.113549.1.7.1", content, c, o, tbs, sig);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("contentType"), std::string::npos) << r.error().message();
  EXPECT_FALSE(pkcs7_assemble_embedded(oid, content, c, o, content, sig).ok());
  EXPECT_FALSE(pkcs7_assemble_embedded(oid, content, c, o, tbs, {}).ok());
}

}  // namespace
}  // namespace bootseal::crypto
