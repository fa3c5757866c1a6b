// The edk2 variable store of an OVMF_VARS.fd (what QEMU's pflash holds and
// virt-fw-vars writes): EFI_FIRMWARE_VOLUME_HEADER ("_FVH" at 0x28, header
// length at 0x30), then VARIABLE_STORE_HEADER (authenticated or plain
// variable GUID, size, format 0x5A, state 0xFE), then variables, each a
// header (StartId 0x55AA, State, Attributes, [MonotonicCount, TimeStamp,
// PubKeyIndex,] NameSize, DataSize, VendorGuid), the UTF-16LE name and the
// data, 4-byte aligned. Live variables have State VAR_ADDED (0x3F) or
// VAR_ADDED & VAR_IN_DELETED_TRANSITION (0x3E); a later one replaces an
// earlier one of the same name and vendor. Pure; every length checked.
#pragma once

#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"
#include "efivar/guid.h"

namespace bootseal::efivar {

struct StoredVariable {
  std::string name;  // UTF-16 name as ASCII/UTF-8
  Guid vendor;
  uint32_t attributes = 0;
  Bytes data;
};

Result<std::vector<StoredVariable>> parse_varstore(ByteSpan fd);

}  // namespace bootseal::efivar
