// The boot entries of a sealed system's ESP, read and replaced as one unit.
//
// Entries live in loader/entries/ (see esp.h for names and content). A change
// (upgrade, rollback) writes the complete new set into loader/entries.staged/,
// syncs it, and swaps the two directories with renameat2(RENAME_EXCHANGE), so
// systemd-boot sees either the old set or the new one, never a mix. vfat
// supports the exchange since Linux 6.0; where it is missing the swap falls
// back to two renames (a crash between them leaves loader/entries missing and
// loader/entries.staged complete: read_entries() then uses the staged set, and
// the next change finishes the swap).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "boot/esp.h"

namespace bootseal::boot {

inline constexpr std::string_view kStagedEntriesDir = "loader/entries.staged";

struct EntryInfo {
  std::string file;      // name under loader/entries/
  std::string title, version, sort_key, efi;
  std::string digest;    // composefs digest named by the UKI path ("" if not a bootseal/bootc UKI)
  int tries_left = -1;   // boot counting ("+LEFT-DONE" in the file name); -1: not counted
  int tries_done = 0;
  bool failed() const { return tries_left == 0; }  // systemd-boot skips it
};

// "/EFI/Linux/bootc/bootc_composefs-<hex>.efi" -> "<hex>" (nullopt otherwise).
std::optional<std::string> digest_of_uki_path(std::string_view efi);

// The entries in systemd-boot's menu order: by sort-key (entries without one
// last), then by file name. Unreadable or malformed entries are an error
// naming the file.
Result<std::vector<EntryInfo>> read_entries(const std::string& esp);

// Replaces the whole entry set with `deployments` ([0] default, [1] rollback)
// as described above. The UKIs must already be on the ESP.
Status replace_entries(const std::string& esp, const std::vector<Deployment>& deployments);

}  // namespace bootseal::boot
