// The life cycle of a sealed system: status, upgrade/switch (stage a new
// deployment), rollback. Works on a physical root and an ESP given as
// directories, so the same code runs on a booted system (/sysroot and the
// mounted ESP) and offline on a mounted or staged disk.
//
// Layout (DESIGN.md section 3): <root>/composefs/ (the repository),
// <root>/state/deploy/<digest>/{etc/, var -> ../../os/default/var,
// <digest>.origin}, ESP EFI/Linux/bootc/bootc_composefs-<digest>.efi and
// loader/entries/bootc_<os>-<version>-<0|1>.conf (0 = default, 1 = rollback).
//
// Safety rules every change follows:
//   - nothing on the ESP or in state/ changes until the new deployment is
//     known to boot: the UKI's composefs digest names an image present in the
//     repository whose fs-verity digest is exactly that digest (what
//     bootseal-setup-root checks) and whose objects are all present;
//   - a UKI sealed for another EROFS format or xattr mode than the
//     repository's pinned one (bootc#2334: V1 UKIs on V2 repositories) is
//     detected: the format that reproduces its digest is written alongside
//     and the choice explained; if none does, the upgrade is refused;
//   - the booted deployment is never removed; entries are swapped as a set
//     (boot/entries.h); the deployment and its image are GC roots
//     (store::pin_deployment).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/arch.h"
#include "base/bytes.h"
#include "base/error.h"
#include "bls/karg.h"
#include "boot/entries.h"
#include "crypto/x509.h"
#include "store/repository.h"

