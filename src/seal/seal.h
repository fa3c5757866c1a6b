// Sealing an image into a bootable disk (bootseal disk create).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/error.h"
#include "store/repository.h"

namespace bootseal::seal {

// What a signed UKI for a repository image is made of.
struct UkiOptions {
  std::string keys_dir;        // PK/KEK/db .key/.crt/.auth (bootseal keys generate)
  // no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer check
  // can fail and panic ("IO-APIC + timer doesn't work"); VMs skip it.
  std::string cmdline_extra = "console=ttyS0 systemd.firstboot=off panic=-1 no_timer_check";
  std::string stub;            // systemd-stub (default: payloads / system)
  std::string setup_root;      // bootseal-setup-root binary (default: next to bootseal)
  std::string busybox = "/bin/busybox";
  std::string work_dir;        // scratch space (default: a temp dir)
  std::function<void(const std::string&)> step;  // progress: "building initrd", ...
};

struct DiskOptions : UkiOptions {
  std::string repo;            // repository root (holds composefs/)
  std::string image;           // reference, digest or digest prefix
  std::string output;          // disk image to write
  uint64_t disk_size = 0;      // 0: just big enough
  uint64_t esp_size = 0;       // 0: room for two UKIs
  std::string root_fs = "ext4";
  std::string sdboot;          // systemd-bootx64.efi (default: payloads / system)
  std::string keys_name = "auto";
  std::string secure_boot_enroll = "if-safe";
  bool keep_work = false;
};

struct SealedUki {
  Bytes uki;                   // signed
  std::string digest;          // composefs digest in its cmdline
  std::string kernel_version, cmdline;
  uint64_t initrd_bytes = 0;
};

// Builds, for images/<digest> of `repo`, an initrd from the image's own
// kernel modules with bootseal-setup-root, and a UKI on systemd-stub with
// the image's kernel and os-release and "composefs=<digest> <cmdline_extra>",
// signed with the key set's db key.
Result<SealedUki> seal_uki(const store::Repository& repo, const std::string& digest, const UkiOptions& o);

struct DiskResult {
  std::string digest;          // composefs digest sealed into the UKI
  std::string kernel_version;
  std::string cmdline;
  uint64_t uki_bytes = 0, initrd_bytes = 0, esp_bytes = 0, root_bytes = 0, disk_bytes = 0;
  uint64_t objects = 0, object_bytes = 0;
  std::string uki_path;        // a copy of the signed UKI, next to the output (<output>.uki.efi)
};

Result<DiskResult> create_disk(const DiskOptions& o);

// The first existing file among candidates, or an error listing them.
Result<std::string> find_file(std::string_view what, const std::vector<std::string>& candidates);

}  // namespace bootseal::seal
