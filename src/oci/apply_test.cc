#include "oci/apply.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/sysmacros.h>

#include "fstree/dumpfile.h"
#include "oci/json.h"
#include "oci/transform.h"
#include "oci/transport.h"

namespace bootseal::oci {
namespace {

struct Layer {
  archive* a;
  std::vector<uint8_t> out;
  Layer() {
    a = archive_write_new();
    archive_write_set_format_pax(a);
    archive_write_set_bytes_in_last_block(a, 1);
    archive_write_open(a, this, nullptr, &Layer::write_cb, nullptr);
  }
  static la_ssize_t write_cb(archive*, void* c, const void* buf, size_t n) {
    auto* self = static_cast<Layer*>(c);
    auto* p = static_cast<const uint8_t*>(buf);
    self->out.insert(self->out.end(), p, p + n);
    return static_cast<la_ssize_t>(n);
  }
  Layer& add(const std::string& path, mode_t type, std::string data = "", const std::string& link = "",
             int64_t mtime = 100, long nsec = 0, std::vector<std::pair<std::string, std::string>> xattrs = {},
             unsigned perm = 0644) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm);
    archive_entry_set_mtime(e, mtime, nsec);
    if (type == AE_IFLNK) archive_entry_set_symlink(e, link.c_str());
    if (type == AE_IFCHR) archive_entry_set_rdev(e, makedev(1, 3));
    if (type == AE_IFREG && !link.empty()) archive_entry_set_hardlink(e, link.c_str());
    for (auto& [n, v] : xattrs) archive_entry_xattr_add_entry(e, n.c_str(), v.data(), v.size());
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    archive_write_header(a, e);
    if (!data.empty()) archive_write_data(a, data.data(), data.size());
    archive_entry_free(e);
    return *this;
  }
  Layer& dir(const std::string& p, int64_t mtime = 100) { return add(p, AE_IFDIR, "", "", mtime, 0, {}, 0755); }
  Layer& file(const std::string& p, std::string data = "x") { return add(p, AE_IFREG, data); }
  std::vector<uint8_t> finish() {
    archive_write_close(a);
    archive_write_free(a);
    return out;
  }
};

// Digests big files with a fake 32-byte digest: the byte sum repeated.
ContentSink test_sink() {
  return inline_or([](const tar::Entry&, tar::Reader& r) -> Result<Bytes> {
    Bytes all = BS_TRY(r.read_all(1 << 20));
    uint8_t s = 0;
    for (auto b : all) s = static_cast<uint8_t>(s + b);
    return Bytes(32, s);
  });
}

Result<std::string> apply(std::vector<std::vector<uint8_t>> layers, bool transform = false) {
  fstree::Tree tree;
  Applier ap(tree, test_sink());
  int i = 0;
  for (auto& l : layers) {
    auto r = BS_TRY(tar::Reader::open(tar::memory_source(l), fmt::format("layer{}", i++)));
    BS_TRY(ap.apply_layer(*r));
  }
  if (transform) {
    BS_TRY(transform_for_oci(tree, XattrMode::kAllowlist));
    BS_TRY(transform_for_boot(tree));
  }
  finalize_links(tree);
  return fstree::print_dumpfile(tree);
}

TEST(Apply, WhiteoutsOpaqueAndMerge) {
  auto l1 = Layer().dir("a").file("a/f1").file("a/f2").dir("b").file("b/g").dir("c").file("c/h").finish();
  auto l2 = Layer()
                .dir("a", 200)             // replaces stat, keeps children
                .file("a/.wh.f1")          // removes a/f1
                .file("b/new")             // added then removed by the opaque whiteout below
                .file("b/.wh..wh..opq")    // clears b
                .file("b/after")           // survives
                .file(".wh.c")             // removes c entirely
                .finish();
  auto d = apply({l1, l2});
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(*d,
            "/ 0 40755 4 0 0 0 0.0 - - -\n"
            "/a 0 40755 2 0 0 0 200.0 - - -\n"
            "/a/f2 1 100644 1 0 0 0 100.0 - x -\n"
            "/b 0 40755 2 0 0 0 100.0 - - -\n"
            "/b/after 1 100644 1 0 0 0 100.0 - x -\n");
}

TEST(Apply, HardlinksAcrossLayersXattrsNsec) {
  std::string big(100, 'z');
  auto l1 = Layer()
                .dir("usr")
                .add("usr/big", AE_IFREG, big, "", 5, 123456789, {{"user.x", "1"}, {"security.capability", "c"}})
                .finish();
  auto l2 = Layer().add("usr/link", AE_IFREG, "", "usr/big").add("./usr/sym", AE_IFLNK, "", "big").finish();
  auto d = apply({l1, l2});
  ASSERT_TRUE(d.ok()) << d.error().message();
  std::string hex(64, '0');
  uint8_t s = static_cast<uint8_t>(100 * 'z');
  static const char* h = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    hex[2 * i] = h[s >> 4];
    hex[2 * i + 1] = h[s & 15];
  }
  EXPECT_EQ(*d, "/ 0 40755 3 0 0 0 0.0 - - -\n"
                "/usr 0 40755 2 0 0 0 100.0 - - -\n"
                "/usr/big 100 100644 2 0 0 0 5.123456789 " + hex.substr(0, 2) + "/" + hex.substr(2) + " - " + hex +
                " security.capability=c user.x=1\n"
                "/usr/link 100 @100644 2 0 0 0 5.123456789 /usr/big - " + hex + " security.capability=c user.x=1\n"
                "/usr/sym 3 120644 1 0 0 0 100.0 big - -\n");
}

