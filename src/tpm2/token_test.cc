#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/hex.h"
#include "tpm2/token.h"

namespace bootseal::tpm2 {
namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::filesystem::path vectors() { return std::filesystem::path(BOOTSEAL_VECTORS_DIR) / "tpm2"; }

TEST(Token, RoundTripEverySystemdSample) {
  int tpm2 = 0, other = 0;
  for (auto& e : std::filesystem::directory_iterator(vectors())) {
    if (e.path().extension() != ".json" || e.path().filename().string().find("token") == std::string::npos) continue;
    std::string text = slurp(e.path());
    auto hdr = parse_token_header(text);
    ASSERT_TRUE(hdr.ok()) << e.path() << ": " << hdr.error().message();
    // Byte-exact: our writer emits systemd's keys in systemd's order (compact form of the sample).
    std::string expect = nlohmann::ordered_json::parse(text).dump();
    if (hdr->type == kTokenTypeTpm2) {
      auto t = parse_tpm2_token(text);
      ASSERT_TRUE(t.ok()) << e.path() << ": " << t.error().message();
      EXPECT_EQ(to_json(*t), expect) << e.path();
      auto again = parse_tpm2_token(to_json(*t));
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(*again, *t);
      ASSERT_EQ(t->blobs.size(), 1u);
      auto parts = split_blob(t->blobs[0]);
      ASSERT_TRUE(parts.ok());
      EXPECT_TRUE(parts->seed.empty());
      EXPECT_EQ(join_blob(*parts), t->blobs[0]);
      ASSERT_TRUE(t->srk.has_value()) << "systemd 254.26 always writes tpm2_srk";
      tpm2++;
    } else {
      EXPECT_EQ(hdr->type, kTokenTypeRecovery);
      ASSERT_EQ(hdr->keyslots.size(), 1u);
      EXPECT_EQ(recovery_token_json(hdr->keyslots[0]), expect);
      other++;
    }
  }
  EXPECT_EQ(tpm2, 3);
  EXPECT_EQ(other, 1);
}

TEST(Token, Fields) {
  auto t = parse_tpm2_token(slurp(vectors() / "systemd254-token1.json"));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->keyslots, std::vector<int>{2});
  EXPECT_EQ(t->pcrs, std::vector<unsigned>{7});
  EXPECT_EQ(t->pubkey_pcrs, std::vector<unsigned>{11});
  EXPECT_EQ(t->pubkey_pcr_mask(), 1u << 11);
  EXPECT_EQ(*t->pubkey_pem, slurp(vectors() / "tpm2-pcr-public-key.pem"));
  EXPECT_EQ(t->primary_alg, "ecc");
  EXPECT_EQ(t->pcr_bank, crypto::HashAlg::kSha256);
  EXPECT_FALSE(t->salt.has_value());
  // tpm2_srk: handle 0x81000001 then the SRK's TPM2B_NAME.
  EXPECT_EQ(to_hex(*t->srk).substr(0, 16), "810000010022000b");
  auto t2 = parse_tpm2_token(slurp(vectors() / "systemd254-token2.json"));
  ASSERT_TRUE(t2.ok());
  EXPECT_TRUE(t2->uses_pin());
  EXPECT_EQ(t2->salt->size(), 32u);
}

TEST(Token, ArraysOf257) {
  auto t = parse_tpm2_token(slurp(vectors() / "systemd254-token0.json"));
  ASSERT_TRUE(t.ok());
  auto j = nlohmann::ordered_json::parse(to_json(*t));
  std::string blob = j["tpm2-blob"], hash = j["tpm2-policy-hash"];
  j["tpm2-blob"] = {blob, blob};
  j["tpm2-policy-hash"] = {hash, hash};
  j["tpm2_pcrlock"] = false;
  auto a = parse_tpm2_token(j.dump());
  ASSERT_TRUE(a.ok()) << a.error().message();
  EXPECT_EQ(a->blobs.size(), 2u);
  EXPECT_TRUE(a->blob_array);
  EXPECT_EQ(a->pcrlock, false);
  auto back = nlohmann::ordered_json::parse(to_json(*a));
  EXPECT_TRUE(back["tpm2-blob"].is_array());
  // One-element arrays stay arrays.
  j["tpm2-blob"] = {blob};
  j["tpm2-policy-hash"] = {hash};
  auto one = parse_tpm2_token(j.dump());
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(nlohmann::ordered_json::parse(to_json(*one))["tpm2-blob"].size(), 1u);
  // Shard counts must agree.
  j["tpm2-blob"] = {blob, blob};
  EXPECT_FALSE(parse_tpm2_token(j.dump()).ok());
}