namespace bootseal::deploy {

struct Sysroot {
  std::string root;                   // physical root: composefs/, state/
  std::string esp;                    // ESP mount point
  std::optional<std::string> booted;  // digest of the running deployment, if any
};

// <digest>.origin: INI sections and keys.
using Origin = std::map<std::string, std::map<std::string, std::string>>;
Origin parse_origin(std::string_view text);
std::string format_origin(const std::string& source, const std::string& digest, const std::string& manifest_digest);

struct DeploymentStatus {
  std::string digest;
  std::string role;     // "default", "rollback", or "unlisted" (state without an entry)
  bool booted = false;
  boot::EntryInfo entry;
  bool uki_present = false, image_present = false, state_present = false;
  std::string source, manifest_digest;  // from the origin file
};

struct SystemStatus {
  std::vector<DeploymentStatus> deployments;  // menu order, then unlisted
  std::optional<DeploymentStatus> staged;     // role "staged": applied by finalize
  std::string finalize_failed;                // why the last finalize failed ("" if it did not)
  std::vector<std::string> problems;          // one line each (missing UKI, image, state)
};

// The staged deployment (upgrade/switch write it, finalize applies it):
// <root>/state/staged.origin, the origin file of the deployment to be with
// its repository image. Its UKI is already on the ESP and its image pinned;
// the boot entries, its state directory (the /etc merge) and pruning wait
// for finalize. A finalize that fails leaves the entries as they were and
// writes the reason to <root>/state/staged.failed.
inline constexpr std::string_view kStagedRecord = "state/staged.origin";
inline constexpr std::string_view kFinalizeFailed = "state/staged.failed";
struct StagedDeployment {
  std::string digest;          // composefs digest the staged UKI seals
  std::string image_ref;       // the repository image it was resolved from
  std::string source, manifest_digest;
  int boot_tries = 0;          // the new entry's boot-counting tries (0: not counted)
};
Result<std::optional<StagedDeployment>> read_staged(const Sysroot& s);

Result<SystemStatus> read_status(const Sysroot& s);

// The image a UKI boots, found or produced in the repository.
struct BootImage {
  std::string digest;       // = the UKI's composefs digest
  uint32_t format = 1;      // EROFS format that reproduces it
  std::string xattrs;       // "allowlist" | "keep-user"
  bool repository_default = true;  // false: written besides the repository's pinned format
  std::string explanation;  // set when the default did not match
};

// Finds, for the repository image `image_ref` (a reference or digest), the
// {xattr mode} x {V1, V2} variant whose digest equals the karg's, as
// composefs-rs's find_matching_boot_image does, and writes it to images/ if it
// is not the stored one. Refused: a karg hash other than the repository's, an
// insecure ('?') karg unless allowed, and no matching variant (the error
// lists what each variant gives).
Result<BootImage> resolve_boot_image(store::Repository& repo, const std::string& image_ref,
                                     const bls::ComposefsKarg& karg, bool allow_insecure);

struct StageOptions {
  std::string image_ref;     // repository image to deploy (imported by the caller)
  std::string source;        // origin container-image-reference
  Bytes uki;                 // the signed UKI for it
  std::string uki_label;     // where the UKI came from (messages)
  bool allow_insecure = false;
  // The firmware's db: the UKI's Authenticode signature must chain to one of
  // these or the stage is refused (a UKI the firmware would refuse never
  // becomes the default). Empty: refused.
  std::vector<crypto::Certificate> trusted;
  std::string trusted_label;  // where they came from (messages)
  int boot_tries = boot::kDefaultBootTries;  // "+N" on the new entry at finalize (0: no boot counting)
  // The image's architecture (its OCI config's, or --arch), if known: the UKI's
  // PE Machine must be it. The UKI must also be for the architecture the ESP's
  // fallback loader is for (esp_arch); a mismatch is refused, nothing changed.
  std::optional<Arch> arch;
  std::string arch_label;  // where `arch` came from (messages)
  std::function<void(const std::string&)> step;
};

// The architecture the ESP boots: EFI/BOOT/BOOTAA64.EFI alone is arm64,
// EFI/BOOT/BOOTX64.EFI x86-64; nullopt if it has neither. `what` is set to the
// file that decided.
std::optional<Arch> esp_arch(const std::string& esp, std::string* what = nullptr);

// The X.509 certificates of a signature database (EFI_SIGNATURE_LISTs, the
// value of db); entries of other types (hashes) are skipped.
Result<std::vector<crypto::Certificate>> db_certificates(ByteSpan esl, const std::string& label);

struct StageResult {
  std::string digest;       // the staged deployment (default after finalize)
  std::string rollback;     // the deployment kept as rollback ("" if none)
  BootImage image;
  bool unchanged = false;   // already the default: no new deployment
  bool uki_replaced = false;  // ... but its UKI on the ESP was replaced by the given one
  std::string replaced_staged;  // a previously staged deployment this one replaced
};

// Stages `uki` (for `image_ref`): checks it boots, writes the UKI to the ESP,
// pins the image and writes the staged record. The boot entries are not
// touched; finalize_staged makes it the default.
Result<StageResult> stage_deployment(const Sysroot& s, store::Repository& repo, const StageOptions& o);

struct FinalizeResult {
  bool nothing_staged = false;
  std::string digest;       // the new default deployment
  std::string rollback;     // the deployment kept as rollback ("" if none)
  std::vector<std::string> etc_kept, etc_removed;  // /etc merge
  std::vector<std::string> pruned;                 // deployments removed
};

// Applies the staged deployment: the /etc three-way merge (the running
// deployment's /etc as it is now), its state directory, then the entry set
// swapped as one ([0] the staged deployment, [1] the booted one or, offline,
// the previous default), then pruning. On failure the entries are unchanged,
// the staged record stays and the reason is written to kFinalizeFailed.
Result<FinalizeResult> finalize_staged(const Sysroot& s, store::Repository& repo);

// Drops the staged deployment (record, its UKI and pin unless listed or booted).
Result<std::optional<std::string>> discard_staged(const Sysroot& s, store::Repository& repo);

// Removes deployments (UKI, state, GC pin) that no boot entry names and that
// are not booted; returns their digests. Refused when the ESP has no entries.
Result<std::vector<std::string>> prune_deployments(const Sysroot& s, store::Repository& repo, bool dry_run);
// The same with an explicit set of digests to keep.
Result<std::vector<std::string>> prune_unused(const Sysroot& s, store::Repository& repo,
                                              const std::set<std::string>& live, bool dry_run);

// Swaps default and rollback. Returns {new default, new rollback}.
Result<std::pair<std::string, std::string>> rollback(const Sysroot& s);

// The composefs karg of a UKI's .cmdline (SHA-512 first, then SHA-256).
Result<bls::ComposefsKarg> uki_karg(ByteSpan uki, const std::string& label);

}  // namespace bootseal::deploy
