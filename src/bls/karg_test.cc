#include "bls/karg.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "base/hex.h"

namespace bootseal::bls {
namespace {

const std::string k256 = "8b7df143d91c716ecfa5fc1730022f6b421b05cedee8fd52b1fc65a96030ad52";

// Renders a parse as the vectors do: none | error | <V1|V2> <secure|insecure> <hex>.
std::string render(std::string_view cmdline, KargHash h) {
  auto r = parse_composefs_karg(cmdline, h);
  if (!r.ok()) return "error";
  if (!r->has_value()) return "none";
  const ComposefsKarg& k = **r;
  return fmt::format("{} {} {}", k.version == KargVersion::kV1 ? "V1" : "V2", k.insecure ? "insecure" : "secure",
                     to_hex(k.digest));
}

TEST(Karg, GoldenVectorsFromComposefsRs) {
  std::ifstream in(std::string(BOOTSEAL_VECTORS_DIR) + "/composefs-rs/karg_parse.expected");
  ASSERT_TRUE(in) << "missing vectors";
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    size_t t1 = line.find('\t'), t2 = line.rfind('\t');
    ASSERT_NE(t1, std::string::npos);
    ASSERT_NE(t1, t2) << line;
    std::string alg = line.substr(0, t1), cmdline = line.substr(t1 + 1, t2 - t1 - 1), want = line.substr(t2 + 1);
    KargHash h = *parse_karg_hash(alg);
    EXPECT_EQ(render(cmdline, h), want) << "case " << n << ": " << alg << " [" << cmdline << "]";
    n++;
  }
  EXPECT_GE(n, 20);
}

TEST(Karg, ErrorsNameTheToken) {
  auto r = parse_composefs_karg("quiet composefs.digest=v3-sha256-12:" + k256, KargHash::kSha256);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("composefs.digest=v3-sha256-12:"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("version 'v3'"), std::string::npos) << r.error().message();
  r = parse_composefs_karg("composefs.digest=v1-sha256-8:" + k256, KargHash::kSha256);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("block size 8"), std::string::npos) << r.error().message();
  r = parse_composefs_karg("composefs=abc", KargHash::kSha256);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("'composefs=abc'"), std::string::npos);
  EXPECT_NE(r.error().message().find("odd hex length"), std::string::npos) << r.error().message();
}

TEST(Karg, PrecedenceAndSkipping) {
  // A malformed descriptor is an error even for the other algorithm (checked before the skip).
  EXPECT_EQ(render("composefs.digest=v1-sha512-99:00 composefs=" + k256, KargHash::kSha256), "error");
  // Unknown hash name: error.
  EXPECT_EQ(render("composefs.digest=v1-md5-12:00", KargHash::kSha256), "error");
  // Missing ':' is an error.
  EXPECT_EQ(render("composefs.digest=v1-sha256-12", KargHash::kSha256), "error");
  // Other-algorithm token with bad hex is skipped (hex is not checked), legacy then used.
  EXPECT_EQ(render("composefs.digest=v1-sha512-12:zz composefs=" + k256, KargHash::kSha256), "V2 secure " + k256);
  // Only the first composefs= token counts.
  EXPECT_EQ(render("composefs=xx composefs=" + k256, KargHash::kSha256), "error");
  // Second digest token used when the first is the other algorithm.
  std::string k512(128, 'a');
  EXPECT_EQ(render("composefs.digest=v1-sha512-12:" + k512 + " composefs.digest=?v2-sha256-12:" + k256,
                   KargHash::kSha256),
            "V2 insecure " + k256);
  // Upper-case hex accepted, printed lower-case.
  std::string up = k256;
  for (char& c : up) c = static_cast<char>(std::toupper(c));
  EXPECT_EQ(render("composefs=" + up, KargHash::kSha256), "V2 secure " + k256);
  // Rust u8 parsing accepts "+12" and "012".
  EXPECT_EQ(render("composefs.digest=v1-sha256-+12:" + k256, KargHash::kSha256), "V1 secure " + k256);
  EXPECT_EQ(render("composefs.digest=v1-sha256-012:" + k256, KargHash::kSha256), "V1 secure " + k256);
  // Quoted token is not a composefs token; whitespace in quotes does not split.
  EXPECT_EQ(render("\"composefs=" + k256 + "\"", KargHash::kSha256), "none");
  EXPECT_EQ(render("foo=\"a composefs=" + k256 + "\"", KargHash::kSha256), "none");
  EXPECT_EQ(render("\tcomposefs=" + k256 + "\r\n", KargHash::kSha256), "V2 secure " + k256);
  // Vertical tab is not whitespace for Rust's is_ascii_whitespace.
  EXPECT_EQ(render("composefs=" + k256 + "\v", KargHash::kSha256), "error");
  // Prefix must be exact.
  EXPECT_EQ(render("xcomposefs=" + k256 + " composefs.digestx=1", KargHash::kSha256), "none");
}

