#include <gtest/gtest.h>

#include "efivar/auth.h"
#include "efivar/esl.h"

namespace bootseal::efivar {
namespace {

TEST(Guid, ParseFormat) {
  Guid g = *Guid::parse("8be4df61-93ca-11d2-aa0d-00e098032b8c");
  EXPECT_EQ(g, kEfiGlobalVariable);
  EXPECT_EQ(g.bytes[0], 0x61);
  EXPECT_EQ(g.bytes[8], 0xaa);
  EXPECT_EQ(kEfiCertX509.to_string(), "a5c059a1-94e4-4aa7-87b5-ab155c2bf072");
  EXPECT_FALSE(Guid::parse("8be4df61-93ca-11d2-aa0d-00e098032b8").ok());
  EXPECT_FALSE(Guid::parse("8be4df6193ca-11d2-aa0d-00e098032b8c0").ok());
  EXPECT_FALSE(Guid::parse("zbe4df61-93ca-11d2-aa0d-00e098032b8c").ok());
}

TEST(Esl, RoundTrip) {
  Guid owner = *Guid::parse("11111111-2222-3333-4444-555555555555");
  Bytes cert(100, 0x42);
  SignatureList l = x509_signature_list(owner, cert);
  Bytes b = *write_signature_list(l);
  ASSERT_EQ(b.size(), 28u + 16 + 100);
  EXPECT_EQ(load_le<uint32_t>(b.data() + 16), 144u);
  EXPECT_EQ(load_le<uint32_t>(b.data() + 24), 116u);
  Bytes two = b;
  two.insert(two.end(), b.begin(), b.end());
  auto lists = *parse_signature_lists(two);
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_EQ(lists[1].SignatureType, kEfiCertX509);
  EXPECT_EQ(lists[1].Signatures.at(0).SignatureOwner, owner);
  EXPECT_EQ(lists[1].Signatures.at(0).SignatureData, cert);
  EXPECT_EQ(*write_signature_lists(lists), two);
  EXPECT_TRUE(parse_signature_lists({}).ok());
}

TEST(Esl, Malformed) {
  Bytes b = *write_signature_list(x509_signature_list(kEfiGlobalVariable, Bytes(10, 1)));
  auto with = [&](size_t off, uint32_t v) {
    Bytes c = b;
    store_le<uint32_t>(c.data() + off, v);
    return parse_signature_lists(c);
  };
  EXPECT_FALSE(with(16, 1000).ok());   // ListSize past the end
  EXPECT_FALSE(with(16, 10).ok());     // ListSize below the header
  EXPECT_FALSE(with(20, 100).ok());    // HeaderSize past the list
  EXPECT_FALSE(with(24, 0).ok());      // SignatureSize 0 (would loop forever)
  EXPECT_FALSE(with(24, 7).ok());      // smaller than the owner GUID
  EXPECT_FALSE(with(24, 17).ok());     // not a multiple
  Bytes t(b.begin(), b.begin() + 20);
  auto r = parse_signature_lists(t);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("truncated"), std::string::npos);
}

TEST(EfiTime, EncodeParse) {
  EfiTime t = *EfiTime::parse("2025-01-02 03:04:05");
  EXPECT_EQ(t, EfiTime::from_unix(1735787045));
  Bytes e = t.encode();
  ASSERT_EQ(e.size(), 16u);
  EXPECT_EQ(e[0], 0xe9);
  EXPECT_EQ(e[1], 0x07);
  EXPECT_EQ(*EfiTime::decode(e), t);
  EXPECT_EQ(t.to_string(), "2025-01-02 03:04:05");
  EXPECT_FALSE(EfiTime::parse("2025-13-02 03:04:05").ok());
  EXPECT_FALSE(EfiTime::parse("yesterday").ok());
}

TEST(Auth2, SignParseVerify) {
  using namespace crypto;
  PrivateKey k = *PrivateKey::generate(KeyType::kRsa2048);
  CertificateProfile p;
  p.subject = "CN=PK";
  p.not_before = 1700000000;
  p.not_after = 2000000000;
  p.serial = {1};
  p.ca = true;
  Certificate c = *make_self_signed(k, p);
  Bytes esl = *write_signature_list(x509_signature_list(kEfiGlobalVariable, c.der()));
  EfiTime t = EfiTime::from_unix(1735787045);
  Bytes auth = *make_auth2("PK", kEfiGlobalVariable, kSecureBootVariableAttributes, t, esl, k, c);
  AuthenticatedVariable v = *parse_auth2(auth);
  EXPECT_EQ(v.TimeStamp, t);
  EXPECT_EQ(v.Data, esl);
  EXPECT_EQ(v.dwLength, 24 + v.CertData.size());
  EXPECT_TRUE(verify_auth2("PK", kEfiGlobalVariable, kSecureBootVariableAttributes, v, {c}).ok());
  EXPECT_FALSE(verify_auth2("KEK", kEfiGlobalVariable, kSecureBootVariableAttributes, v, {c}).ok());
  EXPECT_FALSE(verify_auth2("PK", kEfiImageSecurityDatabase, kSecureBootVariableAttributes, v, {c}).ok());
  // Malformed headers.
  Bytes bad = auth;
  store_le<uint32_t>(bad.data() + 16, 0xffffff);
  EXPECT_FALSE(parse_auth2(bad).ok());
  bad = auth;
  bad[21] = 0;  // wRevision (0x0200 -> 0x0000)
  EXPECT_FALSE(parse_auth2(bad).ok());
  bad = auth;
  bad[24] ^= 1;  // CertType
  EXPECT_FALSE(parse_auth2(bad).ok());
  EXPECT_FALSE(parse_auth2(ByteSpan(auth.data(), 30)).ok());
}

}  // namespace
}  // namespace bootseal::efivar
