#include <gtest/gtest.h>

#include "base/hex.h"
#include "tpm2/pcr.h"
#include "tpm2/pcrsig.h"

namespace bootseal::tpm2 {
namespace {

using crypto::HashAlg;

TEST(Pcr, ExtendFromZero) {
  // Extending a zero PCR with H(x) is H(0^n || H(x)).
  for (HashAlg a : {HashAlg::kSha1, HashAlg::kSha256, HashAlg::kSha384, HashAlg::kSha512}) {
    Bytes pcr = zero_pcr(a);
    ASSERT_EQ(pcr.size(), crypto::digest_size(a));
    Bytes d = crypto::digest(a, std::string_view("abc"));
    pcr_extend(a, pcr, d);
    Bytes msg(crypto::digest_size(a), 0);
    msg.insert(msg.end(), d.begin(), d.end());
    EXPECT_EQ(pcr, crypto::digest(a, msg));
  }
}

TEST(Pcr, PolicyPcrMatchesSystemdMeasure) {
  // PCR 11 (sha256) after .linux="LINUX", .osrel="ID=x\n", .cmdline="quiet",
  // phase enter-initrd; systemd-measure 254 calculate/sign give these values.
  Bytes pcr = *from_hex("6302e3158d2090c20261188358027be2f710a63c82c155485e462dc880c4ef2b");
  Bytes values[] = {pcr};
  Bytes pol = policy_pcr(HashAlg::kSha256, Bytes(32, 0), {HashAlg::kSha256, 1u << 11}, values);
  EXPECT_EQ(to_hex(pol), "286965295cef5313ddfbb5713781b6bed70b296bb5db4959afb5d097eda59eb8");
}

TEST(PcrSig, JsonStylesAndRoundTrip) {
  PcrSigDocument doc;
  doc.add(HashAlg::kSha256, {{11}, {0xab}, {0xcd}, {1, 2, 3}});
  doc.add(HashAlg::kSha1, {{11}, {0x01}, {0x02}, {4}});
  doc.add(HashAlg::kSha256, {{11}, {0xab}, {0xcd}, {1, 2, 3}});  // duplicate: dropped
  EXPECT_EQ(to_json(doc, JsonStyle::kShort),
            R"({"sha1":[{"pcrs":[11],"pkfp":"01","pol":"02","sig":"BA=="}],"sha256":[{"pcrs":[11],"pkfp":"ab","pol":"cd","sig":"AQID"}]})");
  EXPECT_EQ(to_json(doc, JsonStyle::kPython),
            R"({"sha1": [{"pcrs": [11], "pkfp": "01", "pol": "02", "sig": "BA=="}], "sha256": [{"pcrs": [11], "pkfp": "ab", "pol": "cd", "sig": "AQID"}]})");
  auto back = parse_pcrsig(to_json(doc, JsonStyle::kPython));
  ASSERT_TRUE(back.ok()) << back.error().message();
  ASSERT_EQ(back->banks.size(), 2u);
  EXPECT_EQ(back->banks[1].entries[0].sig, (Bytes{1, 2, 3}));
}

TEST(PcrSig, BadJson) {
  EXPECT_FALSE(parse_pcrsig("[").ok());
  EXPECT_FALSE(parse_pcrsig("[]").ok());
  EXPECT_FALSE(parse_pcrsig(R"({"md5":[]})").ok());
  EXPECT_FALSE(parse_pcrsig(R"({"sha256":[{"pcrs":[99],"pkfp":"","pol":"","sig":""}]})").ok());
  EXPECT_FALSE(parse_pcrsig(R"({"sha256":[{"pcrs":[11],"pkfp":"zz","pol":"","sig":""}]})").ok());
  EXPECT_FALSE(parse_pcrsig(R"({"sha256":[{"pcrs":[11],"pol":"","sig":""}]})").ok());
}

}  // namespace
}  // namespace bootseal::tpm2
