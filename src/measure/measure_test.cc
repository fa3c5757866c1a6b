#include <gtest/gtest.h>

#include "base/hex.h"
#include "measure/measure.h"

#include "crypto/pem.h"
#include "pe/testing.h"
#include "uki/uki.h"

namespace bootseal::measure {
namespace {

using crypto::HashAlg;

// Expected values from systemd-measure 254:
//   systemd-measure calculate --linux=l --osrel=o --cmdline=c --phase=...
// with l="LINUX", o="ID=x\n", c="quiet".
SectionMap sample() {
  static const std::string l = "LINUX", o = "ID=x\n", c = "quiet";
  return {{".linux", as_bytes(l)}, {".osrel", as_bytes(o)}, {".cmdline", as_bytes(c)}};
}

TEST(Measure, PredictMatchesSystemdMeasure) {
  auto s = sample();
  EXPECT_EQ(to_hex(predict(HashAlg::kSha1, s, "enter-initrd")), "850825363f97b9a802bdc9e052bb455ce8e7e552");
  EXPECT_EQ(to_hex(predict(HashAlg::kSha256, s, "enter-initrd")),
            "6302e3158d2090c20261188358027be2f710a63c82c155485e462dc880c4ef2b");
  EXPECT_EQ(to_hex(predict(HashAlg::kSha256, s, "enter-initrd:leave-initrd:sysinit:ready:shutdown:final")),
            "85fe29855bca7dcf4d35f0b63590487dbf64e17cfa33993f86765d0d3166a814");
  EXPECT_EQ(to_hex(predict(HashAlg::kSha512, s, "enter-initrd:leave-initrd:sysinit:ready:shutdown:final")),
            "ddbc53316d5c8723b24be4865a6a98ba3a4de5c0c6b67d5f4314e1b23699a697a735e49b49a9b3086c75de7ea50bb08ad86"
            "bccac59ed590d6e39e68ce977044e");
  // Empty phase words extend nothing.
  EXPECT_EQ(predict(HashAlg::kSha256, s, "enter-initrd::"), predict(HashAlg::kSha256, s, "enter-initrd"));
}

TEST(Measure, SectionOrderIsFixed) {
  // Map order does not matter; unknown sections are ignored.
  auto s = sample();
  auto t = s;
  static const std::string x = "ignored";
  t.emplace(".extra", as_bytes(x));
  EXPECT_EQ(predict(HashAlg::kSha256, s, "ready"), predict(HashAlg::kSha256, t, "ready"));
}

TEST(Measure, PhasePaths) {
  EXPECT_TRUE(validate_phase_path("enter-initrd:leave-initrd").ok());
  EXPECT_TRUE(validate_phase_path("").ok());
  EXPECT_FALSE(validate_phase_path("enter-initrd:nope").ok());
  EXPECT_EQ(all_phase_paths().size(), 6u);
  EXPECT_EQ(all_phase_paths().back(), "enter-initrd:leave-initrd:sysinit:ready:shutdown:final");
  EXPECT_EQ(normalize_phase_paths({"ready", "enter-initrd::ready", "enter-initrd:ready", "ready"}),
            (std::vector<std::string>{"enter-initrd:ready", "ready"}));
}

TEST(Measure, SignMatchesPolicy) {
  auto key = crypto::PrivateKey::generate(crypto::KeyType::kRsa2048);
  ASSERT_TRUE(key.ok());
  auto doc = sign(sample(), {HashAlg::kSha256}, {"enter-initrd"}, *key);
  ASSERT_TRUE(doc.ok()) << doc.error().message();
  ASSERT_EQ(doc->banks.size(), 1u);
  const auto& e = doc->banks[0].entries.at(0);
  EXPECT_EQ(to_hex(e.pol), "286965295cef5313ddfbb5713781b6bed70b296bb5db4959afb5d097eda59eb8");
  EXPECT_EQ(e.pcrs, std::vector<unsigned>{11});
  auto ok = crypto::verify_signature(key->public_key_der(), HashAlg::kSha256, e.pol, e.sig);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(*ok);
  // A public key that is not the private key's is refused.
  auto other = crypto::PrivateKey::generate(crypto::KeyType::kRsa2048);
  EXPECT_FALSE(sign(sample(), {HashAlg::kSha256}, {"ready"}, *key, other->public_key_der()).ok());
  // EC keys are refused (systemd signs PCR policies with RSA).
  auto ec = crypto::PrivateKey::generate(crypto::KeyType::kEcP256);
  EXPECT_EQ(sign(sample(), {HashAlg::kSha256}, {"ready"}, *ec).error().kind(), ErrorKind::kUnsupported);
}

TEST(Measure, MatchPcrsig) {
  auto key = crypto::PrivateKey::generate(crypto::KeyType::kRsa2048);
  ASSERT_TRUE(key.ok());
  std::string pem = crypto::public_key_pem(key->public_key_der());
  SectionMap s = sample();
  s.emplace(".pcrpkey", as_bytes(pem));
  auto doc = sign(s, {HashAlg::kSha256, HashAlg::kSha384}, {"enter-initrd:leave-initrd"}, *key);
  ASSERT_TRUE(doc.ok()) << doc.error().message();
  auto m = match_pcrsig(s, *doc);
  ASSERT_EQ(m.size(), 2u);
  for (auto& x : m) {
    EXPECT_EQ(x.phase_path, "enter-initrd:leave-initrd");
    EXPECT_EQ(x.pkfp_matches_pcrpkey, true);
    EXPECT_EQ(x.signature_valid, true);
  }
  // Another command line: the signed policy no longer matches.
  static const std::string other = "quiet splash";
  SectionMap t = s;
  t[".cmdline"] = as_bytes(other);
  for (auto& x : match_pcrsig(t, *doc)) EXPECT_FALSE(x.phase_path);
  // Without .pcrpkey, key checks are unknown.
  for (auto& x : match_pcrsig(sample(), *doc)) {
    EXPECT_FALSE(x.pkfp_matches_pcrpkey);
    EXPECT_FALSE(x.signature_valid);
  }
}

// Every section systemd-stub 257 measures, in its order. Expected value from
// systemd-measure 257 (trixie 257.13):
//   systemd-measure calculate --linux=l --osrel=o --cmdline=c --initrd=i --ucode=u --splash=s
//     --dtb=d --uname=n --sbat=b --pcrpkey=k --profile=p --dtbauto=hw --hwids=da
//     --phase=enter-initrd --bank=sha256
// with each file holding the text below (no newline unless shown). Note the swapped
// files: systemd-measure 257 measures its --dtbauto file as .hwids and its --hwids
// file as .dtbauto (measured: "--dtbauto=da" alone equals extending ".hwids"/"DTBA"),
// while the stub measures each section under its own name; we follow the stub.
TEST(Measure, AllSections257MatchSystemdMeasure) {
  static const std::string l = "LINUX", o = "ID=x\n", c = "quiet", i = "INITRD", u = "UCODE", sp = "SPLASH", d = "DTB",
                           n = "6.1", b = "SBAT", k = "PKEY", p = "ID=p\n", da = "DTBA", hw = "HWID";
  SectionMap m = {{".linux", as_bytes(l)},   {".osrel", as_bytes(o)},    {".cmdline", as_bytes(c)},
                  {".initrd", as_bytes(i)},  {".ucode", as_bytes(u)},    {".splash", as_bytes(sp)},
                  {".dtb", as_bytes(d)},     {".uname", as_bytes(n)},    {".sbat", as_bytes(b)},
                  {".pcrpkey", as_bytes(k)}, {".profile", as_bytes(p)},  {".dtbauto", as_bytes(da)},
                  {".hwids", as_bytes(hw)}};
  EXPECT_EQ(to_hex(predict(HashAlg::kSha256, m, "enter-initrd")),
            "4250f27edb7cd8bf7a36dd479a56de522b151b446abcb3aabd960ce9c9243e49");
  // .ucode alone (between .initrd and .splash in the order), sections only:
  //   systemd-measure calculate --linux=l --osrel=o --cmdline=c --ucode=u --phase= --bank=sha256
  SectionMap mu = {{".linux", as_bytes(l)}, {".osrel", as_bytes(o)}, {".cmdline", as_bytes(c)}, {".ucode", as_bytes(u)}};
  EXPECT_EQ(to_hex(predict(HashAlg::kSha256, mu, "")), "2a04bdcafebd6a2c90ce16200f24e6bfd2edf403046add4e108ee6c8cd19e158");
  SectionMap mp = {{".linux", as_bytes(l)}, {".osrel", as_bytes(o)}, {".cmdline", as_bytes(c)}, {".profile", as_bytes(p)}};
  EXPECT_EQ(to_hex(predict(HashAlg::kSha256, mp, "")), "341b4e4661c79edba5ff1cc9a82e01549c13cfb5783efed8a2b7bf5ccb96c5b0");
}

TEST(Measure, StubVersionGatesSections) {
  EXPECT_TRUE(stub_measures(254, ".linux"));
  EXPECT_FALSE(stub_measures(254, ".ucode"));
  EXPECT_TRUE(stub_measures(256, ".ucode"));
  EXPECT_FALSE(stub_measures(256, ".profile"));
  EXPECT_TRUE(stub_measures(257, ".profile"));
  EXPECT_TRUE(stub_measures(257, ".hwids"));
  EXPECT_FALSE(stub_measures(257, ".efifw"));
  EXPECT_TRUE(stub_measures(258, ".efifw"));
  EXPECT_TRUE(stub_measures(std::nullopt, ".efifw"));
  EXPECT_FALSE(stub_measures(std::nullopt, ".pcrsig"));
  EXPECT_FALSE(stub_measures(std::nullopt, ".text"));
}

// A multi-profile UKI on a stub without .sdmagic (the newest rules):
// base .linux .cmdline, profile 0 = .profile "ID=a" + .cmdline "one",
// profile 1 = .profile "ID=b" + .ucode.
Bytes multi_profile_uki(std::string_view sdmagic = {}) {
  Bytes stub = pe::testing::tiny_pe({.size_of_headers = 0x400});
  std::vector<uki::NamedSection> secs = {
      {".linux", uki::Content::own(std::string_view("LINUX"))},  {".cmdline", uki::Content::own(std::string_view("base"))},
      {".profile", uki::Content::own(std::string_view("ID=a"))}, {".cmdline", uki::Content::own(std::string_view("one"))},
      {".profile", uki::Content::own(std::string_view("ID=b"))}, {".ucode", uki::Content::own(std::string_view("UC"))}};
  if (!sdmagic.empty()) secs.insert(secs.begin(), {".sdmagic", uki::Content::own(sdmagic)});
  auto out = uki::assemble(stub, secs);
  EXPECT_TRUE(out.ok()) << out.error().message();
  return out.ok() ? *out : Bytes{};
}

std::string text_of(const SectionMap& m, std::string_view name) {
  auto it = m.find(name);
  return it == m.end() ? "(none)" : std::string(as_string(it->second));
}

TEST(Measure, ProfilesBasePlusProfile) {
  Bytes f = multi_profile_uki();
  ASSERT_FALSE(f.empty());
  auto profs = profiles_of_uki(f);
  ASSERT_TRUE(profs.ok()) << profs.error().message();
  ASSERT_EQ(profs->size(), 2u);
  EXPECT_EQ((*profs)[0].text, "ID=a");
  EXPECT_EQ((*profs)[0].sections, (std::vector<std::string>{".profile", ".cmdline"}));
  EXPECT_EQ((*profs)[1].sections, (std::vector<std::string>{".profile", ".ucode"}));
  std::vector<Bytes> st;
  auto p0 = sections_from_uki(f, st, 0u);
  ASSERT_TRUE(p0.ok()) << p0.error().message();
  EXPECT_EQ(text_of(*p0, ".linux"), "LINUX");
  EXPECT_EQ(text_of(*p0, ".cmdline"), "one");  // the profile's replaces the base's
  EXPECT_EQ(text_of(*p0, ".profile"), "ID=a");
  EXPECT_EQ(text_of(*p0, ".ucode"), "(none)");
  auto p1 = sections_from_uki(f, st, 1u);
  ASSERT_TRUE(p1.ok());
  EXPECT_EQ(text_of(*p1, ".cmdline"), "base");
  EXPECT_EQ(text_of(*p1, ".profile"), "ID=b");
  EXPECT_EQ(text_of(*p1, ".ucode"), "UC");
  // No selection: profile 0, as systemd-stub without "@N".
  auto def = sections_from_uki(f, st);
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(predict(HashAlg::kSha256, *def, ""), predict(HashAlg::kSha256, *p0, ""));
  EXPECT_NE(predict(HashAlg::kSha256, *p1, ""), predict(HashAlg::kSha256, *p0, ""));
  auto bad = sections_from_uki(f, st, 2u);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("has 2 profiles"), std::string::npos) << bad.error().message();
}

TEST(Measure, Stub254IgnoresNewSections) {
  // A 254 stub measures neither .profile nor .ucode, and has no profiles: the
  // first .cmdline counts.
  Bytes f = multi_profile_uki("#### LoaderInfo: systemd-stub 254.26-1~bpo12+1 ####");
  ASSERT_FALSE(f.empty());
  EXPECT_EQ(stub_major_version(f), 254u);
  std::vector<Bytes> st;
  auto m = sections_from_uki(f, st);
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(text_of(*m, ".cmdline"), "base");
  EXPECT_EQ(text_of(*m, ".profile"), "(none)");
  EXPECT_EQ(text_of(*m, ".ucode"), "(none)");
  EXPECT_FALSE(sections_from_uki(f, st, 1u).ok());
}

}  // namespace
}  // namespace bootseal::measure
