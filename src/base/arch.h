// The UEFI architectures bootseal builds sealed images for, and what differs
// between them: EFI file suffixes (UEFI 2.10 §3.5.1.1, "BOOTX64.EFI",
// "BOOTAA64.EFI"), PE and ELF machine numbers, the root partition type of the
// Discoverable Partitions Specification, the serial console QEMU's machine
// offers, and the names OCI, Debian and QEMU use. Pure data.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/error.h"

namespace bootseal {

enum class Arch { kX86_64, kArm64 };

struct ArchInfo {
  Arch arch;
  std::string_view name;            // bootseal's spelling: "x86-64", "arm64"
  std::string_view efi;             // UEFI suffix: "x64", "aa64"
  std::string_view efi_upper;       // "X64", "AA64" (EFI/BOOT/BOOT<efi_upper>.EFI)
  uint16_t pe_machine;              // IMAGE_FILE_MACHINE_AMD64 / _ARM64
  uint16_t elf_machine;             // EM_X86_64 (62) / EM_AARCH64 (183)
  std::string_view oci;             // OCI/Go GOARCH: "amd64", "arm64"
  std::string_view debian;          // dpkg architecture: "amd64", "arm64"
  std::string_view qemu;            // qemu-system-<qemu>: "x86_64", "aarch64"
  std::string_view console;         // kernel console on QEMU's machine: ttyS0 (16550), ttyAMA0 (PL011)
  std::string_view root_type_guid;  // Discoverable Partitions: "Root Partition (x86-64)" / "(64-bit ARM/AArch64)"
};

inline constexpr ArchInfo kArchX86_64{Arch::kX86_64, "x86-64", "x64", "X64", 0x8664, 62, "amd64", "amd64",
                                      "x86_64", "ttyS0", "4f68bce3-e8cd-4db1-96e7-fbcaf984b709"};
inline constexpr ArchInfo kArchArm64{Arch::kArm64, "arm64", "aa64", "AA64", 0xaa64, 183, "arm64", "arm64",
                                     "aarch64", "ttyAMA0", "b921b045-1df0-41c3-af44-4c6f280d3fae"};

// The architecture this code is compiled for (bootseal-setup-root looks for its own
// root partition type).
#if defined(__aarch64__)
inline constexpr Arch kBuildArch = Arch::kArm64;
#else
inline constexpr Arch kBuildArch = Arch::kX86_64;
#endif

inline constexpr const ArchInfo& arch_info(Arch a) { return a == Arch::kArm64 ? kArchArm64 : kArchX86_64; }
inline constexpr std::string_view arch_name(Arch a) { return arch_info(a).name; }

// "x86-64", "x86_64", "amd64", "x64" / "arm64", "aarch64", "aa64".
inline Result<Arch> parse_arch(std::string_view s) {
  if (s == "x86-64" || s == "x86_64" || s == "amd64" || s == "x64") return Arch::kX86_64;
  if (s == "arm64" || s == "aarch64" || s == "aa64") return Arch::kArm64;
  return input_error("unknown architecture '{}' (expected x86-64 or arm64)", s);
}

inline std::optional<Arch> arch_from_pe_machine(uint16_t machine) {
  if (machine == kArchX86_64.pe_machine) return Arch::kX86_64;
  if (machine == kArchArm64.pe_machine) return Arch::kArm64;
  return std::nullopt;
}
inline std::optional<Arch> arch_from_elf_machine(uint16_t machine) {
  if (machine == kArchX86_64.elf_machine) return Arch::kX86_64;
  if (machine == kArchArm64.elf_machine) return Arch::kArm64;
  return std::nullopt;
}

// An OCI image config's "architecture" and "variant" (image-spec config.md,
// GOARCH values): amd64, arm64 (variant empty or "v8"). Others are unsupported.
inline Result<Arch> arch_from_oci(std::string_view architecture, std::string_view variant) {
  if (architecture == "amd64" && variant.empty()) return Arch::kX86_64;
  if (architecture == "arm64" && (variant.empty() || variant == "v8")) return Arch::kArm64;
  return unsupported_error("image architecture '{}{}{}' is not supported (sealed images are amd64 or arm64)",
                           architecture, variant.empty() ? "" : "/", variant);
}

}  // namespace bootseal
