#include <gtest/gtest.h>

#include "base/hex.h"
#include "store/async_hasher.h"
#include "store/meta.h"
#include "store/record.h"
#include "store/repository.h"

#include <cstdlib>
#include <random>

namespace bootseal::store {
namespace {

// The background hasher gives the digest of everything handed to it, in
// order, whatever the update sizes (inside a chunk, across chunks, more than
// the queue holds), for both algorithms, and for no data at all.
TEST(AsyncHasher, EqualsTheDirectDigest) {
  std::mt19937 rng(7);
  for (auto alg : {crypto::HashAlg::kSha256, crypto::HashAlg::kSha512}) {
    for (size_t total : {size_t{0}, size_t{1}, size_t{1} << 20, (size_t{1} << 20) + 1, size_t{13} << 20}) {
      Bytes data(total);
      for (auto& b : data) b = static_cast<uint8_t>(rng());
      AsyncHasher a(alg);
      for (size_t off = 0; off < total;) {
        size_t n = std::min<size_t>(total - off, rng() % 300000);
        a.update(ByteSpan(data.data() + off, n));
        off += n;
      }
      EXPECT_EQ(to_hex(a.finish()), to_hex(crypto::digest(alg, data))) << total;
    }
  }
}

ByteSpan span(const std::string& s) { return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

// --repo, then $BOOTSEAL_REPO, then the booted sealed system's root, then
// /var/lib/bootseal/repo.
TEST(RepoRoot, Precedence) {
  const char* saved = std::getenv("BOOTSEAL_REPO");
  std::string keep = saved ? saved : "";
  unsetenv("BOOTSEAL_REPO");
  EXPECT_EQ(repo_root(""), kDefaultRepo);
  EXPECT_EQ(repo_root("", std::string("/sysroot")), "/sysroot");
  EXPECT_EQ(repo_root("/r", std::string("/sysroot")), "/r");
  setenv("BOOTSEAL_REPO", "/env", 1);
  EXPECT_EQ(repo_root("", std::string("/sysroot")), "/env");
  EXPECT_EQ(repo_root("/r"), "/r");
  if (saved)
    setenv("BOOTSEAL_REPO", keep.c_str(), 1);
  else
    unsetenv("BOOTSEAL_REPO");
}

TEST(Meta, NewRepositoryMatchesComposefsRs) {
  EXPECT_EQ(serialize_meta(new_meta(crypto::HashAlg::kSha512, 1)),
            "{\"version\":1,\"algorithm\":\"fsverity-sha512-12\",\"features\":{\"compatible\":[],"
            "\"read-only-compatible\":[\"v1_erofs\"],\"incompatible\":[]},\"erofs_formats\":{\"default\":1}}\n");
  EXPECT_EQ(serialize_meta(new_meta(crypto::HashAlg::kSha256, 2)),
            "{\"version\":1,\"algorithm\":\"fsverity-sha256-12\",\"features\":{\"compatible\":[],"
            "\"read-only-compatible\":[],\"incompatible\":[]},\"erofs_formats\":{\"default\":2}}\n");
}

TEST(Meta, ParsesBootcRepositories) {
  auto m = parse_meta(span(R"({"version":1,"algorithm":"fsverity-sha512-12","features":{"compatible":[],"read-only-compatible":["v1_erofs"],"incompatible":[]},"erofs_formats":{"default":1,"extra":[2]}})"));
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(m->erofs_default, 1u);
  EXPECT_EQ(m->erofs_extra, std::vector<uint32_t>{2});
  EXPECT_FALSE(m->read_only);
  // bootc <= 1.16.3: no erofs_formats means V2.
  auto legacy = parse_meta(span(R"({"version":1,"algorithm":"fsverity-sha512-12","features":{"compatible":[],"read-only-compatible":[],"incompatible":[]}})"));
  ASSERT_TRUE(legacy.ok());
  EXPECT_EQ(legacy->erofs_default, 2u);
  EXPECT_FALSE(legacy->erofs_formats_present);
  EXPECT_EQ(serialize_meta(*legacy).find("erofs_formats"), std::string::npos);
}

TEST(Meta, RefusesWhatItDoesNotKnow) {
  auto bad = [](const std::string& j, const char* want) {
    auto m = parse_meta(span(j));
    ASSERT_FALSE(m.ok()) << j;
    EXPECT_NE(m.error().message().find(want), std::string::npos) << m.error().message();
  };
  bad(R"({"version":1,"algorithm":"fsverity-sha512-12","features":{"incompatible":["x"]}})", "incompatible feature \"x\"");
  bad(R"({"version":2,"algorithm":"fsverity-sha512-12"})", "format version 2");
  bad(R"({"version":1,"algorithm":"fsverity-sha512-16"})", "fsverity-sha512-16");
  bad(R"({"version":1,"algorithm":"fsverity-sha256-12","erofs_formats":{"default":3}})", "EROFS format 3");
  bad(R"({"version":1,"algorithm":"fsverity-sha256-12","erofs_formats":{"default":1}})", "v1_erofs");
  bad("not json", "not a JSON object");
  auto ro = parse_meta(span(R"({"version":1,"algorithm":"fsverity-sha256-12","features":{"read-only-compatible":["newthing"]}})"));
  ASSERT_TRUE(ro.ok());
  EXPECT_TRUE(ro->read_only);
}

TEST(Record, LayerRoundTrip) {
  std::vector<RecordEntry> in(4);
  in[0].entry.type = tar::EntryType::kDirectory;
  in[0].entry.path = "usr dir/with space";
  in[0].entry.mode = 0755;
  in[0].entry.mtime_sec = -5;
  in[0].entry.mtime_nsec = 999999999;
  in[0].entry.xattrs = {{"user.a=b", std::string("v\0\n", 3)}};
  in[1].entry.type = tar::EntryType::kRegular;
  in[1].entry.path = "-";
  in[1].entry.size = 3;
  in[1].data.inline_content = {'a', 'b', 'c'};
  in[2].entry.type = tar::EntryType::kRegular;
  in[2].entry.path = "big";
  in[2].entry.size = 1000;
  in[2].data.digest = Bytes(64, 0xab);
  in[3].entry.type = tar::EntryType::kHardlink;
  in[3].entry.path = "h";
  in[3].entry.link_target = "big";
  std::string text = serialize_layer_record(in);
  auto out = parse_layer_record(span(text));
  ASSERT_TRUE(out.ok()) << out.error().message();
  ASSERT_EQ(out->size(), 4u);
  EXPECT_EQ((*out)[0].entry.path, in[0].entry.path);
  EXPECT_EQ((*out)[0].entry.mtime_sec, -5);
  EXPECT_EQ((*out)[0].entry.mtime_nsec, 999999999u);
  EXPECT_EQ((*out)[0].entry.xattrs, in[0].entry.xattrs);
  EXPECT_EQ((*out)[1].entry.path, "-");
  EXPECT_EQ((*out)[1].data.inline_content, in[1].data.inline_content);
  EXPECT_EQ((*out)[2].data.digest, in[2].data.digest);
  EXPECT_EQ((*out)[3].entry.link_target, "big");
  EXPECT_EQ(serialize_layer_record(*out), text);
  auto objs = layer_record_objects(span(text));
  ASSERT_TRUE(objs.ok());
  EXPECT_EQ(*objs, std::vector<std::string>{to_hex(Bytes(64, 0xab))});
}

TEST(Record, RejectsDamage) {
  EXPECT_FALSE(parse_layer_record(span("junk\n")).ok());
  std::string h = std::string(kLayerRecordMagic) + "\n";
  EXPECT_FALSE(parse_layer_record(span(h + "f a 644 0 0 0 0 3 - 0 0 i:6162\n")).ok());  // size mismatch
  EXPECT_FALSE(parse_layer_record(span(h + "f a 644 0 0 0 0 3 - 0 0 -\n")).ok());       // no data
  EXPECT_FALSE(parse_layer_record(span(h + "x a 644 0 0 0 0 0 - 0 0 -\n")).ok());       // bad type
  EXPECT_FALSE(parse_layer_record(span(h + "d a 999 0 0 0 0 0 - 0 0 -\n")).ok());       // bad octal
  EXPECT_FALSE(parse_layer_record(span(h + "d a 755 0 0 0 0 0 - 0 0 -")).ok());         // no newline
  EXPECT_FALSE(parse_layer_record(span(h + "d a 755 0 0 0 1000000000 0 - 0 0 -\n")).ok());
  EXPECT_TRUE(parse_layer_record(span(h + "d a 755 0 0 0 0 0 - 0 0 -\n")).ok());
}

TEST(Record, DamagedImageRecordsAreErrors) {
  // Wrong JSON types are errors, not exceptions (fsck reads every record).
  for (const char* j : {R"({"type":1})", R"([1])", R"({"type":"bootseal-image","format":"x"})",
                        R"({"type":"bootseal-image","layers":{"a":1}})", R"({"type":null})"})
    EXPECT_FALSE(parse_image_record(span(j)).ok()) << j;
  EXPECT_TRUE(parse_image_record(span(R"({"type":"bootseal-image"})")).ok());
}

TEST(Record, ImageRoundTrip) {
  ImageRecord r;
  r.source = "oci:x:y";
  r.layers = {"bootseal-layer-sha256-00"};
  r.image = "ab";
  r.format = 2;
  r.hash = "sha512";
  r.transforms = {"oci", "boot"};
  auto back = parse_image_record(span(serialize_image_record(r)));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->source, r.source);
  EXPECT_EQ(back->layers, r.layers);
  EXPECT_EQ(back->format, 2u);
  EXPECT_EQ(back->transforms, r.transforms);
  EXPECT_FALSE(parse_image_record(span("{\"type\":\"other\"}")).ok());
  EXPECT_FALSE(parse_image_record(span("{\"type\":\"bootseal-image\",\"layers\":5}")).ok());
}

}  // namespace
}  // namespace bootseal::store
