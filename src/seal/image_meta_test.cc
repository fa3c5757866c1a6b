#include "seal/image_meta.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace bootseal::seal {
namespace {

TEST(KargsD, BootcFormat) {
  auto k = parse_kargs_d("# comment\nkargs = [\"console=ttyS0\", 'nosmt',\n  \"lockdown=integrity\", # trailing\n]\n",
                         "10-a.toml", Arch::kX86_64);
  ASSERT_TRUE(k.ok()) << k.error().message();
  EXPECT_EQ(*k, (std::vector<std::string>{"console=ttyS0", "nosmt", "lockdown=integrity"}));
}

TEST(KargsD, MatchArchitectures) {
  std::string t = "kargs = [\"a=1\"]\nmatch-architectures = [\"aarch64\"]\n";
  EXPECT_TRUE(parse_kargs_d(t, "f", Arch::kX86_64)->empty());
  EXPECT_EQ(parse_kargs_d(t, "f", Arch::kArm64)->size(), 1u);
  std::string x = "match-architectures = [\"x86_64\", \"aarch64\"]\nkargs = [\"b\"]";
  EXPECT_EQ(parse_kargs_d(x, "f", Arch::kX86_64)->at(0), "b");
}

TEST(KargsD, Refusals) {
  auto unknown = parse_kargs_d("kargs = [\"a\"]\nfoo = [\"b\"]\n", "x.toml", Arch::kX86_64);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message().find("x.toml: unknown key foo"), std::string::npos) << unknown.error().message();
  EXPECT_FALSE(parse_kargs_d("kargs = [\"a b\"]", "f", Arch::kX86_64).ok());  // two arguments
  EXPECT_FALSE(parse_kargs_d("kargs = [\"a\"", "f", Arch::kX86_64).ok());
  EXPECT_FALSE(parse_kargs_d("kargs = \"a\"", "f", Arch::kX86_64).ok());
  EXPECT_FALSE(parse_kargs_d("[table]\nkargs = []", "f", Arch::kX86_64).ok());
  EXPECT_FALSE(parse_kargs_d("match-architectures = []", "f", Arch::kX86_64).ok());  // no kargs
  auto bad = parse_kargs_d("kargs = [\"a\",\n \"b\" \"c\"]", "f.toml", Arch::kX86_64);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("f.toml: line 2"), std::string::npos) << bad.error().message();
}

TEST(Policy, RequireAndDeny) {
  KargPolicy p;
  p.require.push_back({"lockdown", "--require-karg"});
  p.require.push_back({"module.sig_enforce=1", "--require-karg"});
  p.deny.push_back({"init", "--deny-karg"});
  p.deny.push_back({"rd.break", "--deny-karg"});
  EXPECT_TRUE(check_policy("composefs=ab lockdown=integrity module.sig_enforce=1 quiet", p).ok());
  auto lost = check_policy("composefs=ab module.sig_enforce=1", p);
  ASSERT_FALSE(lost.ok());
  EXPECT_NE(lost.error().message().find("lacks the required argument lockdown (--require-karg)"), std::string::npos)
      << lost.error().message();
  auto wrong = check_policy("lockdown=integrity module.sig_enforce=1 module.sig_enforce=0", p);  // the last one wins
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message().find("module.sig_enforce=0"), std::string::npos) << wrong.error().message();
  auto shell = check_policy("lockdown=integrity module.sig_enforce=1 init=/bin/sh", p);
  ASSERT_FALSE(shell.ok());
  EXPECT_NE(shell.error().message().find("forbidden argument init=/bin/sh (denied by --deny-karg init)"), std::string::npos)
      << shell.error().message();
  EXPECT_FALSE(check_policy("lockdown module_sig_enforce=1 rd.break", p).ok());
  // '-' and '_' are the same in parameter names; a value-specific deny leaves other values.
  KargPolicy q;
  q.require.push_back({"module_sig-enforce=1", "--policy p.toml"});
  q.deny.push_back({"selinux=0", "--policy p.toml"});
  EXPECT_TRUE(check_policy("module_sig_enforce=1 selinux=1", q).ok());
  EXPECT_FALSE(check_policy("module_sig_enforce=1 selinux=0", q).ok());
}

TEST(Policy, File) {
  KargPolicy p;
  ASSERT_TRUE(parse_policy("require = [\"lockdown=integrity\"]\ndeny = [\"init\", \"rd.break\"]\n", "p.toml", p).ok());
  EXPECT_EQ(p.require.size(), 1u);
  EXPECT_EQ(p.deny.size(), 2u);
  EXPECT_EQ(p.deny[0].origin, "--policy p.toml");
  auto bad = parse_policy("allow = [\"x\"]", "p.toml", p);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("unknown key allow"), std::string::npos);
}

