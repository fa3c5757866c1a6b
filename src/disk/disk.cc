#include "disk/disk.h"

#include <libfdisk.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <functional>

#include "base/bytes.h"
#include "sys/clone.h"
#include "sys/dirscan.h"
#include "sys/file.h"
#include "sys/fileops.h"
#include "sys/process.h"
#include "sys/space.h"

namespace bootseal::disk {
namespace {

struct FdiskContext {
  fdisk_context* cxt = fdisk_new_context();
  ~FdiskContext() {
    if (cxt) {
      fdisk_deassign_device(cxt, 1);
      fdisk_unref_context(cxt);
    }
  }
};

Error fdisk_error(int rc, std::string_view what, const std::string& path) {
  return Error::from_errno(rc < 0 ? -rc : EIO, fmt::format("{}: {}", path, what));
}

}  // namespace

uint64_t disk_size_for(const std::vector<uint64_t>& sizes) {
  uint64_t total = kGptHead + kGptTail;
  for (uint64_t s : sizes) total += round_up(s, kMiB);
  return total;
}

Status create_gpt_disk(const std::string& out, uint64_t disk_size, const std::vector<Partition>& parts,
                       const std::string& disk_guid) {
  if (parts.empty()) return input_error("{}: a disk needs at least one partition", out);
  std::vector<uint64_t> sizes;
  for (const Partition& p : parts) {
    uint64_t img = BS_TRY(sys::file_size(p.image));
    uint64_t size = p.size ? p.size : round_up(img, kMiB);
    if (size % kMiB) return input_error("partition '{}': size {} is not a multiple of 1 MiB", p.name, size);
    if (img > size)
      return input_error("partition '{}': its image {} ({} bytes) does not fit in {} bytes", p.name, p.image, img, size);
    sizes.push_back(size);
  }
  uint64_t need = disk_size_for(sizes);
  if (disk_size == 0) disk_size = need;
  if (disk_size < need)
    return input_error("{}: disk size {} MiB is too small; the partitions need {} MiB", out, disk_size / kMiB,
                       div_round_up(need, kMiB));
  disk_size = round_up(disk_size, kMiB);

  sys::AtomicFile file = BS_TRY(sys::AtomicFile::create(out, 0644));
  BS_TRY(sys::resize_fd(file.fd(), disk_size, out));

  {
    // libfdisk opens the device by path; give it the temporary file.
    std::string dev = fmt::format("/proc/self/fd/{}", file.fd());
    FdiskContext fc;
    if (!fc.cxt) return internal_error("libfdisk: cannot allocate a context");
    if (int rc = fdisk_assign_device(fc.cxt, dev.c_str(), 0); rc != 0) return fdisk_error(rc, "open for partitioning", out);
    fdisk_disable_dialogs(fc.cxt, 1);
    if (int rc = fdisk_create_disklabel(fc.cxt, "gpt"); rc != 0) return fdisk_error(rc, "create GPT", out);
    if (!disk_guid.empty())
      if (int rc = fdisk_set_disklabel_id_from_string(fc.cxt, disk_guid.c_str()); rc != 0)
        return fdisk_error(rc, fmt::format("set disk GUID {}", disk_guid), out);
    fdisk_label* label = fdisk_get_label(fc.cxt, "gpt");
    uint64_t start = kGptHead;
    for (size_t i = 0; i < parts.size(); i++) {
      const Partition& p = parts[i];
      fdisk_partition* pa = fdisk_new_partition();
      fdisk_parttype* type = fdisk_label_get_parttype_from_string(label, p.type_guid.c_str());
      if (!type) {
        fdisk_unref_partition(pa);
        return input_error("partition '{}': unknown GPT type {}", p.name, p.type_guid);
      }
      fdisk_partition_set_partno(pa, i);
      fdisk_partition_set_start(pa, start / kSectorSize);
      fdisk_partition_set_size(pa, sizes[i] / kSectorSize);
      fdisk_partition_set_type(pa, type);
      fdisk_partition_set_name(pa, p.name.c_str());
      if (!p.uuid.empty()) fdisk_partition_set_uuid(pa, p.uuid.c_str());
      int rc = fdisk_add_partition(fc.cxt, pa, nullptr);
      fdisk_unref_partition(pa);
      fdisk_unref_parttype(type);
      if (rc != 0) return fdisk_error(rc, fmt::format("add partition '{}'", p.name), out);
      start += sizes[i];
    }
    if (int rc = fdisk_write_disklabel(fc.cxt); rc != 0) return fdisk_error(rc, "write GPT", out);
  }

  uint64_t start = kGptHead;
  for (size_t i = 0; i < parts.size(); i++) {
    BS_TRY_CTX(sys::copy_sparse_into(parts[i].image, file.fd(), start, out), "partition '{}'", parts[i].name);
    start += sizes[i];
  }
  return file.commit();
}

Status make_fat_image(const std::string& dir, const std::string& image, uint64_t size, std::string_view label,
                      uint32_t volume_id) {
  if (size < kMinEspSize) return input_error("{}: a FAT32 ESP needs at least {} MiB, not {} MiB", image, kMinEspSize / kMiB, size / kMiB);
  BS_TRY(sys::remove_file(image));
  // -s 8: 4 KiB clusters (needs >= 65525 clusters, so >= ~260 MiB) would be
  // FAT32-invalid for small ESPs; let mkfs.vfat choose, forcing only FAT32.
  BS_TRY(sys::run_capture({"mkfs.vfat", "-C", "-F", "32", "-n", std::string(label), "-i", fmt::format("{:08X}", volume_id),
                           image, std::to_string(size / 1024)}));
  // Recreate the directory tree, then copy files, without mounting.
  std::vector<std::string> dirs, files;
  std::function<Status(const std::string&)> walk = [&](const std::string& rel) -> Status {
    std::string path = rel.empty() ? dir : dir + "/" + rel;
    std::vector<sys::DirEntry> entries = BS_TRY(sys::list_dir(path));
    std::sort(entries.begin(), entries.end(),
              [](const sys::DirEntry& a, const sys::DirEntry& b) { return a.name < b.name; });
    for (const sys::DirEntry& e : entries) {
      std::string r = rel.empty() ? e.name : rel + "/" + e.name;
      const struct stat& st = e.st;
      if (S_ISDIR(st.st_mode)) {
        dirs.push_back(r);
        BS_TRY(walk(r));
      } else if (S_ISREG(st.st_mode)) {
        files.push_back(r);
      } else {
        return input_error("{}/{}: only directories and regular files can go on a FAT ESP", dir, r);
      }
    }
    return {};
  };
  BS_TRY(walk(""));
  std::vector<std::string> env = {"MTOOLS_SKIP_CHECK=1"};
  if (!dirs.empty()) {
    std::vector<std::string> argv = {"mmd", "-i", image};
    for (auto& d : dirs) argv.push_back("::/" + d);
    BS_TRY(sys::run_capture(argv, env));
  }
  for (auto& f : files) BS_TRY(sys::run_capture({"mcopy", "-i", image, "-m", dir + "/" + f, "::/" + f}, env));
  return {};
}

Status make_ext4_image(const std::string& dir, const std::string& image, uint64_t size, std::string_view label,
                       std::string_view uuid) {
  BS_TRY(sys::remove_file(image));
  // One -E (mke2fs keeps only the last): inode tables and journal zeroed now (as
  // holes: cheap in an image file), so the booted kernel starts no ext4lazyinit
  // thread; with a UUID, the directory hash seed follows it (reproducible).
  std::string ext = "root_owner=0:0,lazy_itable_init=0,lazy_journal_init=0";
  if (!uuid.empty()) ext += fmt::format(",hash_seed={}", uuid);
  std::vector<std::string> argv = {"mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-O", "verity",
                                   "-L", std::string(label), "-E", ext, "-d", dir};
  if (!uuid.empty()) argv.insert(argv.end(), {"-U", std::string(uuid)});
  argv.push_back(image);
  argv.push_back(fmt::format("{}k", size / 1024));
  auto r = sys::run_capture(argv);
  if (!r.ok()) {
    (void)sys::remove_file(image);
    return Error(r.error()).context(fmt::format("making the root filesystem {}", image));
  }
  return {};
}

Result<uint64_t> ext4_size_for(const std::string& dir, double free_fraction) {
  uint64_t data = 0, inodes = 0;
  std::function<Status(const std::string&)> walk = [&](const std::string& path) -> Status {
    for (const sys::DirEntry& e : BS_TRY(sys::list_dir(path))) {
      const struct stat& st = e.st;
      inodes++;
      if (S_ISDIR(st.st_mode)) {
        data += 4096;
        BS_TRY(walk(path + "/" + e.name));
      } else if (S_ISREG(st.st_mode)) {
        // Data plus room for an fs-verity Merkle tree (~1/127 of the data).
        uint64_t blocks = round_up(static_cast<uint64_t>(st.st_size), 4096);
        data += blocks + round_up(blocks / 127 + 4096, 4096);
      }
    }
    return {};
  };
  BS_TRY(walk(dir));
  // Inode tables at 256 bytes an inode with one inode per 16 KiB, a 16-64 MiB journal, group descriptors and bitmaps.
  uint64_t meta = inodes * 512 + 64 * kMiB + data / 32;
  double total = static_cast<double>(data + meta) * (1.0 + free_fraction);
  return round_up(static_cast<uint64_t>(total) + 16 * kMiB, kMiB);
}

Result<PartitionSizes> plan_partition_sizes(const std::string& root_dir, uint64_t esp_size, uint64_t disk_size) {
  PartitionSizes s;
  s.esp = round_up(esp_size, kMiB);
  s.root = BS_TRY(ext4_size_for(root_dir));
  if (disk_size) {
    uint64_t need = disk_size_for({s.esp, s.root});
    if (disk_size < need)
      return input_error("disk size {} MiB is too small for this image: it needs at least {} MiB ({} MiB ESP, {} MiB root)",
                         disk_size / kMiB, div_round_up(need, kMiB), s.esp / kMiB, s.root / kMiB);
    s.root = round_up(disk_size, kMiB) - disk_size_for({s.esp, 0});
  }
  return s;
}

Status assemble_disk(const AssembleSpec& a) {
  BS_TRY(sys::mkdir_p(a.work_dir));
  std::string esp_img = a.work_dir + "/esp.img", root_img = a.work_dir + "/root.img",
              luks_img = a.work_dir + "/root.luks";
  Status st = [&]() -> Status {
    BS_TRY(make_fat_image(a.esp_dir, esp_img, a.sizes.esp, "ESP", 0x5EA1ED00));
    std::string part_img = root_img;
    if (a.encrypt_root) {
      if (a.sizes.root <= a.root_header) return input_error("the root partition is too small for its LUKS2 header");
      BS_TRY(make_ext4_image(a.root_dir, root_img, a.sizes.root - a.root_header, a.root_label, a.root_uuid));
      part_img = luks_img;
      BS_TRY(a.encrypt_root(root_img, luks_img));
    } else {
      BS_TRY(make_ext4_image(a.root_dir, root_img, a.sizes.root, a.root_label, a.root_uuid));
    }
    return create_gpt_disk(a.output, a.disk_size,
                           {{"esp", std::string(kEspTypeGuid), "", esp_img, a.sizes.esp},
                            {fmt::format("root-{}", arch_name(a.arch)),
                             std::string(a.arch == Arch::kArm64 ? kRootArm64TypeGuid : kRootX86_64TypeGuid), "",
                             part_img, a.sizes.root}});
  }();
  (void)sys::remove_file(esp_img);
  (void)sys::remove_file(root_img);
  (void)sys::remove_file(luks_img);
  return st;
}

Result<GptDisk> read_gpt(const std::string& path) {
  FdiskContext fc;
  if (!fc.cxt) return internal_error("fdisk_new_context failed");
  fdisk_disable_dialogs(fc.cxt, 1);
  if (int rc = fdisk_assign_device(fc.cxt, path.c_str(), 1); rc != 0) {
    fdisk_unref_context(fc.cxt);  // not assigned: the guard must not deassign it
    fc.cxt = nullptr;
    return fdisk_error(rc, "open read-only", path);
  }
  GptDisk d;
  d.sector_size = fdisk_get_sector_size(fc.cxt);
  d.device_size = static_cast<uint64_t>(fdisk_get_nsectors(fc.cxt)) * d.sector_size;
  if (!fdisk_has_label(fc.cxt)) return input_error("{}: no partition table (not a GPT disk)", path);
  if (!fdisk_is_labeltype(fc.cxt, FDISK_DISKLABEL_GPT)) {
    fdisk_label* l = fdisk_get_label(fc.cxt, nullptr);
    return input_error("{}: a {} partition table, not GPT", path, l ? fdisk_label_get_name(l) : "non-GPT");
  }
  char* id = nullptr;
  if (fdisk_get_disklabel_id(fc.cxt, &id) == 0 && id) {
    d.disk_guid = id;
    free(id);
  }
  fdisk_table* tb = nullptr;
  if (int rc = fdisk_get_partitions(fc.cxt, &tb); rc != 0) return fdisk_error(rc, "read the GPT partition entries", path);
  fdisk_iter* itr = fdisk_new_iter(FDISK_ITER_FORWARD);
  fdisk_partition* pa = nullptr;
  while (fdisk_table_next_partition(tb, itr, &pa) == 0) {
    GptPartition p;
    p.number = fdisk_partition_get_partno(pa) + 1;
    if (const char* n = fdisk_partition_get_name(pa)) p.name = n;
    if (const char* u = fdisk_partition_get_uuid(pa)) p.uuid = u;
    if (fdisk_parttype* t = fdisk_partition_get_type(pa))
      if (const char* g = fdisk_parttype_get_string(t)) p.type_guid = g;
    for (auto* s : {&p.uuid, &p.type_guid})
      for (char& c : *s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    p.offset = static_cast<uint64_t>(fdisk_partition_get_start(pa)) * d.sector_size;
    p.size = static_cast<uint64_t>(fdisk_partition_get_size(pa)) * d.sector_size;
    d.partitions.push_back(std::move(p));
  }
  fdisk_free_iter(itr);
  fdisk_unref_table(tb);
  return d;
}

}  // namespace bootseal::disk
