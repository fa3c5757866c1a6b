// Offline TPM 2.0 arithmetic (TPM 2.0 Library, Part 1 "PCR Extend" and Part 3
// "TPM2_PolicyPCR"): what a TPM computes, without a TPM.
#pragma once

#include <cstdint>
#include <span>

#include "base/bytes.h"
#include "crypto/hash.h"

namespace bootseal::tpm2 {

// TPM_ALG_ID values (TPM 2.0 Part 2, "TPM_ALG_ID").
inline constexpr uint16_t kAlgSha1 = 0x0004;
inline constexpr uint16_t kAlgSha256 = 0x000B;
inline constexpr uint16_t kAlgSha384 = 0x000C;
inline constexpr uint16_t kAlgSha512 = 0x000D;
// TPM_CC_PolicyPCR (Part 2, "TPM_CC").
inline constexpr uint32_t kCcPolicyPcr = 0x0000017F;
// PCR selection bitmaps are 3 bytes for the 24 PCRs of a PC client TPM.
inline constexpr uint8_t kPcrSelectSize = 3;
inline constexpr unsigned kNumPcrs = 24;

uint16_t alg_id(crypto::HashAlg alg);

// A PCR bank value: starts as all zeros (digest size of the bank).
Bytes zero_pcr(crypto::HashAlg bank);

// PCR_new = H_bank(PCR_old || digest). `digest` must be a bank-sized digest.
void pcr_extend(crypto::HashAlg bank, Bytes& pcr, ByteSpan digest);
// Extends with the bank digest of `data` (what a measurement of data does).
void pcr_extend_data(crypto::HashAlg bank, Bytes& pcr, ByteSpan data);

// TPMS_PCR_SELECTION for one bank: hash alg, sizeofSelect, pcrSelect bitmap.
struct PcrSelection {
  crypto::HashAlg bank = crypto::HashAlg::kSha256;
  uint32_t mask = 0;  // bit n = PCR n
};

// TPM2_PolicyPCR on a policy session using `policy_alg`:
//   policyDigest_new = H(policyDigest_old || TPM_CC_PolicyPCR || TPML_PCR_SELECTION || pcrDigest)
// with pcrDigest = H(concatenation of the selected PCR values, in PCR order)
// and TPML_PCR_SELECTION = count (u32 BE, 1) || hash (u16 BE) || sizeofSelect (u8) || pcrSelect.
Bytes policy_pcr(crypto::HashAlg policy_alg, ByteSpan policy_in, const PcrSelection& sel,
                 std::span<const Bytes> pcr_values);

}  // namespace bootseal::tpm2
