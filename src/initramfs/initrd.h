// Builds a small initramfs (cpio newc, deterministic): busybox, an /init script,
// kernel modules with their dependencies from a depmod'ed tree, optional extra files
// (e.g. bootseal-setup-root). `bootseal initrd build` is the command line for it.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/arch.h"
#include "base/bytes.h"
#include "initramfs/modules.h"

namespace bootseal::initramfs {

struct InitrdOptions {
  std::string modules_dir;                  // lib/modules/<kver>, or a root holding lib/modules/<kver>
  std::vector<std::string> modules = kDefaultModules;
  std::string busybox = "/bin/busybox";     // must be statically linked
  std::string init_file;                    // empty: the built-in generic /init
  std::string setup_root;                   // bootseal-setup-root to install as /usr/bin/bootseal-setup-root
  // bootseal-unlock (dynamically linked) to install as /usr/lib/bootseal/bootseal-unlock, with
  // its whole shared-library closure (and the TPM device TCTI libtss2-tctildr loads at run
  // time), as the host's dynamic loader resolves it, in sorted order; adds kUnlockModules.
  std::string unlock;
  // host SRC -> archive DST (DST empty: SRC's own path, without the leading '/';
  // a symlink given so is followed).
  // A directory is added with everything below it; symlinks stay symlinks.
  std::vector<std::pair<std::string, std::string>> add;
  bool decompress_modules = true;           // .ko.xz/.zst/.gz unpacked on the host
  std::string compress = "none";            // none | zstd | xz
  uint32_t mtime = 0;                       // every member's mtime
  bool verbose = false;                     // (commands are echoed by sys::Process under -v)
  // The target: busybox and setup-root must be ELF executables for it (e_machine),
  // so an x86-64 binary never lands in an arm64 initrd. nullopt: not checked.
  std::optional<Arch> arch;
};

struct InitrdResult {
  Bytes archive;                   // after compression
  size_t uncompressed_size = 0;
  size_t members = 0;
  std::string kver;
  std::vector<std::string> modules;  // load order, archive paths
};

// Kernel modules an encrypted root needs (with --unlock).
inline const std::vector<std::string> kUnlockModules = {"dm_mod", "dm_crypt", "xts"};
// Where the initrd has bootseal-unlock (setup-root runs it).
inline constexpr std::string_view kUnlockPath = "/usr/lib/bootseal/bootseal-unlock";

// The shared libraries `elf` (at `path`) needs, as host paths, resolved by its own
// dynamic loader (PT_INTERP `--list`), the loader first; empty for a static ELF.
// `extra` names libraries loaded with dlopen (looked up beside the resolved ones).
Result<std::vector<std::string>> library_closure(const std::string& path, const std::vector<std::string>& extra = {});

// The file listing modules to load, one archive path per line, in load order.
inline constexpr std::string_view kModuleListPath = "etc/bootseal/modules";
// True if `elf` is an ELF executable without a PT_INTERP program header (statically
// linked: it runs in an initramfs without a dynamic loader). Errors on a malformed ELF.
Result<bool> is_static_elf(ByteSpan elf);

// The architecture of an ELF file (e_machine: EM_X86_64, EM_AARCH64); an error
// for a malformed ELF or another machine.
Result<Arch> elf_arch(ByteSpan elf);

// The built-in generic /init: mounts proc/sys/dev, loads the listed modules, runs
// /usr/bin/bootseal-setup-root if present, else an emergency shell.
std::string_view builtin_init();

Result<InitrdResult> build_initrd(const InitrdOptions& opts);

}  // namespace bootseal::initramfs
