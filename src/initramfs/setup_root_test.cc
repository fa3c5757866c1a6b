#include "initramfs/setup_root.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "base/hex.h"
#include "composefs/image.h"
#include "fstree/dumpfile.h"
#include "initramfs/gpt.h"
#include "initramfs/trace_ops.h"

namespace bootseal::initramfs {
namespace {

namespace fs = std::filesystem;

const std::string kDigest = std::string(128, 'a');   // sha512 hex
const std::string kOther = std::string(128, 'b');
const std::string kPartUuid = "0fc63daf-8483-4772-8e79-3d69d8477de4";

// GUID text -> 16 bytes in EFI mixed-endian order.
Bytes guid_bytes(const std::string& s) {
  std::string h;
  for (char c : s)
    if (c != '-') h += c;
  Bytes b = *from_hex(h);
  std::swap(b[0], b[3]);
  std::swap(b[1], b[2]);
  std::swap(b[4], b[5]);
  std::swap(b[6], b[7]);
  return b;
}

struct Part {
  std::string type, uuid, name;
};

// A minimal GPT disk image: LBA 1 header, entries at LBA 2 (128 x 128 bytes).
Bytes make_gpt(const std::vector<Part>& parts) {
  Bytes disk(512 * 40, 0);
  Bytes entries(128 * 128, 0);
  for (size_t i = 0; i < parts.size(); i++) {
    uint8_t* e = entries.data() + 128 * i;
    Bytes t = guid_bytes(parts[i].type), u = guid_bytes(parts[i].uuid);
    std::copy(t.begin(), t.end(), e);
    std::copy(u.begin(), u.end(), e + 16);
    store_le<uint64_t>(e + 32, 2048 * (i + 1));
    store_le<uint64_t>(e + 40, 2048 * (i + 2) - 1);
    for (size_t k = 0; k < parts[i].name.size(); k++) store_le<uint16_t>(e + 56 + 2 * k, static_cast<uint16_t>(parts[i].name[k]));
  }
  uint8_t* h = disk.data() + 512;
  std::memcpy(h, "EFI PART", 8);
  store_le<uint32_t>(h + 8, 0x00010000);
  store_le<uint32_t>(h + 12, 92);
  store_le<uint64_t>(h + 24, 1);
  store_le<uint64_t>(h + 72, 2);
  store_le<uint32_t>(h + 80, 128);
  store_le<uint32_t>(h + 84, 128);
  store_le<uint32_t>(h + 88, crc32(entries));
  store_le<uint32_t>(h + 16, crc32(ByteSpan(h, 92)));
  std::copy(entries.begin(), entries.end(), disk.begin() + 1024);
  return disk;
}

// Runs setup-root's logic against a directory tree: paths map into `root`, mounts are
// recorded, fs-verity digests are a table.
class FakeOps : public SystemOps {
 public:
  explicit FakeOps(std::string root) : root_(std::move(root)) {}
  std::string p(const std::string& path) const { return root_ + path; }

