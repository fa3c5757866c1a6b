// bootseal verify TARGET: will this disk boot sealed, and if not, which link
// breaks? Every link of the chain is checked (also after a failure), in boot
// order: firmware trust (db/KEK/PK), boot loader, loader.conf and entries,
// each UKI (signature, sections, cmdline, composefs karg, policy, .pcrsig),
// the root (partition, image, its fs-verity digest, its objects, deployment).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/arch.h"
#include "base/error.h"

namespace bootseal::verify {

enum class Verdict { kPass, kWarn, kFail };
std::string_view verdict_name(Verdict v);  // "PASS", "WARN", "FAIL"

struct Link {
  Verdict verdict = Verdict::kPass;
  std::string name;    // "firmware.db", "loader.BOOTX64.EFI", "uki.<file>.signature", "root.objects", ...
  std::string reason;  // one line
  std::vector<std::pair<std::string, std::string>> details;
};

struct Options {
  // One target (a disk image, a block device, `/` of a booted system, or a
  // root directory with the ESP in efi/, boot/efi/ or boot/), or two (the ESP
  // and the root, each a directory or a disk whose ESP / root partition is used).
  std::vector<std::string> targets;
  std::vector<std::string> db_certs;  // --db: the certificates the firmware trusts
  std::string efivars_dir;            // --efivars: db/KEK/PK from efivarfs (or a copy of it)
  std::string vars_file;              // --vars: db/KEK/PK from an OVMF_VARS.fd
  std::string pcr_public_key;         // --pcr-public-key: the key .pcrsig must be signed with
  std::string policy_file;            // --policy: required/forbidden kernel arguments
  bool deep = false;                  // hash every object
  // --arch: the architecture the disk must be for; nullopt: from the ESP's
  // fallback loader (EFI/BOOT/BOOTAA64.EFI alone: arm64), else the root
  // partition's type, else x86-64. The loader, systemd-boot, every UKI and its
  // .linux (the stub's rules, uki::check_kernel_for_stub) and the root
  // partition type must all be for it.
  std::optional<Arch> arch;
  int64_t now = 0;                    // Unix time for certificate validity (0 = the clock)
};

struct Report {
  std::vector<Link> links;
  uint64_t deep_bytes = 0;
  double deep_seconds = 0;
  bool ok() const {
    for (auto& l : links)
      if (l.verdict == Verdict::kFail) return false;
    return true;
  }
};

// Problems with the target are FAIL links; errors are only for options that
// cannot be used at all (an unreadable --db file, a bad --policy).
Result<Report> run(const Options& o);

// A --policy file: lines "require ARG" / "forbid ARG" ('#' comments), ARG
// "key" (the key present, with any value) or "key=value" (exactly that).
struct PolicyRule {
  bool require = true;
  std::string arg;
};
Result<std::vector<PolicyRule>> parse_policy(std::string_view text);
// The rules the cmdline breaks, one message each.
std::vector<std::string> check_policy(const std::vector<PolicyRule>& rules, std::string_view cmdline);

// systemd-boot's entry order (sort-key, then version descending, then id
// descending; entries out of tries last) and the default: the first entry
// matching loader.conf's `default` glob, else the first. Exposed for tests.
struct EntryInfo {
  std::string id;  // file name
  std::string sort_key, version, efi;
  int tries_left = -1, tries_done = -1;  // from "+LEFT[-DONE]" in the name; -1: no boot counting
};
EntryInfo parse_entry_name(std::string id);
void sort_entries(std::vector<EntryInfo>& entries);
int version_compare(std::string_view a, std::string_view b);  // systemd's strverscmp_improved (simplified)
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace bootseal::verify
