// bootseal-setup-root: the initramfs step that mounts a sealed composefs root and
// switches to it. All system access goes through SystemOps, so the decision logic
// (karg policy, root discovery, digest check, mount plan) is unit-tested on the host
// against a directory tree without real mounts. Docs: docs/vm.md ("setup-root").
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "bls/karg.h"

namespace bootseal::initramfs {

// Kernel arguments setup-root reads besides composefs= / composefs.digest=.
inline constexpr std::string_view kKargAllowInsecure = "composefs.insecure";   // =1 allows a '?' digest
inline constexpr std::string_view kKargHash = "composefs.hash";                // sha256|sha512 (default: try both)
inline constexpr std::string_view kKargEtc = "bootseal.etc";                   // bind|overlay|transient|none
inline constexpr std::string_view kKargOnFailure = "bootseal.on-failure";      // halt|shell|reboot
inline constexpr std::string_view kKargVerityEnable = "bootseal.verity-enable";  // auto|0 (first-boot pass)
// =UUID: the root is the LUKS2 volume with this UUID; bootseal-unlock opens it (a plain
// or another volume is refused, never mounted).
inline constexpr std::string_view kKargLuks = "bootseal.luks";
inline constexpr std::string_view kUnlockProgram = "/usr/lib/bootseal/bootseal-unlock";
inline constexpr std::string_view kKargRootWait = "bootseal.rootwait";          // seconds to wait for root (10)

// One mount(2) call, as planned (and, on the host, recorded).
struct MountCall {
  std::string source, target, fstype;
  unsigned long flags = 0;
  std::string data;
};

// The seam between the decision logic and the system.
class SystemOps {
 public:
  virtual ~SystemOps() = default;
  virtual Result<std::string> read_text(const std::string& path) = 0;
  virtual Result<Bytes> read_range(const std::string& path, uint64_t offset, size_t len) = 0;
  virtual Result<std::vector<std::string>> list_dir(const std::string& path) = 0;
  virtual bool exists(const std::string& path) = 0;
  virtual bool is_dir(const std::string& path) = 0;
  virtual uint64_t file_size(const std::string& path) = 0;  // 0 if unknown
  virtual Status mkdir_p(const std::string& path) = 0;
  virtual Status mount(const MountCall& m) = 0;
  // Opens a file read-only (O_CLOEXEC) and keeps it open until exec; returns its fd.
  // The image is measured and mounted through "/proc/self/fd/<fd>", so the file mounted
  // is the very file measured, even if its name were swapped in between.
  virtual Result<int> open_read(const std::string& path) = 0;
  // Attaches `file` to a free loop device read-only; returns "/dev/loopN".
  virtual Result<std::string> attach_loop(const std::string& file) = 0;
  // FS_IOC_MEASURE_VERITY: kernel hash algorithm id (1 sha256, 2 sha512) and digest.
  // Error kinds as sys::measure_verity (kInput: not enabled; kUnsupported: no fs-verity).
  virtual Result<std::pair<int, Bytes>> measure_verity(const std::string& path) = 0;
  virtual Status enable_verity(const std::string& path, int hash_algorithm) = 0;
  // Writes back the filesystem holding `path` (syncfs).
  virtual Status sync_fs(const std::string& /*path*/) { return {}; }
  // symlink(2): `path` -> `target`.
  virtual Status symlink(const std::string& /*target*/, const std::string& /*path*/) { return {}; }
  // MS_MOVE newroot onto /, chroot, chdir.
  virtual Status switch_root(const std::string& newroot) = 0;
  virtual Status exec_init(const std::string& init) = 0;
  // Runs a program to completion (its stdio is the console); its exit status.
  virtual Result<int> run(const std::vector<std::string>& argv) {
    return unsupported_error("cannot run {}", argv.empty() ? "" : argv[0]);
  }
  virtual void sleep_ms(int ms) = 0;
  virtual uint64_t now_us() = 0;
  virtual void console(const std::string& line) = 0;
};

struct SetupConfig {
  std::string sysroot = "/sysroot";        // physical root mount point
  std::string newroot = "/newroot";         // the composefs overlay (then moved to /)
  std::string run = "/run";                  // tmpfs, moved into the new root
  std::string erofs_mnt = "/run/bootseal/cfs";
  unsigned verity_threads = 0;              // 0: hardware concurrency
};

struct SetupReport {
  std::string step;            // the step that failed, empty on success
  std::string error;           // its reason
  std::string digest_hex;
  std::string root_device;
  std::string init;
  size_t verity_enabled = 0;   // objects (and image) sealed on this boot
  uint64_t verity_bytes = 0;
  uint64_t verity_us = 0;
  uint64_t root_wait_us = 0;   // finding the root device (includes waiting for it to appear)
  uint64_t total_us = 0;       // start to just before exec
  std::vector<MountCall> mounts;
  std::vector<std::pair<std::string, uint64_t>> timings;  // step name, microseconds
};

// Runs every step up to (not including) exec of init. On failure, report.step names it.
SetupReport setup_root(SystemOps& ops, const SetupConfig& cfg = {});

// Checks that `header` (the device's first 512 bytes) is a LUKS2 header with `uuid`
// (case-insensitive); an error naming what it is instead.
Status check_luks2_header(ByteSpan header, std::string_view uuid, std::string_view device);

// What to do after a failure, from the cmdline: "halt" (default), "shell" or "reboot".
std::string failure_action(std::string_view cmdline);

// Picks the root device. root= may be /dev/X, PARTUUID=, PARTLABEL=; without root=,
// the first GPT partition with the Discoverable Partitions x86-64 root type.
Result<std::string> find_root(SystemOps& ops, std::string_view cmdline);

}  // namespace bootseal::initramfs