TEST(Token, BadInput) {
  auto base = nlohmann::ordered_json::parse(slurp(vectors() / "systemd254-token1.json"));
  auto bad = [&](auto mutate) {
    auto j = base;
    mutate(j);
    return !parse_tpm2_token(j.dump()).ok();
  };
  using J = nlohmann::ordered_json;
  EXPECT_TRUE(bad([](J& j) { j["type"] = "systemd-fido2"; }));
  EXPECT_TRUE(bad([](J& j) { j.erase("tpm2-blob"); }));
  EXPECT_TRUE(bad([](J& j) { j.erase("tpm2-pcrs"); }));
  EXPECT_TRUE(bad([](J& j) { j.erase("tpm2-policy-hash"); }));
  EXPECT_TRUE(bad([](J& j) { j["tpm2-pcrs"] = {24}; }));
  EXPECT_TRUE(bad([](J& j) { j["tpm2-pcrs"] = {-1}; }));
  EXPECT_TRUE(bad([](J& j) { j["tpm2-pcrs"] = "7"; }));
  EXPECT_TRUE(bad([](J& j) { j["keyslots"] = {"x"}; }));
  EXPECT_TRUE(bad([](J& j) { j["keyslots"] = {"32"}; }));
  EXPECT_TRUE(bad([](J& j) { j["keyslots"] = {2}; }));
  EXPECT_TRUE(bad([](J& j) { j["tpm2-pcr-bank"] = "md5"; }));
  EXPECT_TRUE(bad([](J& j) { j["tpm2-primary-alg"] = "dsa"; }));
  EXPECT_TRUE(bad([](J& j) { j["tpm2-pin"] = "yes"; }));
  EXPECT_TRUE(bad([](J& j) { j["tpm2-policy-hash"] = "abcd"; }));
  EXPECT_TRUE(bad([](J& j) { j["tpm2-blob"] = "AAAA"; }));  // not two TPM2Bs
  EXPECT_TRUE(bad([](J& j) { j["tpm2-blob"] = "!!"; }));
  EXPECT_TRUE(bad([](J& j) { j["tpm2-blob"] = J::array(); }));
  EXPECT_TRUE(bad([](J& j) { j.erase("tpm2_pubkey"); }));
  EXPECT_TRUE(bad([](J& j) { j["tpm2_srk"] = 5; }));
  EXPECT_FALSE(parse_tpm2_token("[]").ok());
  EXPECT_FALSE(parse_tpm2_token("{").ok());
  EXPECT_FALSE(parse_token_header(R"({"keyslots":[]})").ok());
  // Unknown keys are ignored, as systemd does.
  EXPECT_FALSE(bad([](J& j) { j["x-future"] = 1; }));
}

TEST(Token, SplitBlob) {
  EXPECT_FALSE(split_blob(Bytes{0, 1}).ok());
  EXPECT_FALSE(split_blob(Bytes{0, 1, 9, 0}).ok());
  auto two = split_blob(Bytes{0, 1, 9, 0, 2, 8, 8});
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->public_part, (Bytes{0, 2, 8, 8}));
  auto three = split_blob(Bytes{0, 1, 9, 0, 1, 8, 0, 1, 7});
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(three->seed, (Bytes{0, 1, 7}));
  EXPECT_FALSE(split_blob(Bytes{0, 1, 9, 0, 1, 8, 0, 1, 7, 1}).ok());
}

}  // namespace
}  // namespace bootseal::tpm2
