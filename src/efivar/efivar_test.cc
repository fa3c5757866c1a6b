#include <gtest/gtest.h>
#include <tuple>

#include "efivar/auth.h"
#include "efivar/esl.h"
#include "efivar/varstore.h"

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

// The edk2 varstore layout as virt-fw-vars writes it (authenticated store,
// 60-byte variable headers): live, deleted and replaced variables; truncation.
namespace bootseal::efivar {
namespace {

Bytes make_varstore(const std::vector<std::tuple<std::string, Guid, uint8_t, Bytes>>& vars) {
  Bytes fd(0x48 + 28, 0);
  store_le<uint64_t>(fd.data() + 0x20, 65536);
  std::copy_n("_FVH", 4, fd.begin() + 0x28);
  store_le<uint16_t>(fd.data() + 0x30, 0x48);
  const uint8_t g[16] = {0x78, 0x2c, 0xf3, 0xaa, 0x7b, 0x94, 0x9a, 0x43, 0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92};
  std::copy_n(g, 16, fd.begin() + 0x48);
  store_le<uint32_t>(fd.data() + 0x48 + 16, 65536 - 0x48);
  fd[0x48 + 20] = 0x5A;
  fd[0x48 + 21] = 0xFE;
  for (auto& [name, vendor, state, data] : vars) {
    Bytes h(60, 0);
    store_le<uint16_t>(h.data(), 0x55AA);
    h[2] = state;
    store_le<uint32_t>(h.data() + 4, 0x27);
    store_le<uint32_t>(h.data() + 36, static_cast<uint32_t>(name.size() * 2 + 2));
    store_le<uint32_t>(h.data() + 40, static_cast<uint32_t>(data.size()));
    std::copy(vendor.bytes.begin(), vendor.bytes.end(), h.begin() + 44);
    fd.insert(fd.end(), h.begin(), h.end());
    for (char c : name) {
      fd.push_back(static_cast<uint8_t>(c));
      fd.push_back(0);
    }
    fd.push_back(0);
    fd.push_back(0);
    fd.insert(fd.end(), data.begin(), data.end());
    while (fd.size() % 4) fd.push_back(0xFF);
  }
  fd.resize(65536, 0xFF);
  return fd;
}

TEST(Varstore, LiveVariablesLastOneWins) {
  Bytes fd = make_varstore({{"db", kEfiImageSecurityDatabase, 0x3F, Bytes{1, 2, 3}},
                            {"KEK", kEfiGlobalVariable, 0x3C, Bytes{9}},  // deleted
                            {"PK", kEfiGlobalVariable, 0x3F, Bytes{4}},
                            {"db", kEfiImageSecurityDatabase, 0x3E, Bytes{5, 6}}});
  auto v = parse_varstore(fd);
  ASSERT_TRUE(v.ok()) << v.error().message();
  ASSERT_EQ(v->size(), 2u);
  EXPECT_EQ((*v)[0].name, "PK");
  EXPECT_EQ((*v)[1].name, "db");
  EXPECT_EQ((*v)[1].data, (Bytes{5, 6}));
  EXPECT_EQ((*v)[1].vendor, kEfiImageSecurityDatabase);
  EXPECT_EQ((*v)[1].attributes, 0x27u);
}

TEST(Varstore, BadInputIsAnError) {
  Bytes fd = make_varstore({{"db", kEfiImageSecurityDatabase, 0x3F, Bytes(100, 7)}});
  EXPECT_FALSE(parse_varstore(ByteSpan(fd.data(), 0x40)).ok());
  Bytes b = fd;
  b[0x28] = 'X';
  EXPECT_FALSE(parse_varstore(b).ok());
  b = fd;
  store_le<uint32_t>(b.data() + 0x48 + 28 + 40, 0x7FFFFFFF);  // data size past the store
  EXPECT_FALSE(parse_varstore(b).ok());
  EXPECT_FALSE(parse_varstore(ByteSpan(fd.data(), 4096)).ok());  // truncated: volume past the end
}

}  // namespace
}  // namespace bootseal::efivar
