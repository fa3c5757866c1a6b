// Where the systemd EFI binaries come from: systemd-boot, systemd-stub and
// the addon stub. Looked up in one order everywhere (uki build/addon, disk
// create, upgrade --keys): the path the user gave, $BOOTSEAL_STUB (the UKI
// stub only), the payloads unpacked by tools/fetch-payloads
// ($BOOTSEAL_PAYLOADS, default /var/cache/bootseal/payloads), then the
// system's systemd-boot-efi package.
#pragma once

#include <string>
#include <string_view>

#include "base/arch.h"
#include "base/error.h"

namespace bootseal::boot {

inline constexpr const char* kDefaultPayloads = "/var/cache/bootseal/payloads";
inline constexpr const char* kSystemdBootEfi = "systemd-bootx64.efi";
inline constexpr const char* kLinuxStub = "linuxx64.efi.stub";
inline constexpr const char* kAddonStub = "addonx64.efi.stub";

// The same names for an architecture ("systemd-bootaa64.efi", "linuxaa64.efi.stub", ...).
std::string systemd_boot_name(Arch a);
std::string linux_stub_name(Arch a);
std::string addon_stub_name(Arch a);

// $BOOTSEAL_PAYLOADS or kDefaultPayloads.
std::string payloads_dir();

// The EFI binary `file` (one of the names above). `given` (an option's
// value, `hint` names the option) wins and must exist; otherwise the first
// existing candidate, or an error listing every path tried. arm64 files
// ("...aa64...") come from the payloads' arm64/sdboot; $BOOTSEAL_STUB is an
// x86-64 stub and is used for linuxx64.efi.stub only.
Result<std::string> find_systemd_efi(std::string_view file, const std::string& given, std::string_view hint);

}  // namespace bootseal::boot
