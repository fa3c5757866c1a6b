#include "initramfs/setup_root.h"

#include <cstring>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/ranges.h>

#include "base/arch.h"
#include "base/hex.h"
#include "erofs/reader.h"
#include "fstree/tree.h"
#include "initramfs/gpt.h"
#include "sys/mounts.h"

namespace bootseal::initramfs {
namespace {

constexpr int kAlgSha256 = 1, kAlgSha512 = 2;  // FS_VERITY_HASH_ALG_*
constexpr int kDefaultRootWaitS = 10;
constexpr int kRootPollMs = 10;  // the disk usually appears within ~50 ms of its module loading

// A failed step: its name and reason (printed as one console line).
struct StepError {
  std::string step, reason;
};

int kernel_alg(bls::KargHash h) { return h == bls::KargHash::kSha256 ? kAlgSha256 : kAlgSha512; }

std::string short_hex(const std::string& hex) { return hex.size() > 16 ? hex.substr(0, 16) + "…" : hex; }

// Parses the composefs karg: composefs.hash= decides the hash; otherwise SHA-512
// (bootc's choice) and, if that finds nothing usable, SHA-256.
Result<bls::ComposefsKarg> parse_karg(std::string_view cmdline) {
  auto forced = bls::cmdline_value(cmdline, kKargHash);
  if (forced) {
    bls::KargHash h = BS_TRY(bls::parse_karg_hash(*forced));
    auto r = BS_TRY(bls::parse_composefs_karg(cmdline, h));
    if (!r) return input_error("no composefs= or composefs.digest= ({}) on the kernel command line", *forced);
    return *r;
  }
  auto r512 = bls::parse_composefs_karg(cmdline, bls::KargHash::kSha512);
  if (r512.ok() && r512->has_value()) return **r512;
  auto r256 = bls::parse_composefs_karg(cmdline, bls::KargHash::kSha256);
  if (r256.ok() && r256->has_value()) return **r256;
  if (!r512.ok()) return std::move(r512).error();
  if (!r256.ok()) return std::move(r256).error();
  return input_error("no composefs= or composefs.digest= on the kernel command line");
}

// Bytes read at once from LBA 1: the header and, in the usual layout (entries from
// LBA 2, 128 entries of 128 bytes), the whole entry array, in one I/O. Whole-disk
// block devices lose their page cache on last close, so each read is a disk read.
constexpr size_t kGptReadAhead = 16384;

Result<std::vector<GptPartition>> read_gpt(SystemOps& ops, const std::string& dev, uint32_t sector) {
  Bytes buf = BS_TRY(ops.read_range(dev, sector, sector + kGptReadAhead));
  GptHeader h = BS_TRY(parse_gpt_header(ByteSpan(buf).subspan(0, sector)));
  size_t len = size_t{h.num_entries} * h.entry_size;
  if (h.entries_lba == 2 && len <= kGptReadAhead) return parse_gpt_entries(ByteSpan(buf).subspan(sector, len), h);
  Bytes entries = BS_TRY(ops.read_range(dev, h.entries_lba * sector, len));
  return parse_gpt_entries(entries, h);
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Virtual block devices that never hold the root's GPT (loop devices are not even
// attached this early): not searched, so an idle loop0..7 costs no reads.
bool is_virtual_disk(const std::string& name) {
  for (const char* p : {"loop", "ram", "zram", "nbd"})
    if (name.rfind(p, 0) == 0) return true;
  return false;
}

// The kernel's device for partition `number` of `disk`: "vdb" 1 -> "vdb1",
// "nvme0n1" 1 -> "nvme0n1p1" (checked against its sysfs "partition" file); else a
// scan of the disk's sysfs children.
Result<std::string> partition_device(SystemOps& ops, const std::string& disk, uint32_t number) {
  std::string sys = "/sys/class/block/" + disk;
  bool digit_end = !disk.empty() && std::isdigit(static_cast<unsigned char>(disk.back()));
  std::string guess = disk + (digit_end ? "p" : "") + std::to_string(number);
  if (auto n = ops.read_text(sys + "/" + guess + "/partition"); n.ok() && trim(*n) == std::to_string(number))
    return "/dev/" + guess;
  auto children = BS_TRY(ops.list_dir(sys));
  std::sort(children.begin(), children.end());
  for (auto& c : children) {
    if (c.rfind(disk, 0) != 0) continue;  // partitions are named after their disk
    auto n = ops.read_text(sys + "/" + c + "/partition");
    if (n.ok() && trim(*n) == std::to_string(number)) return "/dev/" + c;
  }
  return input_error("partition {} of {} has no device", number, disk);
}

// One scan of /sys/class/block for a partition matching `pred`.
Result<std::string> scan_partitions(SystemOps& ops, const std::function<bool(const GptPartition&)>& pred) {
  auto names = BS_TRY(ops.list_dir("/sys/class/block"));
  std::sort(names.begin(), names.end());
  for (auto& disk : names) {
    if (is_virtual_disk(disk)) continue;
    std::string sys = "/sys/class/block/" + disk;
    if (ops.exists(sys + "/partition")) continue;  // only whole disks carry a GPT
    uint32_t sector = 512;
    if (auto lbs = ops.read_text(sys + "/queue/logical_block_size"); lbs.ok()) {
      uint32_t v = static_cast<uint32_t>(std::strtoul(lbs->c_str(), nullptr, 10));
      if (v >= 512 && v <= 4096) sector = v;
    }
    auto parts = read_gpt(ops, "/dev/" + disk, sector);
    if (!parts.ok()) continue;  // not GPT, empty, or unreadable
    for (auto& p : *parts) {
      if (!pred(p)) continue;
      auto dev = partition_device(ops, disk, p.number);
      if (dev.ok()) return dev;
    }
  }
  return input_error("not found");
}

}  // namespace

Status check_luks2_header(ByteSpan h, std::string_view uuid, std::string_view device) {
  static constexpr uint8_t kMagic[6] = {'L', 'U', 'K', 'S', 0xba, 0xbe};
  if (h.size() < 208 || std::memcmp(h.data(), kMagic, 6) != 0)
    return check_error("{} is not a LUKS2 volume (an unencrypted or foreign root)", device);
  unsigned version = (unsigned{h[6]} << 8) | h[7];
  if (version != 2) return check_error("{} is a LUKS{} volume, not LUKS2", device, version);
  std::string got(reinterpret_cast<const char*>(h.data() + 168), 40);
  got.resize(std::strlen(got.c_str()));
  if (lower(got) != lower(std::string(uuid)))
    return check_error("{} is the LUKS2 volume {}, not {}", device, got, uuid);
  return {};
}

std::string failure_action(std::string_view cmdline) {
  auto v = bls::cmdline_value(cmdline, kKargOnFailure);
  if (v && (*v == "shell" || *v == "reboot" || *v == "halt")) return std::string(*v);
  return "halt";
}

Result<std::string> find_root(SystemOps& ops, std::string_view cmdline) {
  auto root = bls::cmdline_value(cmdline, "root");
  int wait_s = kDefaultRootWaitS;
  if (auto w = bls::cmdline_value(cmdline, kKargRootWait)) wait_s = std::atoi(std::string(*w).c_str());
  std::function<bool(const GptPartition&)> pred;
  std::string what;
  if (root && root->substr(0, 5) == "/dev/") {
    std::string dev(*root);
    for (int i = 0; i <= wait_s * 1000 / kRootPollMs; i++) {
      if (ops.exists(dev)) return dev;
      ops.sleep_ms(kRootPollMs);
    }
    return input_error("root={}: device did not appear within {} s", dev, wait_s);
  } else if (root && root->substr(0, 9) == "PARTUUID=") {
    std::string want = lower(std::string(root->substr(9)));
    pred = [want](const GptPartition& p) { return p.unique_guid == want; };
    what = std::string(*root);
  } else if (root && root->substr(0, 10) == "PARTLABEL=") {
    std::string want(root->substr(10));
    pred = [want](const GptPartition& p) { return p.name == want; };
    what = std::string(*root);
  } else if (root) {
    return input_error("root={}: unsupported (use /dev/…, PARTUUID= or PARTLABEL=, or no root= to find the "
                       "Discoverable Partitions {} root type)",
                       *root, arch_name(kBuildArch));
  } else {
    // The Discoverable Partitions root type of the architecture this binary runs on.
    std::string type(arch_info(kBuildArch).root_type_guid);
    pred = [type](const GptPartition& p) { return p.type_guid == type; };
    what = fmt::format("a partition of type {} (root {})", type, arch_name(kBuildArch));
  }
  for (int i = 0; i <= wait_s * 1000 / kRootPollMs; i++) {
    auto r = scan_partitions(ops, pred);
    if (r.ok()) return r;
    ops.sleep_ms(kRootPollMs);
  }
  return input_error("{}: no such partition appeared within {} s", what, wait_s);
}

static std::string describe_wrong_objects(SystemOps& ops, const std::string& image,
                                   const std::vector<std::pair<std::string, std::string>>& wrong) {
  const std::string& rel = wrong.front().first;  // (no structured binding: clang 14 cannot capture one)
  const std::string& got = wrong.front().second;
  // Which files of the image use it (read only on this failure path).
  std::vector<std::string> users;
  uint64_t size = ops.file_size(image);
  if (size > 0 && size < (uint64_t{1} << 31)) {
    if (auto data = ops.read_range(image, 0, static_cast<size_t>(size)); data.ok()) {
      erofs::ReadLimits limits;
      if (auto tree = erofs::read_image(*data, limits); tree.ok()) {
        fstree::walk(*tree, [&](const std::string& path, const fstree::Entry*, const fstree::Node& n) {
          // The raw EROFS: the object is the overlay redirect xattr ("/ab/cdef...").
          bool uses = n.payload && *n.payload == rel;
          for (const auto& x : n.xattrs)
            if (x.name == "trusted.overlay.redirect" && std::string_view(x.value).substr(0, rel.size() + 1) == "/" + rel)
              uses = true;
          if (uses && users.size() < 4) users.push_back(path);
          return true;
        });
      }
    }
  }
  std::string used = users.empty() ? "no file of the image" : fmt::format("{}", fmt::join(users, ", "));
  return fmt::format("object composefs/objects/{} measures fs-verity digest {}, not its name (used by {}){}: "
                     "the disk was modified, refusing to switch root",
                     rel, got.substr(0, 16) + "...", used,
                     wrong.size() > 1 ? fmt::format("; {} objects in all", wrong.size()) : "");
}

SetupReport setup_root(SystemOps& ops, const SetupConfig& cfg) {
  SetupReport rep;
  uint64_t t0 = ops.now_us();
  auto fail = [&](std::string step, std::string reason) {
    rep.step = std::move(step);
    rep.error = std::move(reason);
    rep.total_us = ops.now_us() - t0;
    return rep;
  };
  uint64_t mark = t0;
  auto lap = [&](const char* name) {
    uint64_t now = ops.now_us();
    rep.timings.emplace_back(name, now - mark);
    mark = now;
  };
  auto do_mount = [&](MountCall m) -> Status {
    Status s = ops.mount(m);
    if (s.ok()) rep.mounts.push_back(std::move(m));
    return s;
  };

  // 1. Kernel command line and policy.
  auto cl = ops.read_text("/proc/cmdline");
  if (!cl.ok()) return fail("read cmdline", cl.error().message());
  std::string cmdline = trim(*cl);
  auto karg = parse_karg(cmdline);
  if (!karg.ok()) return fail("parse composefs karg", karg.error().message());
  rep.digest_hex = to_hex(karg->digest);
  bool insecure = karg->insecure;
  if (insecure && !bls::cmdline_flag(cmdline, kKargAllowInsecure))
    return fail("composefs karg policy",
                fmt::format("the digest is marked insecure ('?': fs-verity optional); refusing without {}=1",
                            kKargAllowInsecure));
  std::string etc_mode = std::string(bls::cmdline_value(cmdline, kKargEtc).value_or("bind"));
  if (etc_mode != "bind" && etc_mode != "overlay" && etc_mode != "transient" && etc_mode != "none")
    return fail("parse cmdline", fmt::format("{}={}: expected bind, overlay, transient or none", kKargEtc, etc_mode));
  bool verity_pass_allowed = bls::cmdline_value(cmdline, kKargVerityEnable).value_or("auto") != "0";

  lap("cmdline");
  // 2. /run as a tmpfs (moved into the new root at the end).
  if (auto s = ops.mkdir_p(cfg.run); !s.ok()) return fail("mount /run", s.error().message());
  if (auto s = do_mount({"tmpfs", cfg.run, "tmpfs", sys::kMountNoSuid | sys::kMountNoDev, "mode=0755"}); !s.ok())
    return fail("mount /run", s.error().message());

  lap("run");
  // 3. Root device and filesystem.
  uint64_t r0 = ops.now_us();
  auto dev = find_root(ops, cmdline);
  rep.root_wait_us = ops.now_us() - r0;
  if (!dev.ok()) return fail("find root", dev.error().message());
  rep.root_device = *dev;
  lap("find-root");
  // 3b. An encrypted root (the signed cmdline says so): it must be that LUKS2 volume,
  //     opened by bootseal-unlock (TPM, else the recovery key on the console).
  if (auto luks = bls::cmdline_value(cmdline, kKargLuks)) {
    auto hdr = ops.read_range(*dev, 0, 512);
    if (!hdr.ok()) return fail("unlock root", hdr.error().message());
    if (auto s = check_luks2_header(*hdr, *luks, *dev); !s.ok())
      return fail("unlock root", fmt::format("{}: the signed cmdline says the root is encrypted ({}={}), refusing it",
                                             s.error().message(), kKargLuks, *luks));
    auto rc = ops.run({std::string(kUnlockProgram), *dev, "root"});
    if (!rc.ok()) return fail("unlock root", rc.error().message());
    if (*rc != 0) return fail("unlock root", fmt::format("{} could not open {} (exit {})", kUnlockProgram, *dev, *rc));
    std::string mapped = "/dev/mapper/root";
    for (int i = 0; i < 100 && !ops.exists(mapped); i++) ops.sleep_ms(10);
    if (!ops.exists(mapped)) return fail("unlock root", mapped + " did not appear");
    *dev = mapped;
    rep.root_device = *dev + " (" + rep.root_device + ")";
    lap("unlock-root");
  }
  std::string fstype(bls::cmdline_value(cmdline, "rootfstype").value_or("ext4"));
  if (auto s = ops.mkdir_p(cfg.sysroot); !s.ok()) return fail("mount root", s.error().message());
  if (auto s = do_mount({*dev, cfg.sysroot, fstype, 0, ""}); !s.ok())
    return fail("mount root", fmt::format("{} ({}) on {}: {}", *dev, fstype, cfg.sysroot, s.error().message()));

  lap("mount-root");
  // The root is an overlay, so systemd cannot tell its disk from "/": as
  // systemd-volatile-root does, name the physical root's block device in
  // /run/systemd/volatile-root. systemd-gpt-auto-generator then finds the disk
  // and mounts the ESP systemd-boot was started from (/efi or /boot), which is
  // where `bootseal status`, finalize and systemd-bless-boot look for it
  // (composefs-rs's setup-root does the same: systemd#35017). systemd parses the
  // link's target as /dev/block/MAJOR:MINOR (a /dev/vda2 target is refused: "Failed
  // to parse major/minor device node"), read here from /sys/class/block/<name>/dev.
  {
    std::string name = dev->substr(dev->rfind('/') + 1);
    auto mm = ops.read_text("/sys/class/block/" + name + "/dev");
    std::string target = mm.ok() ? "/dev/block/" + trim(*mm) : "";
    if (target.empty() || !ops.mkdir_p(cfg.run + "/systemd").ok() ||
        !ops.symlink(target, cfg.run + "/systemd/volatile-root").ok())
      ops.console("bootseal-setup-root: warning: could not write " + cfg.run + "/systemd/volatile-root");
  }
  std::string repo = cfg.sysroot + "/composefs";
  const std::string deploy = cfg.sysroot + "/state/deploy/" + rep.digest_hex;
  const std::string var = cfg.sysroot + "/state/os/default/var";
  // 4. The repository and the image the cmdline names, opened at once (one path walk);
  //    what is missing is worked out only when the open fails.
  std::string image = repo + "/images/" + rep.digest_hex;
  int alg = kernel_alg(karg->hash);
  auto image_fd = ops.open_read(image);
  if (!image_fd.ok()) {
    if (!ops.is_dir(repo)) return fail("open repository", fmt::format("{}: no composefs/ directory on {}", repo, *dev));
    if (!ops.exists(image))
      return fail("find image", fmt::format("composefs/images/{} does not exist on {}: the cmdline digest names no image",
                                            rep.digest_hex, *dev));
    return fail("open image", image_fd.error().message());
  }

  // 5. First boot: enable fs-verity on every object, then on the image (the image
  //    last, so a measurable image means the pass completed).
  const std::string image_ref = fmt::format("/proc/self/fd/{}", *image_fd);
  auto m = ops.measure_verity(image_ref);
  lap("open-image");
  if (!m.ok() && m.error().kind() == ErrorKind::kInput && verity_pass_allowed) {
    uint64_t v0 = ops.now_us();
    std::vector<std::string> files;
    auto dirs = ops.list_dir(repo + "/objects");
    if (!dirs.ok()) return fail("enable fs-verity", dirs.error().message());
    std::sort(dirs->begin(), dirs->end());
    for (auto& d : *dirs) {
      if (d.size() != 2 || !is_hex(d)) continue;
      auto fs = ops.list_dir(repo + "/objects/" + d);
      if (!fs.ok()) return fail("enable fs-verity", fs.error().message());
      for (auto& f : *fs) files.push_back(repo + "/objects/" + d + "/" + f);
    }
    files.push_back(image);
    std::atomic<size_t> next{0}, enabled{0};
    std::atomic<uint64_t> bytes{0};
    std::mutex mu;
    std::string first_error;
    // Objects whose measured digest is not their name (objects/ab/cdef... is
    // the fs-verity digest abcdef...): a tampered or corrupted disk.
    std::vector<std::pair<std::string, std::string>> wrong;  // object path, measured hex
    const size_t objects_prefix = repo.size() + std::string_view("/objects/").size();
    auto check_name = [&](size_t i, const std::pair<int, Bytes>& mv) {
      std::string rel = files[i].substr(objects_prefix);
      std::string name = rel.substr(0, 2) + rel.substr(3);
      std::string got = to_hex(mv.second);
      if (got != name) {
        std::lock_guard<std::mutex> l(mu);
        wrong.emplace_back(rel, got);
      }
    };
    auto worker = [&] {
      for (size_t i; (i = next.fetch_add(1)) < files.size() - 1;) {
        auto mv = ops.measure_verity(files[i]);
        if (mv.ok()) {
          check_name(i, *mv);
          continue;
        }
        Status s = ops.enable_verity(files[i], alg);
        if (!s.ok()) {
          std::lock_guard<std::mutex> l(mu);
          if (first_error.empty()) first_error = s.error().message();
          continue;
        }
        enabled++;
        bytes += ops.file_size(files[i]);
        // The digest was computed by the kernel while enabling: measuring it costs nothing.
        auto after = ops.measure_verity(files[i]);
        if (!after.ok()) {
          std::lock_guard<std::mutex> l(mu);
          if (first_error.empty()) first_error = after.error().message();
          continue;
        }
        check_name(i, *after);
      }
    };
    unsigned n = cfg.verity_threads ? cfg.verity_threads : std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::thread> pool;
    for (unsigned i = 1; i < n; i++) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
    if (!first_error.empty()) return fail("enable fs-verity", first_error);
    if (!wrong.empty()) {
      // Refuse before the image gets fs-verity: the next boot repeats the check.
      std::sort(wrong.begin(), wrong.end());
      return fail("verify objects", describe_wrong_objects(ops, image, wrong));
    }
    if (auto s = ops.enable_verity(image, alg); !s.ok()) return fail("enable fs-verity", s.error().message());
    // The Merkle trees written back now, as part of the pass: left to background
    // writeback they would slow every later step of this boot (and are durable now).
    if (auto s = ops.sync_fs(image); !s.ok()) return fail("enable fs-verity", s.error().message());
    enabled++;
    bytes += ops.file_size(image);
    rep.verity_enabled = enabled;
    rep.verity_bytes = bytes;
    rep.verity_us = ops.now_us() - v0;
    ops.console(fmt::format("bootseal-setup-root: first boot: enabled fs-verity on {} files ({:.1f} MB) in {:.1f} s "
                            "with {} threads",
                            rep.verity_enabled, static_cast<double>(rep.verity_bytes) / 1e6,
                            static_cast<double>(rep.verity_us) / 1e6, n));
    m = ops.measure_verity(image_ref);
    lap("verity-pass");
  }

  // 6. The seal: the image's measured fs-verity digest must equal the signed cmdline's.
  if (!m.ok()) {
    if (!insecure) return fail("measure image", fmt::format("{}: {}", image, m.error().message()));
    ops.console("bootseal-setup-root: warning: insecure karg: image has no fs-verity, not checked");
  } else {
    if (m->first != alg)
      return fail("verify image", fmt::format("composefs/images/{} uses fs-verity algorithm {} but the cmdline "
                                              "names a {} digest",
                                              short_hex(rep.digest_hex), m->first, bls::karg_hash_name(karg->hash)));
    if (m->second != karg->digest)
      return fail("verify image", fmt::format("digest mismatch: cmdline {} but composefs/images/{} measures {}",
                                              rep.digest_hex, short_hex(rep.digest_hex), to_hex(m->second)));
  }

  lap("verify");
  // 7. EROFS (file-backed, else loop), then the overlay with the objects as data-only lower.
  if (auto s = ops.mkdir_p(cfg.erofs_mnt); !s.ok()) return fail("mount erofs", s.error().message());
  if (auto s = do_mount({image_ref, cfg.erofs_mnt, "erofs", sys::kMountReadOnly, ""}); !s.ok()) {
    auto loop = ops.attach_loop(image_ref);
    if (!loop.ok()) return fail("mount erofs", fmt::format("file-backed mount failed ({}), loop: {}",
                                                            s.error().message(), loop.error().message()));
    if (auto s2 = do_mount({*loop, cfg.erofs_mnt, "erofs", sys::kMountReadOnly, ""}); !s2.ok())
      return fail("mount erofs", fmt::format("{} via {}: {}", image, *loop, s2.error().message()));
  }
  lap("erofs");
  std::string opts = fmt::format("lowerdir={}::{}/objects,metacopy=on,redirect_dir=on", cfg.erofs_mnt, repo);
  if (!insecure) opts += ",verity=require";
  if (auto s = ops.mkdir_p(cfg.newroot); !s.ok()) return fail("mount overlay", s.error().message());
  if (auto s = do_mount({"composefs", cfg.newroot, "overlay", sys::kMountReadOnly, opts}); !s.ok())
    return fail("mount overlay", fmt::format("{} ({}): {}", cfg.newroot, opts, s.error().message()));

  lap("overlay");
  // 8. /etc and /var from the deployment state.
  std::string etc_target = cfg.newroot + "/etc";
  if (etc_mode != "none" && !ops.is_dir(etc_target))
    return fail("mount /etc", fmt::format("the image has no /etc directory ({})", etc_target));
  if (etc_mode == "bind") {
    if (!ops.is_dir(deploy + "/etc"))
      return fail("mount /etc", fmt::format("{}/etc does not exist (deployment state missing; use {}=transient to "
                                            "boot with a throw-away /etc)",
                                            deploy, kKargEtc));
    if (auto s = do_mount({deploy + "/etc", etc_target, "", sys::kMountBind, ""}); !s.ok())
      return fail("mount /etc", s.error().message());
  } else if (etc_mode == "overlay" || etc_mode == "transient") {
    std::string base = etc_mode == "overlay" ? deploy : cfg.run + "/bootseal/etc";
    if (etc_mode == "transient") {
      if (auto s = ops.mkdir_p(base); !s.ok()) return fail("mount /etc", s.error().message());
    }
    for (auto d : {"/etc", "/etc.work"})
      if (auto s = ops.mkdir_p(base + d); !s.ok()) return fail("mount /etc", s.error().message());
    std::string o = fmt::format("lowerdir={},upperdir={}/etc,workdir={}/etc.work", etc_target, base, base);
    if (auto s = do_mount({"overlay", etc_target, "overlay", 0, o}); !s.ok())
      return fail("mount /etc", fmt::format("overlay ({}): {}", o, s.error().message()));
  }
  if (ops.is_dir(cfg.newroot + "/var")) {
    if (auto s = ops.mkdir_p(var); !s.ok()) return fail("mount /var", s.error().message());
    if (auto s = do_mount({var, cfg.newroot + "/var", "", sys::kMountBind, ""}); !s.ok())
      return fail("mount /var", s.error().message());
  }

  lap("etc-var");
  // 9. The physical root stays reachable at /sysroot; /dev, /proc, /sys, /run move along.
  if (ops.is_dir(cfg.newroot + "/sysroot")) {
    if (auto s = do_mount({cfg.sysroot, cfg.newroot + "/sysroot", "", sys::kMountMove, ""}); !s.ok())
      return fail("move /sysroot", s.error().message());
  } else {
    ops.console("bootseal-setup-root: warning: the image has no /sysroot; the physical root is not reachable");
  }
  for (const std::string& d : std::vector<std::string>{"/dev", "/proc", "/sys", cfg.run}) {
    if (!ops.is_dir(cfg.newroot + d)) continue;
    if (auto s = do_mount({d, cfg.newroot + d, "", sys::kMountMove, ""}); !s.ok())
      return fail("move " + d, s.error().message());
  }

  lap("moves");
  // 10. Which init to run, decided before switching.
  std::string init(bls::cmdline_value(cmdline, "init").value_or(""));
  if (init.empty()) {
    for (const char* c : {"/sbin/init", "/usr/lib/systemd/systemd", "/init"})
      if (ops.exists(cfg.newroot + c)) {
        init = c;
        break;
      }
  }
  if (init.empty() || !ops.exists(cfg.newroot + init))
    return fail("find init", fmt::format("no init in the new root (tried {})",
                                         init.empty() ? "/sbin/init, /usr/lib/systemd/systemd, /init" : init));
  rep.init = init;
  if (auto s = ops.switch_root(cfg.newroot); !s.ok()) return fail("switch root", s.error().message());
  lap("switch-root");
  rep.total_us = ops.now_us() - t0;
  return rep;
}

}  // namespace bootseal::initramfs