TEST(Karg, FormatRoundTrip) {
  Bytes d = *from_hex(k256);
  EXPECT_EQ(format_legacy_karg(d), "composefs=" + k256);
  EXPECT_EQ(format_legacy_karg(d, true), "composefs=?" + k256);
  EXPECT_EQ(format_digest_karg(KargVersion::kV1, KargHash::kSha256, d), "composefs.digest=v1-sha256-12:" + k256);
  Bytes d512(64, 0x6f);
  std::string s = format_digest_karg(KargVersion::kV1, KargHash::kSha512, d512, true);
  EXPECT_EQ(s, "composefs.digest=?v1-sha512-12:" + to_hex(d512));
  for (auto v : {KargVersion::kV1, KargVersion::kV2})
    for (bool ins : {false, true}) {
      ComposefsKarg k{v, KargHash::kSha512, ins, d512};
      auto p = parse_composefs_karg("ro " + format_composefs_karg(k) + " quiet", KargHash::kSha512);
      ASSERT_TRUE(p.ok());
      ASSERT_TRUE(p->has_value());
      EXPECT_EQ((*p)->version, v);
      EXPECT_EQ((*p)->insecure, ins);
      EXPECT_EQ((*p)->digest, d512);
    }
}

TEST(Karg, GenericLookups) {
  std::string_view c = "root=PARTUUID=abc ro composefs.insecure=1 quiet=0 x=\"a b\" rw";
  EXPECT_EQ(cmdline_value(c, "root").value_or("-"), "PARTUUID=abc");
  EXPECT_EQ(cmdline_value(c, "ro").value_or("-"), "");
  EXPECT_FALSE(cmdline_value(c, "rootfstype").has_value());
  EXPECT_EQ(cmdline_value(c, "x").value_or("-"), "\"a b\"");
  EXPECT_TRUE(cmdline_flag(c, "composefs.insecure"));
  EXPECT_TRUE(cmdline_flag(c, "rw"));
  EXPECT_FALSE(cmdline_flag(c, "quiet"));
  EXPECT_FALSE(cmdline_flag("composefs.insecure=1 composefs.insecure=0", "composefs.insecure"));
  EXPECT_EQ(split_cmdline("  a  \"b c\"d e ").size(), 3u);
}

}  // namespace
}  // namespace bootseal::bls

namespace bootseal::bls {
namespace {

TEST(Karg, RefuseComposefsKargsInUserCmdline) {
  EXPECT_TRUE(refuse_composefs_kargs("console=ttyS0 quiet rw", "--cmdline").ok());
  EXPECT_TRUE(refuse_composefs_kargs("", "--cmdline").ok());
  EXPECT_TRUE(refuse_composefs_kargs("composefsx=1 mycomposefs=2", "--cmdline").ok());
  for (const char* bad : {"composefs=abab", "quiet composefs.digest=v1-sha512-12:abab", "composefs.digest=?x",
                          "\"composefs=ab\"", "composefs", "composefs.hash=sha256", "a \"composefs.digest\"=v1"}) {
    auto st = refuse_composefs_kargs(bad, "--cmdline");
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_NE(st.error().message().find("your --cmdline"), std::string::npos) << st.error().message();
    EXPECT_NE(st.error().message().find("composefs"), std::string::npos);
  }
  auto st = refuse_composefs_kargs("quiet composefs.digest=v1-sha512-12:abab rw", "--cmdline");
  EXPECT_NE(st.error().message().find("'composefs.digest=v1-sha512-12:abab'"), std::string::npos) << st.error().message();
}

}  // namespace
}  // namespace bootseal::bls