  Result<std::string> read_text(const std::string& path) override {
    std::ifstream in(p(path), std::ios::binary);
    if (!in) return input_error("{}: no such file", path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  Result<Bytes> read_range(const std::string& path, uint64_t off, size_t len) override {
    ranges_read.push_back(path);
    auto t = read_text(path);
    if (!t.ok()) return std::move(t).error();
    if (off + len > t->size()) return input_error("short read");
    return Bytes(t->begin() + static_cast<long>(off), t->begin() + static_cast<long>(off + len));
  }
  Result<std::vector<std::string>> list_dir(const std::string& path) override {
    std::error_code ec;
    std::vector<std::string> out;
    for (auto& e : fs::directory_iterator(p(path), ec)) out.push_back(e.path().filename());
    if (ec) return input_error("{}: {}", path, ec.message());
    return out;
  }
  bool exists(const std::string& path) override { return fs::exists(p(path)); }
  bool is_dir(const std::string& path) override { return fs::is_directory(p(path)); }
  uint64_t file_size(const std::string& path) override {
    std::error_code ec;
    auto s = fs::file_size(p(path), ec);
    return ec ? 0 : s;
  }
  Status mkdir_p(const std::string& path) override {
    fs::create_directories(p(path));
    return {};
  }
  Status mount(const MountCall& m) override {
    if (!fail_mount_type.empty() && fail_mount_type == m.fstype) return input_error("mount {}: No such device", m.fstype);
    if (!fail_mount_source_prefix.empty() && m.source.rfind(fail_mount_source_prefix, 0) == 0)
      return input_error("mount {}: Invalid argument", m.source);
    mounts.push_back(m);
    return {};
  }
  Result<std::string> attach_loop(const std::string& file) override {
    loop_file = file;
    return std::string("/dev/loop0");
  }
  Result<int> open_read(const std::string& path) override {
    if (!fs::exists(p(path))) return input_error("{}: No such file or directory", path);
    int fd = next_fd++;
    fds[fmt::format("/proc/self/fd/{}", fd)] = path;
    return fd;
  }
  // "/proc/self/fd/N" resolves to the file opened as N.
  std::string resolve(const std::string& path) {
    auto it = fds.find(path);
    return it == fds.end() ? path : it->second;
  }
  Result<std::pair<int, Bytes>> measure_verity(const std::string& path0) override {
    std::lock_guard<std::mutex> l(mu);
    std::string path = resolve(path0);
    auto it = verity.find(path);
    if (it == verity.end()) return input_error("{}: fs-verity is not enabled on this file", path);
    return std::make_pair(alg, it->second);
  }
  Status enable_verity(const std::string& path, int a) override {
    std::lock_guard<std::mutex> l(mu);
    enabled.push_back(path);
    alg = a;
    auto it = digest_when_enabled.find(path);
    verity[path] = it != digest_when_enabled.end() ? it->second : Bytes(64, 0x11);
    return {};
  }
  Status sync_fs(const std::string& path) override {
    synced.push_back(path);
    return {};
  }
  Status symlink(const std::string& target, const std::string& path) override {
    symlinks[path] = target;
    return {};
  }
  Status switch_root(const std::string& newroot) override {
    switched_to = newroot;
    return {};
  }
  Status exec_init(const std::string&) override { return {}; }
  Result<int> run(const std::vector<std::string>& argv) override {
    ran.push_back(argv);
    if (run_status == 0) {
      fs::create_directories(p("/dev/mapper"));
      std::ofstream(p("/dev/mapper/root")) << "opened";
    }
    return run_status;
  }
  void sleep_ms(int) override { slept++; }
  uint64_t now_us() override { return clock += 100; }
  void console(const std::string& line) override { lines.push_back(line); }

  std::string root_;
  std::vector<MountCall> mounts;
  std::map<std::string, Bytes> verity, digest_when_enabled;
  std::vector<std::string> enabled, lines, ranges_read, synced;
  std::string switched_to, fail_mount_type, fail_mount_source_prefix, loop_file;
  std::map<std::string, std::string> fds, symlinks;
  std::vector<std::vector<std::string>> ran;
  int run_status = 0;
  int next_fd = 40;
  int alg = 2;
  int slept = 0;
  uint64_t clock = 0;
  std::mutex mu;
};

class SetupRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / fmt::format("bootseal-setup-root-test-{}", ::getpid());
    fs::remove_all(dir);
    ops = std::make_unique<FakeOps>(dir.string());
    write("/dev/vda", make_gpt({{"c12a7328-f81f-11d2-ba4b-00a0c93ec93b", "11111111-2222-3333-4444-555555555555", "ESP"},
                                {std::string(kRootX86_64TypeGuid), kPartUuid, "root"}}));
    write("/dev/vda2", "partition 2");
    fs::create_directories(ops->p("/sys/class/block/vda/vda1"));
    fs::create_directories(ops->p("/sys/class/block/vda/vda2"));
    write("/sys/class/block/vda/vda1/partition", "1\n");
    write("/sys/class/block/vda/vda2/partition", "2\n");
    fs::create_directories(ops->p("/sys/class/block/vda1"));
    write("/sys/class/block/vda1/partition", "1\n");
    fs::create_directories(ops->p("/sys/class/block/vda2"));
    write("/sys/class/block/vda2/partition", "2\n");
    write("/sys/class/block/vda2/dev", "254:2\n");
    // The physical root (already "mounted" at /sysroot) and the image view at /newroot.
    write("/sysroot/composefs/images/" + kDigest, "erofs image");
    write("/sysroot/composefs/objects/ab/" + std::string(126, 'c'), "object one");
    write("/sysroot/composefs/objects/cd/" + std::string(126, 'e'), "object two, longer");
    fs::create_directories(ops->p("/sysroot/state/deploy/" + kDigest + "/etc"));
    for (auto d : {"/newroot/etc", "/newroot/var", "/newroot/sysroot", "/newroot/dev", "/newroot/proc",
                   "/newroot/sys", "/newroot/run"})
      fs::create_directories(ops->p(d));
    write("/newroot/sbin/init", "#!/bin/sh");
    ops->verity["/sysroot/composefs/images/" + kDigest] = *from_hex(kDigest);
    // Objects measure as their names once fs-verity is on (an untampered disk).
    ops->digest_when_enabled["/sysroot/composefs/objects/ab/" + std::string(126, 'c')] = *from_hex("ab" + std::string(126, 'c'));
    ops->digest_when_enabled["/sysroot/composefs/objects/cd/" + std::string(126, 'e')] = *from_hex("cd" + std::string(126, 'e'));
  }
  void TearDown() override { fs::remove_all(dir); }
  void write(const std::string& path, std::string_view data) {
    fs::create_directories(fs::path(ops->p(path)).parent_path());
    std::ofstream(ops->p(path), std::ios::binary).write(data.data(), static_cast<long>(data.size()));
  }
  void write(const std::string& path, const Bytes& data) { write(path, as_string(data)); }
  void cmdline(const std::string& c) { write("/proc/cmdline", c + "\n"); }
  const MountCall* find_mount(const std::string& target) {
    for (auto& m : ops->mounts)
      if (m.target == target) return &m;
    return nullptr;
  }
  fs::path dir;
  std::unique_ptr<FakeOps> ops;
};

TEST_F(SetupRootTest, HappyPathMountsTheSealedRoot) {
  cmdline("console=ttyS0 root=PARTUUID=" + kPartUuid + " composefs=" + kDigest + " rw");
  SetupReport r = setup_root(*ops);
  ASSERT_EQ(r.step, "") << r.error;
  EXPECT_EQ(r.root_device, "/dev/vda2");
  EXPECT_EQ(r.digest_hex, kDigest);
  EXPECT_EQ(r.init, "/sbin/init");
  EXPECT_EQ(ops->switched_to, "/newroot");
  EXPECT_TRUE(ops->enabled.empty());  // verity present: no first-boot pass
  // systemd-gpt-auto-generator finds the disk (and the ESP) through it
  EXPECT_EQ(ops->symlinks["/run/systemd/volatile-root"], "/dev/block/254:2");
  EXPECT_TRUE(fs::is_directory(ops->p("/run/systemd")));
  auto* root = find_mount("/sysroot");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->source, "/dev/vda2");
  EXPECT_EQ(root->fstype, "ext4");
  auto* erofs = find_mount("/run/bootseal/cfs");
  ASSERT_TRUE(erofs);
  EXPECT_EQ(erofs->fstype, "erofs");
  // Mounted through the descriptor that was measured.
  ASSERT_EQ(erofs->source.rfind("/proc/self/fd/", 0), 0u) << erofs->source;
  EXPECT_EQ(ops->resolve(erofs->source), "/sysroot/composefs/images/" + kDigest);
  EXPECT_TRUE(erofs->flags & MS_RDONLY);
  auto* ovl = find_mount("/newroot");
  ASSERT_TRUE(ovl);
  EXPECT_EQ(ovl->fstype, "overlay");
  EXPECT_TRUE(ovl->flags & MS_RDONLY);
  EXPECT_EQ(ovl->data,
            "lowerdir=/run/bootseal/cfs::/sysroot/composefs/objects,metacopy=on,redirect_dir=on,verity=require");
  auto* etc = find_mount("/newroot/etc");
  ASSERT_TRUE(etc);
  EXPECT_EQ(etc->source, "/sysroot/state/deploy/" + kDigest + "/etc");
  EXPECT_EQ(etc->flags, static_cast<unsigned long>(MS_BIND));
  auto* var = find_mount("/newroot/var");
  ASSERT_TRUE(var);
  EXPECT_EQ(var->source, "/sysroot/state/os/default/var");
  EXPECT_TRUE(fs::is_directory(ops->p("/sysroot/state/os/default/var")));
  auto* sysroot = find_mount("/newroot/sysroot");
  ASSERT_TRUE(sysroot);
  EXPECT_EQ(sysroot->flags, static_cast<unsigned long>(MS_MOVE));
  EXPECT_TRUE(find_mount("/newroot/proc") && find_mount("/newroot/run"));
  // Order: root before erofs before overlay before /etc.
  auto idx = [&](const std::string& t) {
    for (size_t i = 0; i < ops->mounts.size(); i++)
      if (ops->mounts[i].target == t) return i;
    return size_t{999};
  };
  EXPECT_LT(idx("/sysroot"), idx("/run/bootseal/cfs"));
  EXPECT_LT(idx("/run/bootseal/cfs"), idx("/newroot"));
  EXPECT_LT(idx("/newroot"), idx("/newroot/etc"));
  EXPECT_LT(idx("/newroot/etc"), idx("/newroot/sysroot"));
}

TEST_F(SetupRootTest, DigestMismatchIsRefused) {
  ops->verity["/sysroot/composefs/images/" + kDigest] = *from_hex(kOther);
  cmdline("root=/dev/vda2 composefs=" + kDigest);
  SetupReport r = setup_root(*ops);
  EXPECT_EQ(r.step, "verify image");
  EXPECT_NE(r.error.find("digest mismatch"), std::string::npos) << r.error;
  EXPECT_FALSE(find_mount("/newroot"));
  EXPECT_FALSE(find_mount("/run/bootseal/cfs"));
  EXPECT_EQ(ops->switched_to, "");
}

TEST_F(SetupRootTest, WrongAlgorithmIsRefused) {
  ops->alg = 1;  // image sealed with sha256
  cmdline("root=/dev/vda2 composefs=" + kDigest);
  EXPECT_EQ(setup_root(*ops).step, "verify image");
}

TEST_F(SetupRootTest, InsecureNeedsExplicitAllow) {
  cmdline("root=/dev/vda2 composefs=?" + kDigest);
  SetupReport r = setup_root(*ops);
  EXPECT_EQ(r.step, "composefs karg policy");
  EXPECT_NE(r.error.find("composefs.insecure=1"), std::string::npos);
  EXPECT_TRUE(ops->mounts.empty());

  ops->mounts.clear();
  ops->verity.clear();  // and no fs-verity at all
  cmdline("root=/dev/vda2 composefs.digest=?v1-sha512-12:" + kDigest + " composefs.insecure=1 bootseal.verity-enable=0");
  r = setup_root(*ops);
  ASSERT_EQ(r.step, "") << r.error;
  auto* ovl = find_mount("/newroot");
  ASSERT_TRUE(ovl);
  EXPECT_EQ(ovl->data.find("verity"), std::string::npos) << ovl->data;
}

TEST_F(SetupRootTest, MissingImageIsRefused) {
  cmdline("root=/dev/vda2 composefs=" + kOther);
  SetupReport r = setup_root(*ops);
  EXPECT_EQ(r.step, "find image");
  EXPECT_NE(r.error.find("names no image"), std::string::npos);
  EXPECT_FALSE(find_mount("/newroot"));
}

TEST_F(SetupRootTest, NoOrBadKarg) {
  cmdline("root=/dev/vda2 quiet");
  EXPECT_EQ(setup_root(*ops).step, "parse composefs karg");
  cmdline("root=/dev/vda2 composefs.digest=v3-sha512-12:" + kDigest);
  SetupReport r = setup_root(*ops);
  EXPECT_EQ(r.step, "parse composefs karg");
  EXPECT_NE(r.error.find("v3"), std::string::npos);
  cmdline("root=/dev/vda2 composefs=" + kDigest + " bootseal.etc=sometimes");
  EXPECT_EQ(setup_root(*ops).step, "parse cmdline");
}

TEST_F(SetupRootTest, FirstBootEnablesVerityThenChecks) {
  ops->verity.clear();
  ops->digest_when_enabled["/sysroot/composefs/images/" + kDigest] = *from_hex(kDigest);
  cmdline("root=/dev/vda2 composefs=" + kDigest);
  SetupReport r = setup_root(*ops);
  ASSERT_EQ(r.step, "") << r.error;
  EXPECT_EQ(r.verity_enabled, 3u);  // two objects and the image
  EXPECT_EQ(r.verity_bytes, 10u + 18u + 11u);
  EXPECT_EQ(ops->enabled.back(), "/sysroot/composefs/images/" + kDigest);  // the image last
  EXPECT_EQ(ops->synced, std::vector<std::string>{"/sysroot/composefs/images/" + kDigest});  // then written back
  EXPECT_EQ(ops->alg, 2);
  ASSERT_FALSE(ops->lines.empty());
  EXPECT_NE(ops->lines[0].find("enabled fs-verity on 3 files"), std::string::npos);
  // One pass in this process, with the configured number of threads, reported.
  ops->verity.clear();
  ops->enabled.clear();
  ops->lines.clear();
  SetupConfig cfg;
  cfg.verity_threads = 3;
  r = setup_root(*ops, cfg);
  ASSERT_EQ(r.step, "") << r.error;
  EXPECT_EQ(r.verity_enabled, 3u);
  ASSERT_FALSE(ops->lines.empty());
  EXPECT_NE(ops->lines[0].find("(0.0 MB)"), std::string::npos) << ops->lines[0];
  EXPECT_NE(ops->lines[0].find("with 3 threads"), std::string::npos) << ops->lines[0];
  // Its time is reported apart and left out of the steps' laps.
  EXPECT_GT(r.verity_us, 0u);
  bool lap = false;
  for (auto& [name, us] : r.timings) lap |= name == "verity-pass";
  EXPECT_TRUE(lap);
}

TEST_F(SetupRootTest, SecondBootHasNoVerityPassLap) {
  cmdline("root=/dev/vda2 composefs=" + kDigest);
  SetupReport r = setup_root(*ops);
  ASSERT_EQ(r.step, "") << r.error;
  EXPECT_EQ(r.verity_us, 0u);
  std::vector<std::string> names;
  for (auto& [name, us] : r.timings) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"cmdline", "run", "find-root", "mount-root", "open-image", "verify", "erofs",
                                             "overlay", "etc-var", "moves", "switch-root"}));
}

