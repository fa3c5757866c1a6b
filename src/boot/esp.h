// The ESP of a sealed system, laid out as bootc's composefs backend does
// (DESIGN.md section 3):
//
//   EFI/BOOT/BOOTX64.EFI                         signed systemd-boot (fallback path)
//   EFI/systemd/systemd-bootx64.efi              signed systemd-boot
//   (arm64: EFI/BOOT/BOOTAA64.EFI, EFI/systemd/systemd-bootaa64.efi)
//   EFI/Linux/bootc/bootc_composefs-<digest>.efi signed UKI, one per deployment
//   loader/loader.conf                           timeout, default entry, secure-boot-enroll
//   loader/entries/bootc_<os>-<version>-<n>.conf BLS type 1 entry: "efi <UKI path>"
//   loader/keys/<name>/{PK,KEK,db}.auth          signed EFI variable updates for auto-enroll
//
// Entries use the `efi` key (understood by every systemd-boot, 254 included),
// not the newer `uki` key. Index 0 is the default deployment and sorts first;
// index 1 the rollback.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/arch.h"
#include "base/bytes.h"
#include "bls/os_release.h"

namespace bootseal::boot {

inline constexpr std::string_view kUkiDir = "EFI/Linux/bootc";
inline constexpr std::string_view kEntriesDir = "loader/entries";
// systemd-boot (254: config_default_entry_select, config_entry_compare) boots
// the first entry in menu order that matches `default`, and sorts entries with
// no tries left last. So the glob names every deployment and the sort-key
// orders them: the default ("-0") boots unless it used up its boot-counting
// tries, then the rollback does, with no human. ("bootc_*-0.conf" would match
// neither a counted name nor skip a failed default.)
inline constexpr std::string_view kDefaultEntryGlob = "bootc_*";
inline constexpr int kDefaultBootTries = 3;

struct Deployment {
  std::string digest;        // composefs image digest (hex), names the UKI
  std::string uki_source;    // host path of the signed UKI
  std::string os_id;         // os-release ID (e.g. "debian")
  std::string version;       // os-release VERSION_ID or the image version
  std::string title;         // menu title (os-release PRETTY_NAME)
  // Boot counting (UAPI Boot Loader Specification): "+LEFT[-DONE]" in the entry's
  // file name; systemd-boot decrements it, systemd-bless-boot removes it on a good boot.
  int tries_left = -1;       // -1: no counter
  int tries_done = 0;
};

struct EspSpec {
  std::string sdboot_source;          // host path of the signed systemd-boot<x64|aa64>.efi
  Arch arch = Arch::kX86_64;          // names the loader files
  std::vector<Deployment> deployments;  // [0] default, [1] rollback (optional)
  std::string keys_name = "auto";     // loader/keys/<name>/
  std::string pk_auth, kek_auth, db_auth;  // host paths; empty = no auto-enroll
  // loader.conf secure-boot-enroll: "off", "manual", "if-safe" or "force". if-safe
  // (the default): systemd-boot enrolls loader/keys/auto/ by itself only where that
  // cannot brick the machine (in a virtual machine, systemd-boot 253+); on real
  // hardware the keys are offered in the menu. force enrolls on real hardware too
  // (after a 15 s countdown): option ROMs not signed by a db certificate then stop
  // loading (docs/secure-boot.md).
  std::string secure_boot_enroll = "if-safe";
  int timeout = 0;
};

// One file of the plan: its path on the ESP and where its bytes come from.
struct EspFile {
  std::string path;                   // relative, '/'-separated
  std::optional<std::string> source;  // host file to copy
  std::string text;                   // or inline content
};

struct EspPlan {
  std::vector<EspFile> files;
};

// ESP paths and file names (pure).
std::string uki_path(std::string_view digest);
// The boot-entry identity of an image, from its os-release (the image's
// /usr/lib/os-release, which is also its UKI's .osrel): ID (default "linux"),
// VERSION_ID, else IMAGE_VERSION, else "0", with '/', ' ' and '\\' made '_' so it is
// one file-name component, and PRETTY_NAME as the title. disk create, upgrade and
// switch all name an image's entry through this one rule.
Deployment deployment_for(std::string digest, const bls::OsRelease& os_release);
std::string entry_name(std::string_view os_id, std::string_view version, int index, int tries_left = -1,
                       int tries_done = 0);
// "name+2-1.conf" -> {"name.conf", 2, 1}; no counter: {name, -1, 0}.
struct CountedName {
  std::string base;
  int tries_left = -1, tries_done = 0;
};
CountedName parse_counted_name(std::string_view file);
std::string bls_entry(const Deployment& d, int index);
std::string loader_conf(const EspSpec& spec);

// Validates the spec (digests are hex, names have no '/', files are named) and
// lists what goes on the ESP. Pure.
Result<EspPlan> plan_esp(const EspSpec& spec);

// Bytes the plan needs (file sizes rounded up to 4 KiB clusters), for sizing
// the FAT and refusing an ESP too small before anything is written.
Result<uint64_t> plan_bytes(const EspPlan& plan);

// Writes the plan into `dir` (created if missing). Files are written atomically.
Status write_esp_dir(const EspPlan& plan, const std::string& dir);

}  // namespace bootseal::boot
