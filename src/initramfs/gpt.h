// A minimal, checked reader of GPT partition tables (UEFI spec 2.10 section 5.3),
// enough for setup-root to find the root partition by type (Discoverable Partitions
// Specification), PARTUUID or PARTLABEL without blkid. Pure: bytes in.
//
//   GPT header at LBA 1 (92 bytes used): Signature "EFI PART" @0, Revision @8,
//   HeaderSize @12, HeaderCRC32 @16, MyLBA @24, FirstUsableLBA @40, LastUsableLBA @48,
//   DiskGUID @56, PartitionEntryLBA @72, NumberOfPartitionEntries @80,
//   SizeOfPartitionEntry @84, PartitionEntryArrayCRC32 @88.
//   Entry: PartitionTypeGUID @0, UniquePartitionGUID @16, StartingLBA @32,
//   EndingLBA @40, Attributes @48, PartitionName @56 (36 UTF-16LE units).
#pragma once

#include <string>
#include <vector>

#include "base/bytes.h"

namespace bootseal::initramfs {

inline constexpr std::string_view kGptSignature = "EFI PART";
// Discoverable Partitions Specification: "Root Partition (x86-64)".
inline constexpr std::string_view kRootX86_64TypeGuid = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709";
inline constexpr uint32_t kGptMaxEntries = 1024;

struct GptHeader {
  uint64_t entries_lba = 0;
  uint32_t num_entries = 0;
  uint32_t entry_size = 0;
};

struct GptPartition {
  uint32_t number = 0;      // 1-based index in the entry array (the kernel's PARTN)
  std::string type_guid;    // lower-case, canonical text form
  std::string unique_guid;
  uint64_t first_lba = 0, last_lba = 0;
  std::string name;         // ASCII subset of the UTF-16 name ('?' for others)
};

// Canonical text of a GUID stored in EFI mixed-endian byte order.
std::string guid_to_string(ByteSpan g16);

// `lba1`: the 512-byte sector at LBA 1. Checks signature, header size and CRC32.
Result<GptHeader> parse_gpt_header(ByteSpan lba1);
// `entries`: the entry array (num_entries * entry_size bytes). Checks its CRC32 only if
// `expected_crc` is given. Unused (all-zero type) entries are skipped.
Result<std::vector<GptPartition>> parse_gpt_entries(ByteSpan entries, const GptHeader& h);

uint32_t crc32(ByteSpan data);

}  // namespace bootseal::initramfs