TEST(Apply, BootTransform) {
  auto l1 = Layer()
                .dir("usr", 777)
                .dir("boot", 5)
                .file("boot/vmlinuz")
                .dir("sysroot", 6)
                .dir("run")
                .file("run/x")
                .add("etc", AE_IFDIR, "", "", 1, 0, {{"security.selinux", "l"}, {"user.k", "v"}}, 0755)
                .finish();
  auto d = apply({l1}, true);
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(*d,
            "/ 0 40755 7 0 0 0 777.0 - - -\n"
            "/boot 0 40755 2 0 0 0 777.0 - - -\n"
            "/etc 0 40755 2 0 0 0 1.0 - - -\n"
            "/run 0 40755 2 0 0 0 777.0 - - -\n"
            "/sysroot 0 40755 2 0 0 0 777.0 - - -\n"
            "/usr 0 40755 2 0 0 0 777.0 - - -\n");
}

TEST(Apply, HostileEntries) {
  auto check = [](std::vector<uint8_t> l, const char* want) {
    auto d = apply({l});
    ASSERT_FALSE(d.ok()) << want;
    EXPECT_NE(d.error().message().find(want), std::string::npos) << d.error().message();
    EXPECT_NE(d.error().message().find("layer0: entry"), std::string::npos) << d.error().message();
  };
  check(Layer().file("../etc/passwd").finish(), "\"..\"");
  check(Layer().file("missing/f").finish(), "does not exist");
  check(Layer().add("l", AE_IFLNK, "", "/etc").file("l/passwd").finish(), "not a directory");
  check(Layer().add("h", AE_IFREG, "", "nothere").finish(), "hardlink target");
  check(Layer().dir("d").add("h", AE_IFREG, "", "d").finish(), "is a directory");
  check(Layer().file(".").finish(), "root must be a directory");
}

TEST(Apply, AbsolutePathsAreNormalised) {
  auto d = apply({Layer().dir("/abs").file("/abs//./f").finish()});
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_NE(d->find("/abs/f 1 100644"), std::string::npos) << *d;
}

TEST(Apply, MissingUsrIsAnErrorForTransforms) {
  auto d = apply({Layer().dir("boot").finish()}, true);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message().find("/usr does not exist"), std::string::npos);
}

TEST(Json, ParsesAndSelects) {
  std::string idx = R"({"schemaVersion":2,"manifests":[
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:)" + std::string(64, 'a') +
                    R"(","size":10,"platform":{"architecture":"arm64","os":"linux"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:)" + std::string(64, 'b') +
                    R"(","size":11,"platform":{"architecture":"amd64","os":"linux"},
     "annotations":{"org.opencontainers.image.ref.name":"v1"}}]})";
  auto i = parse_index(ByteSpan(reinterpret_cast<const uint8_t*>(idx.data()), idx.size()));
  ASSERT_TRUE(i.ok()) << i.error().message();
  auto d = select_manifest(*i, std::nullopt, Platform{"amd64", "linux", ""});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->digest.hex, std::string(64, 'b'));
  auto t = select_manifest(*i, std::string("v1"), Platform{"arm64", "linux", ""});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->size, 11u);
  auto bad = select_manifest(*i, std::nullopt, Platform{"s390x", "linux", ""});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("linux/amd64"), std::string::npos);
  EXPECT_FALSE(parse_digest("sha256:../../etc/passwd").ok());
  EXPECT_FALSE(parse_digest("md5:" + std::string(32, 'a')).ok());
  EXPECT_FALSE(parse_digest("sha256:" + std::string(64, 'A')).ok());
}

TEST(Transport, AbsoluteSourceNames) {
  EXPECT_EQ(*absolute_source_name("dir:v3", "/home/u"), "dir:/home/u/v3");
  EXPECT_EQ(*absolute_source_name("v3/", "/home/u"), "/home/u/v3");
  EXPECT_EQ(*absolute_source_name("./a/../b", "/w"), "/w/b");
  EXPECT_EQ(*absolute_source_name("oci:lay:docker.io/library/foo:1.0", "/w"), "oci:/w/lay:docker.io/library/foo:1.0");
  EXPECT_EQ(*absolute_source_name("oci-archive:x.tar:latest", "/w"), "oci-archive:/w/x.tar:latest");
  EXPECT_EQ(*absolute_source_name("docker-archive:d.tar:@1", "/w"), "docker-archive:/w/d.tar:@1");
  EXPECT_EQ(*absolute_source_name("oci:/abs/x:t", "/w"), "oci:/abs/x:t");
  // A registry reference names no local path: kept as given.
  EXPECT_EQ(*absolute_source_name("docker://localhost:5000/x:1", "/w"), "docker://localhost:5000/x:1");
  EXPECT_EQ(*absolute_source_name("containers-storage:localhost/x:1", "/w"), "containers-storage:localhost/x:1");
  EXPECT_FALSE(absolute_source_name("docker-daemon:x", "/w").ok());
}