TEST_F(SetupRootTest, FirstBootOfATamperedImageIsRefused) {
  ops->verity.clear();
  ops->digest_when_enabled["/sysroot/composefs/images/" + kDigest] = *from_hex(kOther);
  cmdline("root=/dev/vda2 composefs=" + kDigest);
  EXPECT_EQ(setup_root(*ops).step, "verify image");
}

// An object whose measured digest is not its name (a byte flipped on the disk
// before its first boot): refused before switching root, naming the object and
// the image's files that use it; the image gets no fs-verity, so the next boot
// checks again.
TEST_F(SetupRootTest, FirstBootRefusesAnObjectThatIsNotItsName) {
  const std::string obj = "cd/" + std::string(126, 'e');
  auto tree = fstree::parse_dumpfile("/ 4096 40755 2 0 0 0 0.0 - - -\n/usr 4096 40755 2 0 0 0 0.0 - - -\n"
                                     "/usr/bin 4096 40755 2 0 0 0 0.0 - - -\n"
                                     "/usr/bin/tool 1000 100755 1 0 0 0 0.0 " + obj + " - cd" + std::string(126, 'e') + "\n"
                                     "/usr/bin/other 1000 100755 1 0 0 0 0.0 ab/" + std::string(126, 'c') + " - ab" +
                                     std::string(126, 'c') + "\n");
  ASSERT_TRUE(tree.ok()) << tree.error().message();
  auto img = composefs::build_image(*tree);
  ASSERT_TRUE(img.ok()) << img.error().message();
  write("/sysroot/composefs/images/" + kDigest, img->data);
  ops->verity.clear();
  ops->digest_when_enabled["/sysroot/composefs/images/" + kDigest] = *from_hex(kDigest);
  ops->digest_when_enabled["/sysroot/composefs/objects/" + obj] = *from_hex(kOther);
  cmdline("root=/dev/vda2 composefs=" + kDigest);
  TraceOps traced(*ops);
  SetupReport r = setup_root(traced);
  EXPECT_EQ(r.step, "verify objects");
  EXPECT_NE(r.error.find("object composefs/objects/" + obj + " measures fs-verity digest " + kOther.substr(0, 16)),
            std::string::npos) << r.error;
  EXPECT_NE(r.error.find("used by /usr/bin/tool)"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find("/usr/bin/other"), std::string::npos) << r.error;
  EXPECT_TRUE(ops->switched_to.empty());
  EXPECT_TRUE(ops->mounts.empty() || ops->mounts.back().fstype != "overlay");
  for (auto& e : ops->enabled) EXPECT_NE(e, "/sysroot/composefs/images/" + kDigest);  // not sealed as done
  // An object that already had fs-verity (a pass interrupted after enabling it) is checked too.
  ops->enabled.clear();
  ops->verity.clear();
  ops->verity["/sysroot/composefs/objects/" + obj] = *from_hex(kOther);
  r = setup_root(*ops);
  EXPECT_EQ(r.step, "verify objects") << r.error;
}

TEST_F(SetupRootTest, VerityPassCanBeDisabled) {
  ops->verity.clear();
  cmdline("root=/dev/vda2 composefs=" + kDigest + " bootseal.verity-enable=0");
  EXPECT_EQ(setup_root(*ops).step, "measure image");
  EXPECT_TRUE(ops->enabled.empty());
}

TEST_F(SetupRootTest, FindsRootByDiscoverablePartitionType) {
  cmdline("composefs=" + kDigest);
  SetupReport r = setup_root(*ops);
  ASSERT_EQ(r.step, "") << r.error;
  EXPECT_EQ(r.root_device, "/dev/vda2");
  cmdline("root=PARTLABEL=root composefs=" + kDigest);
  EXPECT_EQ(setup_root(*ops).root_device, "/dev/vda2");
}

TEST_F(SetupRootTest, DiscoveryReadsEachGptOnceAndSkipsVirtualDisks) {
  // Idle loop devices are whole disks too; they are not read.
  for (int i = 0; i < 8; i++) {
    fs::create_directories(ops->p(fmt::format("/sys/class/block/loop{}", i)));
    write(fmt::format("/dev/loop{}", i), "");
  }
  cmdline("composefs=" + kDigest);
  SetupReport r = setup_root(*ops);
  ASSERT_EQ(r.step, "") << r.error;
  EXPECT_EQ(r.root_device, "/dev/vda2");
  EXPECT_EQ(ops->ranges_read, std::vector<std::string>{"/dev/vda"});  // header and entries in one read
}

TEST_F(SetupRootTest, PartitionDeviceOfADiskWhoseNameEndsInADigit) {
  // nvme0n1's partition 2 is nvme0n1p2.
  fs::remove_all(ops->p("/sys/class/block"));
  write("/dev/nvme0n1", make_gpt({{"c12a7328-f81f-11d2-ba4b-00a0c93ec93b", "11111111-2222-3333-4444-555555555555", "ESP"},
                                  {std::string(kRootX86_64TypeGuid), kPartUuid, "root"}}));
  fs::create_directories(ops->p("/sys/class/block/nvme0n1/nvme0n1p2"));
  write("/sys/class/block/nvme0n1/nvme0n1p2/partition", "2\n");
  fs::create_directories(ops->p("/sys/class/block/nvme0n1p2"));
  write("/sys/class/block/nvme0n1p2/partition", "2\n");
  EXPECT_EQ(*find_root(*ops, "root=PARTUUID=" + kPartUuid + " bootseal.rootwait=0"), "/dev/nvme0n1p2");
  // A name the kernel did not use is found by its sysfs "partition" file.
  fs::remove_all(ops->p("/sys/class/block/nvme0n1/nvme0n1p2"));
  fs::create_directories(ops->p("/sys/class/block/nvme0n1/nvme0n1-root"));
  write("/sys/class/block/nvme0n1/nvme0n1-root/partition", "2\n");
  EXPECT_EQ(*find_root(*ops, "bootseal.rootwait=0"), "/dev/nvme0n1-root");
}

TEST_F(SetupRootTest, MissingRepositoryOrImageIsNamed) {
  fs::remove_all(ops->p("/sysroot/composefs"));
  cmdline("root=/dev/vda2 composefs=" + kDigest);
  SetupReport r = setup_root(*ops);
  EXPECT_EQ(r.step, "open repository");
  EXPECT_NE(r.error.find("no composefs/ directory"), std::string::npos) << r.error;
  EXPECT_FALSE(find_mount("/newroot"));
}

TEST_F(SetupRootTest, RootThatNeverAppears) {
  cmdline("root=PARTUUID=99999999-2222-3333-4444-555555555555 bootseal.rootwait=1 composefs=" + kDigest);
  SetupReport r = setup_root(*ops);
  EXPECT_EQ(r.step, "find root");
  EXPECT_GE(ops->slept, 10);
  cmdline("root=UUID=abc composefs=" + kDigest);
  EXPECT_EQ(setup_root(*ops).step, "find root");
}

TEST_F(SetupRootTest, EtcModes) {
  cmdline("root=/dev/vda2 composefs=" + kDigest + " bootseal.etc=transient");
  ASSERT_EQ(setup_root(*ops).step, "");
  auto* etc = find_mount("/newroot/etc");
  ASSERT_TRUE(etc);
  EXPECT_EQ(etc->fstype, "overlay");
  EXPECT_EQ(etc->data, "lowerdir=/newroot/etc,upperdir=/run/bootseal/etc/etc,workdir=/run/bootseal/etc/etc.work");

  ops->mounts.clear();
  cmdline("root=/dev/vda2 composefs=" + kDigest + " bootseal.etc=overlay");
  ASSERT_EQ(setup_root(*ops).step, "");
  etc = find_mount("/newroot/etc");
  ASSERT_TRUE(etc);
  EXPECT_NE(etc->data.find("upperdir=/sysroot/state/deploy/" + kDigest + "/etc,"), std::string::npos);

  ops->mounts.clear();
  cmdline("root=/dev/vda2 composefs=" + kDigest + " bootseal.etc=none");
  ASSERT_EQ(setup_root(*ops).step, "");
  EXPECT_FALSE(find_mount("/newroot/etc"));

  ops->mounts.clear();
  fs::remove_all(ops->p("/sysroot/state/deploy"));
  cmdline("root=/dev/vda2 composefs=" + kDigest);
  SetupReport r = setup_root(*ops);
  EXPECT_EQ(r.step, "mount /etc");
  EXPECT_NE(r.error.find("transient"), std::string::npos);
}

TEST_F(SetupRootTest, ErofsFallsBackToLoop) {
  cmdline("root=/dev/vda2 composefs=" + kDigest);
  // First erofs mount fails only for the file source: emulate by failing all erofs, expect the error names both.
  ops->fail_mount_type = "erofs";
  SetupReport r = setup_root(*ops);
  EXPECT_EQ(r.step, "mount erofs");
  EXPECT_NE(r.error.find("/dev/loop0"), std::string::npos) << r.error;
}

TEST_F(SetupRootTest, ErofsOnALoopDeviceWhenFileBackedMountsFail) {
  // A kernel without EROFS_FS_BACKED_BY_FILE: the measured file goes on a loop device.
  cmdline("root=/dev/vda2 composefs=" + kDigest);
  ops->fail_mount_source_prefix = "/proc/self/fd/";
  SetupReport r = setup_root(*ops);
  ASSERT_EQ(r.step, "") << r.error;
  auto* erofs = find_mount("/run/bootseal/cfs");
  ASSERT_TRUE(erofs);
  EXPECT_EQ(erofs->source, "/dev/loop0");
  EXPECT_EQ(ops->resolve(ops->loop_file), "/sysroot/composefs/images/" + kDigest);  // the measured descriptor
  EXPECT_EQ(erofs->fstype, "erofs");
  EXPECT_TRUE(erofs->flags & MS_RDONLY);
  ASSERT_TRUE(find_mount("/newroot"));
}

TEST_F(SetupRootTest, MissingInitAndFailureAction) {
  fs::remove(ops->p("/newroot/sbin/init"));
  cmdline("root=/dev/vda2 composefs=" + kDigest);
  EXPECT_EQ(setup_root(*ops).step, "find init");
  EXPECT_EQ(failure_action("bootseal.on-failure=shell"), "shell");
  EXPECT_EQ(failure_action("bootseal.on-failure=whatever"), "halt");
  EXPECT_EQ(failure_action(""), "halt");
}

TEST_F(SetupRootTest, TracingChangesNothingAndRecordsEveryCall) {
  cmdline("root=/dev/vda2 composefs=" + kDigest);
  TraceOps trace(*ops);
  SetupReport r = setup_root(trace);
  ASSERT_EQ(r.step, "") << r.error;
  EXPECT_EQ(ops->switched_to, "/newroot");
  auto lines = trace.lines();
  auto has = [&](const std::string& what) {
    for (auto& l : lines)
      if (l.find(what) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(has(" read_text /proc/cmdline")) << lines.front();
  EXPECT_TRUE(has(" mount /dev/vda2 /sysroot ext4 0x0"));
  EXPECT_TRUE(has(" measure_verity /proc/self/fd/"));
  EXPECT_TRUE(has(" switch_root /newroot"));
  EXPECT_EQ(lines.front().rfind("+0.00 ", 0), 0u) << lines.front();
}

// A LUKS2 binary header's first 512 bytes (magic, version 2, UUID at 168).
std::string luks2_header(const std::string& uuid) {
  std::string h(4096, '\0');
  const char magic[] = {'L', 'U', 'K', 'S', '\xba', '\xbe', 0, 2};
  h.replace(0, 8, magic, 8);
  h.replace(168, uuid.size(), uuid);
  return h;
}
const std::string kLuksUuid = "5a1ed000-1111-4222-8333-444455556666";

TEST_F(SetupRootTest, EncryptedRootIsUnlockedThenMounted) {
  write("/dev/vda2", luks2_header(kLuksUuid));
  cmdline("console=ttyS0 root=PARTUUID=" + kPartUuid + " composefs=" + kDigest + " bootseal.luks=" + kLuksUuid);
  SetupReport r = setup_root(*ops);
  ASSERT_EQ(r.step, "") << r.error;
  ASSERT_EQ(ops->ran.size(), 1u);
  EXPECT_EQ(ops->ran[0], (std::vector<std::string>{std::string(kUnlockProgram), "/dev/vda2", "root"}));
  auto* root = find_mount("/sysroot");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->source, "/dev/mapper/root");
  EXPECT_EQ(r.root_device, "/dev/mapper/root (/dev/vda2)");
}

// The filesystem-confusion attack (GHSA-wj2j-qwcf-cfcc): the encrypted root swapped for a
// plain partition (or another LUKS2 volume) with the same identity is never mounted.
TEST_F(SetupRootTest, EncryptedRootSwappedForAPlainOneIsRefused) {
  write("/dev/vda2", std::string(4096, '\0'));
  cmdline("console=ttyS0 root=PARTUUID=" + kPartUuid + " composefs=" + kDigest + " bootseal.luks=" + kLuksUuid);
  SetupReport r = setup_root(*ops);
  EXPECT_EQ(r.step, "unlock root");
  EXPECT_NE(r.error.find("/dev/vda2 is not a LUKS2 volume"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("refusing it"), std::string::npos) << r.error;
  EXPECT_TRUE(ops->ran.empty());
  EXPECT_FALSE(find_mount("/sysroot"));

  write("/dev/vda2", luks2_header("00000000-1111-4222-8333-444455556666"));
  r = setup_root(*ops);
  EXPECT_EQ(r.step, "unlock root");
  EXPECT_NE(r.error.find("is the LUKS2 volume 00000000-1111-4222-8333-444455556666, not " + kLuksUuid), std::string::npos)
      << r.error;
  EXPECT_FALSE(find_mount("/sysroot"));
}

TEST_F(SetupRootTest, EncryptedRootThatDoesNotOpenIsNotMounted) {
  write("/dev/vda2", luks2_header(kLuksUuid));
  ops->run_status = 1;
  cmdline("console=ttyS0 root=PARTUUID=" + kPartUuid + " composefs=" + kDigest + " bootseal.luks=" + kLuksUuid);
  SetupReport r = setup_root(*ops);
  EXPECT_EQ(r.step, "unlock root");
  EXPECT_NE(r.error.find("could not open /dev/vda2 (exit 1)"), std::string::npos) << r.error;
  EXPECT_FALSE(find_mount("/sysroot"));
}

TEST(Gpt, RejectsCorruption) {
  Bytes d = make_gpt({{std::string(kRootX86_64TypeGuid), kPartUuid, "root"}});
  auto h = parse_gpt_header(ByteSpan(d).subspan(512, 512));
  ASSERT_TRUE(h.ok());
  auto parts = *parse_gpt_entries(ByteSpan(d).subspan(1024), *h);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].type_guid, kRootX86_64TypeGuid);
  EXPECT_EQ(parts[0].unique_guid, kPartUuid);
  EXPECT_EQ(parts[0].name, "root");
  d[512 + 40] ^= 1;  // header CRC no longer matches
  EXPECT_FALSE(parse_gpt_header(ByteSpan(d).subspan(512, 512)).ok());
  EXPECT_FALSE(parse_gpt_header(ByteSpan(d).subspan(512, 50)).ok());
  EXPECT_FALSE(parse_gpt_entries(ByteSpan(d).subspan(1024, 100), *h).ok());
}

}  // namespace
}  // namespace bootseal::initramfs
