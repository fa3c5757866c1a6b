// Sealing an image into a bootable disk (bootseal disk create).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/arch.h"
#include "base/error.h"
#include "fstree/tree.h"
#include "store/record.h"
#include "store/repository.h"

namespace bootseal::seal {

// What a signed UKI for a repository image is made of.
struct UkiOptions {
  std::string keys_dir;        // PK/KEK/db .key/.crt/.auth (bootseal keys generate)
  // For an encrypted PEM db.key (first line); else the terminal asks. A db.key
  // holding a "pkcs11:" URI line names a key in a token (keys::load_signer).
  std::string key_passphrase_file;
  // Empty: default_cmdline(arch).
  std::string cmdline_extra;
  // The image's architecture: x86-64 or arm64; empty: the kernel's PE Machine.
  std::string arch;
  std::string stub;            // systemd-stub (default: linux<x64|aa64>.efi.stub from payloads / system)
  std::string setup_root;      // bootseal-setup-root binary (default: next to bootseal; arm64: the cross build)
  std::string busybox;         // static busybox (default: /bin/busybox; arm64: the payloads' busybox-static:arm64)
  std::string work_dir;        // scratch space (default: a temp dir)
  // An encrypted root: the cmdline gets bootseal.luks=<luks_uuid> and the initrd
  // bootseal-unlock (`unlock`, default: next to bootseal) with its libraries.
  std::string luks_uuid;
  std::string unlock;
  // PCR signing key (PEM, RSA): the UKI gets .pcrpkey and a .pcrsig signing PCR 11
  // (sha256) for the enter-initrd phase only: the key unseals in the initrd and not
  // after leave-initrd.
  std::string pcr_key;
  std::function<void(const std::string&)> step;  // progress: "building initrd", ...
};

// The default ESP of an arm64 disk: two 45 MB UKIs (the generic arm64 kernel is a
// 44 MB raw Image) plus systemd-boot and headroom.
inline constexpr uint64_t kMinEspSizeArm64 = 128ull << 20;

struct DiskOptions : UkiOptions {
  std::string repo;            // repository root (holds composefs/)
  std::string image;           // reference, digest or digest prefix
  std::string output;          // disk image to write
  uint64_t disk_size = 0;      // 0: just big enough
  uint64_t esp_size = 0;       // 0: room for two UKIs
  std::string root_fs = "ext4";
  std::string sdboot;          // systemd-boot<x64|aa64>.efi (default: payloads / system)
  std::string keys_name = "auto";
  std::string secure_boot_enroll = "if-safe";
  bool keep_work = false;
  // The image's own sealed UKI (/boot/EFI/Linux/*.efi whose digest karg names the
  // image): "auto" installs it when present, "require" fails without one,
  // "never" always builds and signs a new one.
  std::string image_uki = "auto";
  // --encrypt: a LUKS2 root (tpm2dev::make_encrypted_root) with a recovery key and a
  // systemd-tpm2 token (signed PCR 11 with pcr_key's public half + PCR 15 = 0).
  bool encrypt = false;
  std::string recovery_key_file;   // else DiskResult::recovery_key, printed once
  std::string tpm2_device;         // seal on this TPM, or
  std::string srk_public_key;      // offline for this SRK (bootseal tpm srk-public-key)
  bool pcr15 = true;               // bind PCR 15 = its initial value
};

// The kernel arguments after composefs=<digest> by default: the console of QEMU's
// machine for the architecture (ttyS0 on q35, ttyAMA0, the PL011, on virt), and on
// x86-64 no_timer_check (under TCG on a loaded host the kernel's IO-APIC timer check
// can fail and panic, "IO-APIC + timer doesn't work"; VMs skip it).
std::string default_cmdline(Arch a);

// Where the static bootseal-setup-root for `a` is looked for when not given:
// next to bootseal's build (x86-64: build/src/initramfs; arm64: the cross build
// tools/build makes in build/aarch64), then /usr/libexec/bootseal[/aarch64].
std::vector<std::string> setup_root_candidates(Arch a);

struct SealedUki {
  Arch arch = Arch::kX86_64;
  Bytes uki;                   // signed
  std::string digest;          // composefs digest in its cmdline
  std::string kernel_version, cmdline;
  uint64_t initrd_bytes = 0;
  std::string pcrsig;          // the .pcrsig JSON (with pcr_key)
};

// Builds, for images/<digest> of `repo`, an initrd from the image's own
// kernel modules with bootseal-setup-root, and a UKI on systemd-stub with
// the image's kernel and os-release and "composefs=<digest> <cmdline_extra>",
// signed with the key set's db key.
Result<SealedUki> seal_uki(const store::Repository& repo, const std::string& digest, const UkiOptions& o);

// The image's own UKI that seals `digest` (signed), nullopt when it carries none.
Result<std::optional<SealedUki>> image_uki(const store::Repository& repo, const store::ImageRecord& record,
                                           const std::string& digest, const std::string& cmdline_extra);

struct DiskResult {
  Arch arch = Arch::kX86_64;
  std::string digest;          // composefs digest sealed into the UKI
  std::string kernel_version;
  std::string cmdline;
  uint64_t uki_bytes = 0, initrd_bytes = 0, esp_bytes = 0, root_bytes = 0, disk_bytes = 0;
  uint64_t objects = 0, object_bytes = 0;
  std::string uki_path;        // a copy of the signed UKI, next to the output (<output>.uki.efi)
  // --encrypt
  std::string luks_uuid, recovery_key, policy_hash;
  int tpm_keyslot = -1, recovery_keyslot = -1;
};

// Where bootseal-unlock is looked for when not given (next to bootseal's build, then
// /usr/libexec/bootseal).
std::vector<std::string> unlock_candidates();

Result<DiskResult> create_disk(const DiskOptions& o);

// A regular file of an image (inline content or its object under `objects`),
// following symbolic links inside the image.
Result<Bytes> image_file(const fstree::Tree& tree, const std::string& objects, std::string path);
// The one kernel version the image ships (/usr/lib/modules/<kver>/vmlinuz).
Result<std::string> find_kernel_version(const fstree::Tree& tree);
// bootseal's own initrd for an image: setup-root, busybox and the image's
// kernel modules (zstd cpio); `work` is scratch space.
Result<Bytes> build_image_initrd(const fstree::Tree& tree, const std::string& objects, const std::string& kver, Arch arch,
                                 const std::string& setup_root, const std::string& busybox, const std::string& work,
                                 const std::string& unlock = "");

// The first existing file among candidates, or an error listing them.
Result<std::string> find_file(std::string_view what, const std::vector<std::string>& candidates);

}  // namespace bootseal::seal
