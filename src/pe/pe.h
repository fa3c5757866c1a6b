// PE/COFF (PE32+) images: a validating reader, the PE checksum, and the
// Authenticode digest ranges (pure data, no hashing: authenticode/ hashes them).
//
// Layout (Microsoft "PE Format", sections "MS-DOS Stub", "Signature", "COFF File
// Header", "Optional Header", "Section Table"):
//
//   0x00  IMAGE_DOS_HEADER   e_magic "MZ" ... e_lfanew (u32 at 0x3c) -> PE header
//   e_lfanew  "PE\0\0"
//   +4   IMAGE_FILE_HEADER (20 bytes): Machine u16, NumberOfSections u16,
//        TimeDateStamp u32, PointerToSymbolTable u32, NumberOfSymbols u32,
//        SizeOfOptionalHeader u16, Characteristics u16
//   +24  IMAGE_OPTIONAL_HEADER64 (Magic 0x20b): ... CheckSum at +64 ...,
//        NumberOfRvaAndSizes at +108, DataDirectory[] at +112 (8 bytes each)
//   +24+SizeOfOptionalHeader  IMAGE_SECTION_HEADER[NumberOfSections] (40 bytes each)
//
// Every offset and length read from the file is checked before use (the style
// of systemd's src/boot/pe.c); malformed input gives an Error, never a crash.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"

namespace bootseal::pe {

inline constexpr uint16_t kDosMagic = 0x5a4d;           // "MZ"
inline constexpr uint32_t kPeSignature = 0x00004550;    // "PE\0\0"
inline constexpr uint16_t kPe32PlusMagic = 0x20b;       // IMAGE_NT_OPTIONAL_HDR64_MAGIC
inline constexpr uint16_t kPe32Magic = 0x10b;           // IMAGE_NT_OPTIONAL_HDR32_MAGIC
inline constexpr size_t kDosLfanewOffset = 0x3c;
inline constexpr size_t kFileHeaderSize = 20;
inline constexpr size_t kSectionHeaderSize = 40;
inline constexpr size_t kOptCheckSumOffset = 64;          // same for PE32 and PE32+
inline constexpr size_t kOptPlusDataDirectoryOffset = 112;  // PE32+: NumberOfRvaAndSizes at 108
inline constexpr size_t kOptPlusFixedSize = 112;
inline constexpr uint32_t kMaxDataDirectories = 16;
// systemd's pe.c and Windows cap the section count at 96.
inline constexpr uint16_t kMaxSections = 96;
inline constexpr size_t kSectionNameSize = 8;

// Data directory indices (PE Format, "Optional Header Data Directories").
inline constexpr size_t kDirExport = 0;
inline constexpr size_t kDirImport = 1;
inline constexpr size_t kDirBaseReloc = 5;
inline constexpr size_t kDirDebug = 6;
// IMAGE_DIRECTORY_ENTRY_SECURITY: VirtualAddress is a *file offset* of the
// attribute certificate table (WIN_CERTIFICATE entries), not an RVA.
inline constexpr size_t kDirSecurity = 4;

// IMAGE_FILE_HEADER.Machine
inline constexpr uint16_t kMachineAmd64 = 0x8664;
inline constexpr uint16_t kMachineArm64 = 0xaa64;

// Section characteristics used by UKIs.
inline constexpr uint32_t kScnCntCode = 0x00000020;
inline constexpr uint32_t kScnCntInitializedData = 0x00000040;
inline constexpr uint32_t kScnMemExecute = 0x20000000;
inline constexpr uint32_t kScnMemRead = 0x40000000;
inline constexpr uint32_t kScnMemWrite = 0x80000000;

// IMAGE_FILE_HEADER.Characteristics
inline constexpr uint16_t kFileLocalSymsStripped = 0x0008;
// IMAGE_OPTIONAL_HEADER.DllCharacteristics
inline constexpr uint16_t kDllNxCompat = 0x0100;

struct DataDirectory {
  uint32_t VirtualAddress = 0;
  uint32_t Size = 0;
};

// IMAGE_SECTION_HEADER, fields as the spec names them, plus where it sits.
struct Section {
  std::array<uint8_t, kSectionNameSize> raw_name{};
  uint32_t VirtualSize = 0;  // Misc.VirtualSize
  uint32_t VirtualAddress = 0;
  uint32_t SizeOfRawData = 0;
  uint32_t PointerToRawData = 0;
  uint32_t PointerToRelocations = 0;
  uint32_t PointerToLinenumbers = 0;
  uint16_t NumberOfRelocations = 0;
  uint16_t NumberOfLinenumbers = 0;
  uint32_t Characteristics = 0;

  // The name without NUL padding (may be "/4" style string-table references).
  std::string name() const;
  // Bytes the loader maps: VirtualSize, or SizeOfRawData when VirtualSize is 0.
  uint32_t mapped_size() const { return VirtualSize ? VirtualSize : SizeOfRawData; }
};

// A parsed PE32+ image: copies of the header fields plus the file offsets of
// the fields a signer patches.
struct Image {
  uint64_t file_size = 0;
  uint32_t e_lfanew = 0;