TEST(Tar, OneFileLayer) {
  Bytes content(1000, 0x5a);
  auto t = one_file_tar({{"boot/EFI", 0755, 7}}, "boot/EFI/Linux/x.efi", content, 7);
  ASSERT_TRUE(t.ok());
  // 2 headers + 2 data blocks + 2 end blocks.
  EXPECT_EQ(t->size(), 512u * 6);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(t->data()), 9), "boot/EFI/");
  EXPECT_EQ((*t)[156], '5');
  EXPECT_EQ((*t)[512 + 156], '0');
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(t->data()) + 512 + 257, 5), "ustar");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(t->data()) + 512 + 124, 11), "00000001750");  // 1000 octal
  // The checksum field: six octal digits, NUL, space, over the header with spaces in it.
  unsigned sum = 0;
  for (int i = 0; i < 512; i++) sum += (i >= 148 && i < 156) ? ' ' : (*t)[512 + i];
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(t->data()) + 512 + 148, 6), fmt::format("{:06o}", sum));
  EXPECT_EQ(*t, *one_file_tar({{"boot/EFI", 0755, 7}}, "boot/EFI/Linux/x.efi", content, 7));  // reproducible
}

TEST(Meta, DerivedManifestAndConfig) {
  std::string cfg = R"({"architecture":"amd64","os":"linux","created":"2026-01-01T00:00:00Z",
    "config":{"Labels":{"a":"b"}},"rootfs":{"type":"layers","diff_ids":["sha256:)" + std::string(64, '1') + R"("]},
    "history":[{"created_by":"base"}]})";
  std::string man = R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
    "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:)" + std::string(64, '2') +
                    R"(","size":10},
    "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"sha256:)" +
                    std::string(64, '3') + R"(","size":5}]})";
  SealInputs in;
  in.manifest = as_bytes(man);
  in.config = as_bytes(cfg);
  in.layer_digest = "sha256:" + std::string(64, '4');
  in.layer_size = 3072;
  in.layer_comment = "bootseal seal";
  in.manifest_annotations[bootable_annotation(1)] = "ab";
  in.labels["containers.bootc"] = "1";
  auto r = derive_sealed_meta(in, [](ByteSpan c) { return std::map<std::string, std::string>{{config_annotation(), std::to_string(c.size())}}; });
  ASSERT_TRUE(r.ok()) << r.error().message();
  auto c = nlohmann::json::parse(r->config.begin(), r->config.end());
  EXPECT_EQ(c["rootfs"]["diff_ids"].size(), 2u);
  EXPECT_EQ(c["rootfs"]["diff_ids"][1], in.layer_digest);
  EXPECT_EQ(c["config"]["Labels"]["containers.bootc"], "1");
  EXPECT_EQ(c["config"]["Labels"]["a"], "b");
  EXPECT_EQ(c["history"].size(), 2u);
  EXPECT_EQ(c["history"][1]["created"], "2026-01-01T00:00:00Z");
  auto m = nlohmann::json::parse(r->manifest.begin(), r->manifest.end());
  EXPECT_EQ(m["mediaType"], "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(m["config"]["mediaType"], "application/vnd.oci.image.config.v1+json");
  EXPECT_EQ(m["config"]["size"], r->config.size());
  EXPECT_EQ(m["config"]["annotations"]["composefs.config.fsverity-sha512-12"], std::to_string(r->config.size()));
  EXPECT_EQ(m["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip");
  EXPECT_EQ(m["layers"][1]["mediaType"], "application/vnd.oci.image.layer.v1.tar");
  EXPECT_EQ(m["layers"][1]["size"], 3072);
  EXPECT_EQ(m["annotations"]["composefs.merged.bootable.erofs.v1.fsverity-sha512-12"], "ab");
  EXPECT_FALSE(derive_sealed_meta({.manifest = as_bytes("[]"), .config = as_bytes(cfg)}).ok());
}

TEST(Meta, AnnotationKeys) {
  EXPECT_EQ(bootable_annotation(1), "composefs.merged.bootable.erofs.v1.fsverity-sha512-12");
  EXPECT_EQ(bootable_annotation(2), "composefs.merged.bootable.erofs.v2.fsverity-sha512-12");
  EXPECT_EQ(config_annotation(), "composefs.config.fsverity-sha512-12");
}

}  // namespace
}  // namespace bootseal::seal
