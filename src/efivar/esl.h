// EFI_SIGNATURE_LIST (UEFI spec 2.10, section 32.4.1 "Signature Database"):
// the value of PK, KEK, db and dbx is a sequence of these lists.
//
//   EFI_SIGNATURE_LIST {
//     EFI_GUID SignatureType;        // e.g. EFI_CERT_X509_GUID
//     UINT32   SignatureListSize;    // whole list, header included
//     UINT32   SignatureHeaderSize;  // bytes of SignatureHeader (0 for X509/SHA256)
//     UINT32   SignatureSize;        // bytes of each EFI_SIGNATURE_DATA
//     UINT8    SignatureHeader[SignatureHeaderSize];
//     EFI_SIGNATURE_DATA Signatures[...];   // (ListSize-28-HeaderSize)/SignatureSize
//   }
//   EFI_SIGNATURE_DATA { EFI_GUID SignatureOwner; UINT8 SignatureData[SignatureSize-16]; }
#pragma once

#include <vector>

#include "efivar/guid.h"

namespace bootseal::efivar {

inline constexpr size_t kSignatureListHeaderSize = 28;
// Caps for untrusted input: far above any real database (dbx has ~400 entries).
inline constexpr size_t kMaxSignatureLists = 4096;
inline constexpr size_t kMaxSignaturesPerList = 65536;

struct SignatureEntry {  // EFI_SIGNATURE_DATA
  Guid SignatureOwner;
  Bytes SignatureData;
  bool operator==(const SignatureEntry&) const = default;
};

struct SignatureList {
  Guid SignatureType;
  Bytes SignatureHeader;
  uint32_t SignatureSize = 0;  // of each EFI_SIGNATURE_DATA, owner GUID included
  std::vector<SignatureEntry> Signatures;
};

// Parses a whole signature database (zero or more lists back to back).
Result<std::vector<SignatureList>> parse_signature_lists(ByteSpan data);
// Serialises one list; every entry must have SignatureSize-16 bytes of data.
Result<Bytes> write_signature_list(const SignatureList& list);
Result<Bytes> write_signature_lists(const std::vector<SignatureList>& lists);

// The list cert-to-efi-sig-list makes: one EFI_CERT_X509_GUID entry.
SignatureList x509_signature_list(const Guid& owner, ByteSpan cert_der);

// Annotated dump ("offset field = value" lines) for debugging and tests.
std::string dump_signature_lists(const std::vector<SignatureList>& lists);

}  // namespace bootseal::efivar