  // IMAGE_FILE_HEADER
  uint16_t Machine = 0;
  uint16_t NumberOfSections = 0;
  uint32_t TimeDateStamp = 0;
  uint32_t PointerToSymbolTable = 0;
  uint32_t NumberOfSymbols = 0;
  uint16_t SizeOfOptionalHeader = 0;
  uint16_t Characteristics = 0;

  // IMAGE_OPTIONAL_HEADER64 (the fields we use)
  uint16_t Magic = 0;
  uint32_t SizeOfCode = 0;
  uint32_t SizeOfInitializedData = 0;
  uint32_t AddressOfEntryPoint = 0;
  uint64_t ImageBase = 0;
  uint32_t SectionAlignment = 0;
  uint32_t FileAlignment = 0;
  uint16_t MajorImageVersion = 0;
  uint16_t MinorImageVersion = 0;
  uint32_t SizeOfImage = 0;
  uint32_t SizeOfHeaders = 0;
  uint32_t CheckSum = 0;
  uint16_t Subsystem = 0;
  uint16_t DllCharacteristics = 0;
  uint32_t NumberOfRvaAndSizes = 0;
  std::vector<DataDirectory> data_directories;

  std::vector<Section> sections;  // in section-table order

  // File offsets of structures and patchable fields.
  size_t file_header_offset = 0;
  size_t optional_header_offset = 0;
  size_t checksum_offset = 0;             // OptionalHeader.CheckSum (u32)
  size_t data_directory_offset = 0;       // DataDirectory[0]
  std::optional<size_t> security_dir_offset;  // DataDirectory[4] (8 bytes), if present
  size_t section_table_offset = 0;

  // The attribute certificate table (security directory), if any.
  DataDirectory certificate_table() const;
  bool has_certificate_table() const { return certificate_table().Size != 0; }
  // Section by name (first match), or nullptr.
  const Section* find(std::string_view name) const;
  // End of the last section's raw data in the file (0 if none), i.e. where
  // "trailing data" starts.
  uint64_t raw_data_end() const;
};

// Parses and validates a PE32+ image. Errors: not a PE, truncated headers,
// sections out of bounds or overlapping, certificate table outside the file.
Result<Image> parse(ByteSpan file);
// The same from the first bytes of a file of `file_size` bytes: `head` must
// hold the headers (SizeOfHeaders bytes); section data and the certificate
// table are checked against `file_size` but not read. For images kept as a
// pe::Layout (headers plus views) or larger than what is at hand.
Result<Image> parse_headers(ByteSpan head, uint64_t file_size);

// True if the bytes start like a PE image ("MZ" + valid e_lfanew + "PE\0\0").
bool looks_like_pe(ByteSpan file);

// The raw bytes of a section present in the file: min(VirtualSize, SizeOfRawData)
// bytes (VirtualSize 0 means SizeOfRawData). `image` must come from parse(file).
ByteSpan section_data(ByteSpan file, const Section& s);
// The section as mapped in memory: mapped_size() bytes, zero-filled past the raw data.
Bytes section_contents(ByteSpan file, const Section& s);

// The PE image checksum (the algorithm of imagehlp's CheckSumMappedFile): the
// 16-bit one's-complement-style sum of the file with the CheckSum field taken as
// zero, folded to 16 bits, plus the file length.
uint32_t compute_checksum(ByteSpan file, size_t checksum_offset);
// The checksum in parts, for files held in pieces: checksum_word_sum() of each
// piece at its file offset (a byte at an odd offset is a high byte), summed
// with the CheckSum field zero, then fold_checksum(sum, file size).
uint64_t checksum_word_sum(ByteSpan data, uint64_t offset);
uint32_t fold_checksum(uint64_t word_sum, uint64_t file_size);

// A byte range [offset, offset+size) of the file.
struct Range {
  uint64_t offset = 0;
  uint64_t size = 0;
  bool operator==(const Range&) const = default;
};

// The ranges an Authenticode image hash covers, in hashing order ("Windows
// Authenticode Portable Executable Signature Format", "Calculating the PE Image
// Hash"): the headers up to SizeOfHeaders except the CheckSum field and the
// certificate-table data directory entry; then each section's raw data
// (SizeOfRawData bytes) sorted by PointerToRawData; then any data after the
// sections (starting at SizeOfHeaders + the sum of SizeOfRawData) up to the
// certificate table (or the end of the file), not including the table itself.
struct AuthenticodeRanges {
  std::vector<Range> ranges;
  size_t checksum_offset = 0;      // patch the new checksum here (u32)
  size_t security_dir_offset = 0;  // patch {VirtualAddress, Size} of the cert table here
  uint64_t cert_table_offset = 0;  // where the existing table starts (0 if none)
  uint64_t cert_table_size = 0;
  // Where a new certificate table goes when appended to an unsigned image: the
  // end of the hashed data, rounded up to 8 bytes (WIN_CERTIFICATE alignment).
  uint64_t signed_data_end = 0;
};
Result<AuthenticodeRanges> authenticode_ranges(const Image& image);

}  // namespace bootseal::pe
