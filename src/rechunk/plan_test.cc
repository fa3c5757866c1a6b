#include "rechunk/plan.h"

#include <gtest/gtest.h>

#include <set>

namespace bootseal::rechunk {
namespace {

using fstree::make_dir;
using fstree::make_node;

fstree::NodePtr file(std::string content, uint64_t size = 0) {
  auto n = make_node(base::kIfReg | 0644);
  n->size = size ? size : content.size();
  if (!size) n->content.assign(content.begin(), content.end());
  else n->digest.assign(64, 0xab);
  return n;
}

fstree::NodePtr symlink(std::string target) {
  auto n = make_node(base::kIfLnk | 0777);
  n->payload = target;
  n->size = target.size();
  return n;
}

fstree::Node& mkdirs(fstree::Tree& t, const std::vector<std::string>& comps) {
  fstree::Node* d = t.root.get();
  for (auto& c : comps) {
    auto* e = d->find_child(c);
    if (!e) {
      EXPECT_TRUE(d->add_child(c, make_dir(0755)).ok());
      e = d->find_child(c);
    }
    d = e->node.get();
  }
  return *d;
}

const char* kStatus =
    "Package: coreutils\nStatus: install ok installed\nArchitecture: amd64\nVersion: 9.1-1\n"
    "Description: core\n multi-line continuation\n\n"
    "Package: liblzma5\nStatus: install ok installed\nArchitecture: amd64\nSource: xz-utils (5.4.1-0.2)\nVersion: 5.4.1-0.2\n\n"
    "Package: gone\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1\n";

TEST(Dpkg, ParsesInstalledPackagesWithSource) {
  auto p = parse_dpkg_status(kStatus);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].name, "coreutils");
  EXPECT_EQ(p[0].source, "coreutils");
  EXPECT_EQ(p[0].version, "9.1-1");
  EXPECT_EQ(p[1].name, "liblzma5");
  EXPECT_EQ(p[1].source, "xz-utils");
  EXPECT_EQ(p[1].arch, "amd64");
}

TEST(Dpkg, VolatilePaths) {
  EXPECT_TRUE(is_volatile_path("var/lib/dpkg/status"));
  EXPECT_TRUE(is_volatile_path("var/log/dpkg.log"));
  EXPECT_TRUE(is_volatile_path("etc/ld.so.cache"));
  EXPECT_TRUE(is_volatile_path("etc/shadow"));
  EXPECT_FALSE(is_volatile_path("var/lib/dpkg/info/coreutils.list"));
  EXPECT_FALSE(is_volatile_path("usr/bin/ls"));
  EXPECT_TRUE(is_volatile_path("var/cache/apt/pkgcache.bin"));
  EXPECT_FALSE(is_volatile_path("var/cache/apt/archives/bash_5.2.15-2+b2_amd64.deb"));
}

fstree::Tree sample() {
  fstree::Tree t;
  t.root = make_dir(0755);
  mkdirs(t, {"usr", "bin"});
  mkdirs(t, {"usr", "lib"});
  EXPECT_TRUE(t.root->add_child("bin", symlink("usr/bin")).ok());
  auto& bin = *fstree::lookup(t, "/usr/bin");
  auto ls = file("", 150000);
  EXPECT_TRUE(bin.add_child("ls", ls).ok());
  EXPECT_TRUE(bin.add_child("dir", ls, true).ok());  // hardlink, unowned name
  EXPECT_TRUE(bin.add_child("xz", file("", 90000)).ok());
  EXPECT_TRUE(bin.add_child("local-tool", file("#!/bin/sh\n")).ok());
  auto& lib = *fstree::lookup(t, "/usr/lib");
  EXPECT_TRUE(lib.add_child("liblzma.so.5", file("", 160000)).ok());
  EXPECT_TRUE(lib.add_child("vmlinuz", file("", 10u << 20)).ok());
  auto& info = mkdirs(t, {"var", "lib", "dpkg", "info"});
  auto& dpkg = *fstree::lookup(t, "/var/lib/dpkg");
  EXPECT_TRUE(dpkg.add_child("status", file(kStatus)).ok());
  EXPECT_TRUE(info.add_child("coreutils.list", file("/.\n/bin\n/bin/ls\n/usr/bin/missing\n")).ok());
  EXPECT_TRUE(info.add_child("coreutils.md5sums", file("0123 usr/bin/ls\n")).ok());
  EXPECT_TRUE(info.add_child("liblzma5:amd64.list", file("/.\n/usr\n/usr/lib/liblzma.so.5\n/usr/bin/xz\n")).ok());
  auto& debs = mkdirs(t, {"var", "cache", "apt", "archives"});
  EXPECT_TRUE(debs.add_child("liblzma5_5.4.1-0.2_amd64.deb", file("", 200000)).ok());
  auto& log = mkdirs(t, {"var", "log"});
  EXPECT_TRUE(log.add_child("dpkg.log", file("installed things\n")).ok());
  return t;
}

ReadFn reader() {
  return [](const std::string& path, const fstree::Node& n) -> Result<Bytes> {
    if (n.digest.empty()) return n.content;
    return input_error("{}: no content in this test", path);
  };
}

std::map<std::string, std::string> owner_of(const std::vector<Component>& comps) {
  std::map<std::string, std::string> out;
  for (auto& c : comps)
    for (auto& p : c.paths) out[p] = c.name;
  return out;
}