TEST(Transport, Names) {
  auto n = parse_source_name("oci:/tmp/x:latest");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->path, "/tmp/x");
  EXPECT_EQ(*n->tag, "latest");
  n = parse_source_name("oci-archive:a.tar");
  ASSERT_TRUE(n.ok());
  EXPECT_FALSE(n->tag.has_value());
  // The path ends at the first ':' (skopeo); the reference may hold colons.
  n = parse_source_name("oci:lay:docker.io/library/foo:1.0");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->path, "lay");
  EXPECT_EQ(*n->tag, "docker.io/library/foo:1.0");
  EXPECT_FALSE(parse_source_name("oci:lay:").ok());
  n = parse_source_name("/some/dir");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->transport, Transport::kDirectory);
  EXPECT_TRUE(parse_source_name("docker://x").ok());  // docker.io/library/x:latest (reference_test.cc)
  n = parse_source_name("containers-storage:localhost/x:1");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->transport, Transport::kContainersStorage);
  EXPECT_EQ(n->path, "localhost/x:1");
  EXPECT_FALSE(parse_source_name("docker-daemon:x").ok());
  // docker-archive:FILE[:NAME[:TAG]|:@N], the path ending at the first ':' (skopeo).
  n = parse_source_name("docker-archive:/tmp/d.tar");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->path, "/tmp/d.tar");
  EXPECT_FALSE(n->tag.has_value());
  n = parse_source_name("docker-archive:/tmp/d.tar:foo/bar:v1");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->path, "/tmp/d.tar");
  EXPECT_EQ(*n->tag, "foo/bar:v1");
  n = parse_source_name("docker-archive:d.tar:@1");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n->tag, "@1");
  EXPECT_FALSE(parse_source_name("docker-archive:d.tar:").ok());
}

TEST(Json, DockerArchiveSelection) {
  EXPECT_EQ(normalize_docker_reference("busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(normalize_docker_reference("foo/bar:v1"), "docker.io/foo/bar:v1");
  EXPECT_EQ(normalize_docker_reference("docker.io/foo/bar:v1"), "docker.io/foo/bar:v1");
  EXPECT_EQ(normalize_docker_reference("quay.io/x/y"), "quay.io/x/y:latest");
  EXPECT_EQ(normalize_docker_reference("localhost:5000/x"), "localhost:5000/x:latest");
  std::vector<DockerArchiveEntry> es(2);
  es[0].repo_tags = {"docker.io/foo/bar:v1"};
  es[1].repo_tags = {"busybox:latest", "quay.io/x/y:2"};
  EXPECT_EQ(*select_docker_archive_entry(es, std::string("foo/bar:v1")), 0u);
  EXPECT_EQ(*select_docker_archive_entry(es, std::string("busybox")), 1u);
  EXPECT_EQ(*select_docker_archive_entry(es, std::string("quay.io/x/y:2")), 1u);
  EXPECT_EQ(*select_docker_archive_entry(es, std::string("@1")), 1u);
  auto none = select_docker_archive_entry(es, std::nullopt);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("holds 2 images (@0: docker.io/foo/bar:v1, @1: busybox:latest quay.io/x/y:2)"),
            std::string::npos) << none.error().message();
  EXPECT_FALSE(select_docker_archive_entry(es, std::string("@2")).ok());
  EXPECT_FALSE(select_docker_archive_entry(es, std::string("@x")).ok());
  EXPECT_FALSE(select_docker_archive_entry(es, std::string("foo/bar:v2")).ok());
  es.resize(1);
  EXPECT_EQ(*select_docker_archive_entry(es, std::nullopt), 0u);
}

TEST(Json, MediaTypesAndIndexDocuments) {
  EXPECT_TRUE(is_layer_media_type("application/vnd.oci.image.layer.v1.tar+zstd"));
  EXPECT_TRUE(is_layer_media_type("application/vnd.docker.image.rootfs.diff.tar.gzip"));
  EXPECT_TRUE(is_layer_media_type("application/vnd.docker.image.rootfs.diff.tar"));
  EXPECT_FALSE(is_layer_media_type("application/vnd.oci.image.config.v1+json"));
  auto doc = [](const std::string& s) { return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size()); };
  EXPECT_TRUE(is_index_document(doc(R"({"schemaVersion":2,"manifests":[]})")));
  EXPECT_TRUE(is_index_document(doc(R"({"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]})")));
  EXPECT_FALSE(is_index_document(doc(R"({"schemaVersion":2,"config":{},"layers":[]})")));
  EXPECT_FALSE(is_index_document(doc(R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","manifests":[]})")));
  EXPECT_FALSE(is_index_document(doc("not json")));
}

}  // namespace
}  // namespace bootseal::oci
