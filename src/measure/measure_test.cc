#include <gtest/gtest.h>

#include "base/hex.h"
#include "measure/measure.h"

#include "crypto/pem.h"

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

}  // namespace
}  // namespace bootseal::measure
