// Unified kernel images (UAPI "Unified Kernel Image" spec): systemd-stub plus
// data sections. Assembly follows ukify 257 so our UKIs have the same layout:
// new sections are appended to the stub in ukify's order
//   .osrel .cmdline .dtb .uname .splash .pcrpkey .linux .initrd .ucode [.sbat] .pcrsig
// (each after the previous one in memory and in the file, see pe/writer.h);
// .sbat replaces the stub's own .sbat in place when it fits, as ukify does.
// systemd-stub measures sections into PCR 11 in its own fixed order
// (kMeasuredSections), whatever the file order.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/arch.h"
#include "base/bytes.h"
#include "pe/pe.h"
#include "pe/writer.h"

namespace bootseal::uki {

// systemd src/fundamental/uki.h, UnifiedSection, in PCR 11 measurement order
// ("do not reorder"): .pcrsig is part of the list but never measured. 254 has
// the first ten; 257 adds .ucode (after .initrd), .profile, .dtbauto, .hwids;
// 258 adds .efifw. A stub measures the ones it knows (an older stub ignores
// the newer sections, and they do not reach PCR 11).
inline constexpr std::array<std::string_view, 15> kUnifiedSections = {
    ".linux", ".osrel",  ".cmdline", ".initrd",  ".ucode",   ".splash", ".dtb", ".uname",
    ".sbat",  ".pcrsig", ".pcrpkey", ".profile", ".dtbauto", ".hwids",  ".efifw"};
inline constexpr std::array<std::string_view, 14> kMeasuredSections = {
    ".linux", ".osrel",   ".cmdline", ".initrd",  ".ucode", ".splash", ".dtb",
    ".uname", ".sbat",    ".pcrpkey", ".profile", ".dtbauto", ".hwids", ".efifw"};
// The sections systemd-stub 254 measures (what it ignores of the list above).
inline constexpr std::array<std::string_view, 9> kMeasuredSections254 = {
    ".linux", ".osrel", ".cmdline", ".initrd", ".splash", ".dtb", ".uname", ".sbat", ".pcrpkey"};

// ukify's file order for the sections it adds (make_uki()'s list, then .sbat,
// then .pcrsig from call_systemd_measure()).
inline constexpr std::array<std::string_view, 11> kUkifyOrder = {
    ".osrel", ".cmdline", ".dtb", ".uname", ".splash", ".pcrpkey", ".linux", ".initrd", ".ucode", ".sbat", ".pcrsig"};
// Addons carry only these (plus .sbat).
inline constexpr std::array<std::string_view, 3> kAddonSections = {".cmdline", ".dtb", ".sbat"};

// The first line of every .sbat (shim's SBAT.md).
inline constexpr std::string_view kSbatHeader =
    "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md";
// What ukify adds when the user gives no --sbat.
inline constexpr std::string_view kUkiSbat =
    "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n"
    "uki,1,UKI,uki,1,https://uapi-group.org/specifications/specs/unified_kernel_image/\n";
inline constexpr std::string_view kAddonSbat =
    "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n"
    "uki-addon,1,UKI Addon,addon,1,https://www.freedesktop.org/software/systemd/man/latest/systemd-stub.html\n";

// Several initrds are concatenated with each padded to 4 bytes (ukify's join_initrds()).
inline constexpr size_t kInitrdAlignment = 4;

// A section's contents: a view, kept alive by `owned` when it owns the bytes;
// or, for a section added to the stub, `parts` laid end to end, each padded to
// kInitrdAlignment (several initrds, placed in the image without joining them
// into one buffer; `data` is then empty).
struct Content {
  ByteSpan data;
  std::shared_ptr<const Bytes> owned;
  std::vector<ByteSpan> parts;
  static Content own(Bytes b);
  static Content own(std::string_view s) { return own(Bytes(s.begin(), s.end())); }
  static Content view(ByteSpan s) { return {s, nullptr, {}}; }
  static Content joined(std::vector<ByteSpan> parts) { return {{}, nullptr, std::move(parts)}; }
  // The contents' size (parts padded as they will be laid out).
  uint64_t size() const;
};

struct NamedSection {
  std::string name;
  Content content;
};

// Merges SBAT data as ukify's merge_sbat(): the entries (all lines but the
// "sbat," header) of each PE's .sbat, then of each text, under one header;
// "\n"-joined, then "\n\0". A text whose first line is not an "sbat," header
// is skipped with a warning in `warnings`.
std::string merge_sbat(const std::vector<std::string>& pe_sbat_sections, const std::vector<std::string>& texts,
                       std::vector<std::string>* warnings = nullptr);

// The .sbat text of a PE (NULs stripped), if it has one.
std::optional<std::string> pe_sbat(ByteSpan pe_file);

// The kernel release ("uname -r") of an x86 bzImage: the setup header's
// kernel_version pointer (u16 at 0x20E, relative to 0x200), checked against
// the "HdrS" magic at 0x202, then "<version> (<builder>) #..." as ukify parses
// it; else the first "Linux version <d>.<...> (" string in the image.
Result<std::string> kernel_uname(ByteSpan linux_image);

// The architecture of a PE image (its Machine: 0x8664 x86-64, 0xAA64 arm64).
Result<Arch> pe_arch(ByteSpan pe_file);

// What check_kernel_for_stub() found.
struct KernelCheck {
  Arch arch = Arch::kX86_64;          // the stub's (and so the UKI's) architecture
  std::vector<std::string> warnings;  // e.g. an x86 kernel that is not a PE
};
// Whether systemd-stub `stub` (254) can boot `kernel` as its .linux:
//  - the stub's Machine must be x86-64 or arm64;
//  - a PE kernel's Machine must equal the stub's (an x86-64 kernel on the arm64
//    stub, or the reverse, is an error naming both);
//  - on arm64 the stub starts .linux with LoadImage() (src/boot/efi/linux.c,
//    pe_kernel_info()): the kernel must be a PE (a raw gzip Image.gz is not;
//    decompress it first, see is_gzip()) with MajorImageVersion >= 1, or the
//    stub stops with "Bad kernel image";
//  - on x86-64 a non-PE kernel is only a warning (the stub's handover path).
Result<KernelCheck> check_kernel_for_stub(ByteSpan kernel, ByteSpan stub);

// True if `data` starts with the gzip magic (RFC 1952: 1f 8b).
inline bool is_gzip(ByteSpan data) { return data.size() >= 2 && data[0] == 0x1f && data[1] == 0x8b; }

// Concatenates initrds; with more than one, each is padded to 4 bytes
// (ukify's join_initrds()). One initrd is used as is.
Bytes join_initrds(const std::vector<ByteSpan>& initrds);

struct AssembleOptions {
  bool update_checksum = true;  // ukify leaves 0
};

// Appends `sections` (already in file order) to `stub`. A section the stub
// already has is replaced in place if it fits (ukify's rule, used for .sbat),
// else it is an error. Clears NX_COMPAT when a PE .linux lacks it.
Result<Bytes> assemble(ByteSpan stub, const std::vector<NamedSection>& sections, const AssembleOptions& opts = {});
// The same as a pe::Layout of views into `stub` and the sections' contents
// (which must outlive it), for writing large UKIs without one big buffer.
Result<pe::Layout> assemble_layout(ByteSpan stub, const std::vector<NamedSection>& sections,
                                   const AssembleOptions& opts = {});

// Sorts sections into ukify's file order; names not in kUkifyOrder (ukify's
// --section extras) go after .initrd and before .sbat, in their given order.
void sort_ukify_order(std::vector<NamedSection>& sections);

// What `bootseal uki inspect` reports.
struct SectionInfo {
  std::string name;
  uint32_t virtual_address = 0;
  uint32_t virtual_size = 0;
  uint32_t raw_size = 0;
  uint32_t file_offset = 0;
  Bytes sha256;  // of the VirtualSize bytes (what systemd-stub measures); filled by the caller
};
struct Inspection {
  std::vector<SectionInfo> sections;
  std::optional<std::string> cmdline;
  std::vector<std::pair<std::string, std::string>> os_release;
  std::optional<std::string> uname;
  std::optional<std::string> sbat;
  std::optional<std::string> composefs_digest;  // composefs=<hex> in .cmdline
  bool signed_ = false;                         // has a certificate table
  uint32_t cert_table_size = 0;
  bool is_uki = false;  // has .linux
  bool is_addon = false;
  uint32_t checksum = 0;
  bool checksum_ok = false;
};
// Parses a UKI (or addon) and extracts its text sections. Digests are not
// computed here (uki/ has no crypto); the caller fills SectionInfo::sha256.
Result<Inspection> inspect(ByteSpan file);

}  // namespace bootseal::uki
