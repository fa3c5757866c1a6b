// Raw disk images: GPT with an ESP and a root partition, built from staged
// directories. No mounts, no loop devices, no root privileges needed.
//
// Layout: partitions start at 1 MiB and are 1 MiB aligned; the backup GPT
// takes the last 33 sectors (plus alignment slack).
// Type GUIDs follow the Discoverable Partitions Specification (UAPI.2).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/arch.h"
#include "base/error.h"

namespace bootseal::disk {

inline constexpr std::string_view kEspTypeGuid = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
inline constexpr std::string_view kRootX86_64TypeGuid = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709";
inline constexpr std::string_view kRootArm64TypeGuid = "B921B045-1DF0-41C3-AF44-4C6F280D3FAE";
inline constexpr uint64_t kMiB = 1024 * 1024;
inline constexpr uint64_t kSectorSize = 512;
// Room for the primary GPT before the first partition and the backup GPT after the last.
inline constexpr uint64_t kGptHead = kMiB;
inline constexpr uint64_t kGptTail = kMiB;
// mkfs.vfat needs about 65525 clusters for FAT32; 64 MiB is a safe floor at 512-byte clusters... we use 4 KiB
// clusters only above that, so keep ESPs at least this big.
inline constexpr uint64_t kMinEspSize = 64 * kMiB;

struct Partition {
  std::string name;       // GPT partition name
  std::string type_guid;  // e.g. kEspTypeGuid
  std::string uuid;       // partition UUID ("" = random)
  std::string image;      // file holding the partition's contents (a filesystem image)
  uint64_t size = 0;      // bytes, a multiple of 1 MiB; 0 = the image's size rounded up
};

// The disk size needed for these partition sizes.
uint64_t disk_size_for(const std::vector<uint64_t>& partition_sizes);

// Writes `out` (atomically: temp name, fsync, rename): a GPT disk of
// `disk_size` bytes (0 = just big enough) with the partitions in order, each
// image copied at its partition's offset without filling holes.
Status create_gpt_disk(const std::string& out, uint64_t disk_size, const std::vector<Partition>& parts,
                       const std::string& disk_guid = "");

// A FAT32 filesystem image of `size` bytes holding the tree under `dir`
// (mkfs.vfat -F 32 + mtools; no mount). `volume_id` fixed for reproducibility.
Status make_fat_image(const std::string& dir, const std::string& image, uint64_t size, std::string_view label,
                      uint32_t volume_id);

// An ext4 filesystem image (4 KiB blocks, the verity feature on) holding the
// tree under `dir`, ownership, modes and xattrs included (mke2fs -d).
Status make_ext4_image(const std::string& dir, const std::string& image, uint64_t size, std::string_view label,
                       std::string_view uuid);

// A size estimate for an ext4 holding `dir`: data blocks, inodes, journal and
// metadata, plus `free_fraction` of free space; rounded to 1 MiB.
Result<uint64_t> ext4_size_for(const std::string& dir, double free_fraction = 0.25);

// The partition sizes for an ESP of `esp_size` and an ext4 root holding
// `root_dir`: the root just big enough, or filling `disk_size` when given (an
// error, before anything is written, if the disk is too small).
struct PartitionSizes {
  uint64_t esp = 0, root = 0;
};
Result<PartitionSizes> plan_partition_sizes(const std::string& root_dir, uint64_t esp_size, uint64_t disk_size);

// The sealed-disk layout: a FAT32 ESP from `esp_dir` and an ext4 root (verity
// feature on) from `root_dir`, built as images in `work_dir` (removed after),
// then the GPT disk `output`.
struct AssembleSpec {
  std::string esp_dir, root_dir, output, work_dir;
  PartitionSizes sizes;
  uint64_t disk_size = 0;  // 0: just big enough
  std::string root_label = "bootseal-root";
  std::string root_uuid;   // "" = random
  Arch arch = Arch::kX86_64;  // the root partition's type: Discoverable Partitions root for it
  // An encrypted root: the ext4 is made `root_header` bytes smaller than the partition,
  // and encrypt_root(plain image, output image) writes what goes into the partition.
  std::function<Status(const std::string&, const std::string&)> encrypt_root;
  uint64_t root_header = 0;
};
Status assemble_disk(const AssembleSpec& spec);

// One GPT partition as read back (read_gpt).
struct GptPartition {
  size_t number = 0;       // 1-based
  std::string name, type_guid, uuid;  // GUIDs upper case
  uint64_t offset = 0, size = 0;      // bytes
};
struct GptDisk {
  std::string disk_guid;
  uint64_t sector_size = kSectorSize;
  uint64_t device_size = 0;
  std::vector<GptPartition> partitions;
};
// The GPT of a disk image or block device, read-only (libfdisk). Not a GPT
// (no label, or an MBR/other label): an error saying so. Partitions are
// listed as the table has them, also past device_size (a truncated image:
// the caller checks).
Result<GptDisk> read_gpt(const std::string& path);

}  // namespace bootseal::disk