TEST(Components, DpkgOwnershipThroughMergedUsrAndTheRest) {
  std::vector<std::string> notes;
  auto comps = components(sample(), reader(), &notes);
  ASSERT_TRUE(comps.ok()) << comps.error().message();
  auto o = owner_of(*comps);
  EXPECT_EQ(o["/usr/bin/ls"], "deb:coreutils");  // listed as /bin/ls, /bin -> usr/bin
  EXPECT_EQ(o["/usr/bin/dir"], "deb:coreutils");  // a hardlink follows its first name
  EXPECT_EQ(o["/usr/bin/xz"], "deb:xz-utils");    // by source package
  EXPECT_EQ(o["/usr/lib/liblzma.so.5"], "deb:xz-utils");
  EXPECT_EQ(o["/var/lib/dpkg/info/coreutils.md5sums"], "deb:coreutils");
  EXPECT_EQ(o["/var/lib/dpkg/info/liblzma5:amd64.list"], "deb:xz-utils");
  EXPECT_EQ(o["/var/lib/dpkg/status"], "state");
  EXPECT_EQ(o["/var/cache/apt/archives/liblzma5_5.4.1-0.2_amd64.deb"], "deb:xz-utils");
  EXPECT_EQ(o["/var/log/dpkg.log"], "state");
  EXPECT_EQ(o["/usr/lib/vmlinuz"], "big:/usr/lib/vmlinuz");
  EXPECT_EQ(o["/usr/bin/local-tool"], "dir:usr/bin");
  EXPECT_EQ(o["/bin"], "deb:coreutils");  // listed itself: the last component is not followed
  EXPECT_TRUE(notes.empty());
}

TEST(Components, WithoutDpkgByDirectory) {
  fstree::Tree t;
  t.root = make_dir(0755);
  auto& d = mkdirs(t, {"usr", "lib", "modules", "6.1", "kernel", "fs"});
  EXPECT_TRUE(d.add_child("ext4.ko", file("", 500000)).ok());
  std::vector<std::string> notes;
  auto comps = components(t, reader(), &notes);
  ASSERT_TRUE(comps.ok());
  EXPECT_EQ(owner_of(*comps)["/usr/lib/modules/6.1/kernel/fs/ext4.ko"], "dir:usr/lib/modules/6.1");
  ASSERT_EQ(notes.size(), 1u);
}

std::vector<Component> synthetic(size_t n, uint64_t bump = 0, size_t bumped = 0) {
  std::vector<Component> out;
  for (size_t i = 0; i < n; i++) {
    Component c;
    c.name = "deb:pkg" + std::to_string(i);
    c.stability = i % 3 ? 0.9 : 0.6;
    c.size = 10000 + 997 * ((i * 7919) % 101) + (i == bumped ? bump : 0);
    if (i % 17 == 0) c.size *= 40;  // a few big ones
    c.paths = {"/f" + std::to_string(i)};
    out.push_back(c);
  }
  Component s;
  s.name = kStateComponent;
  s.stability = 0;
  s.size = 5000;
  out.push_back(s);
  return out;
}

std::vector<std::set<std::string>> layer_sets(const Plan& p) {
  std::vector<std::set<std::string>> out;
  for (auto& l : p.layers) {
    std::set<std::string> s;
    for (size_t i : l) s.insert(p.components[i].name);
    out.push_back(s);
  }
  return out;
}

TEST(Pack, AtMostNLayersStateLastDeterministic) {
  for (size_t n : {2u, 4u, 8u, 16u, 64u}) {
    Plan p = pack(synthetic(150), n);
    EXPECT_LE(p.layers.size(), n);
    ASSERT_FALSE(p.layers.empty());
    std::set<std::string> last;
    for (size_t i : p.layers.back()) last.insert(p.components[i].name);
    EXPECT_EQ(last, std::set<std::string>{kStateComponent});
    size_t total = 0;
    for (auto& l : p.layers) total += l.size();
    EXPECT_EQ(total, 151u);  // every component exactly once
    EXPECT_EQ(layer_sets(p), layer_sets(pack(synthetic(150), n)));
  }
  Plan one = pack(synthetic(10), 1);
  ASSERT_EQ(one.layers.size(), 1u);
  EXPECT_EQ(one.layers[0].size(), 11u);
  Plan few = pack(synthetic(10), 64);
  EXPECT_EQ(few.layers.size(), 11u);  // one component per layer, plus state
}

TEST(Pack, AComponentChangingSizeMovesNothingElse) {
  // Package 5 grows a little (an update): the other layers keep their content.
  auto a = layer_sets(pack(synthetic(150), 16));
  auto b = layer_sets(pack(synthetic(150, 300, 5), 16));
  EXPECT_EQ(a, b);
}

TEST(Pack, MostStableFirst) {
  Plan p = pack(synthetic(150), 16);
  double prev = 2;
  for (size_t l = 0; l + 1 < p.layers.size(); l++) {
    double s = 1;
    for (size_t i : p.layers[l]) s = std::min(s, p.components[i].stability);
    EXPECT_LE(s, prev);
    prev = s;
  }
}

TEST(DiffSize, CountsNewBlobsOnce) {
  std::vector<BlobRef> a = {{"sha256:a", 10}, {"sha256:b", 20}};
  std::vector<BlobRef> b = {{"sha256:a", 10}, {"sha256:c", 30}, {"sha256:c", 30}};
  auto d = diff_size(a, b);
  EXPECT_EQ(d.total_bytes, 70u);
  EXPECT_EQ(d.download_bytes, 30u);
  EXPECT_EQ(d.download_layers, 1u);
  EXPECT_EQ(d.reused, (std::vector<bool>{true, false, false}));
}

TEST(Fnv, KnownValue) { EXPECT_EQ(fnv1a("a"), 0xaf63dc4c8601ec8cull); }

}  // namespace
}  // namespace bootseal::rechunk
