// A TPM 2.0 reached through the TSS2 ESYS API on a TCTI, doing what systemd 254's
// tpm2-util.c does for a sealed LUKS2 key:
//   - the SRK: ECC P-256 storage key (TCG provisioning guidance template, noDA) persisted
//     at 0x81000001 under the owner hierarchy, created if absent (tpm2_get_or_create_srk);
//   - seal: TPM2_Create of a KEYEDHASH object (fixedTPM|fixedParent, authPolicy = the
//     policy computed in software) under the SRK, with a salted parameter-encryption session;
//   - unseal: PolicyPCR(signed PCRs) -> signature lookup -> VerifySignature + PolicyAuthorize
//     -> PolicyPCR(literal PCRs) -> PolicyAuthValue -> compare with tpm2-policy-hash -> Unseal.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "crypto/hash.h"
#include "tpm2/pcrsig.h"
#include "tpm2/token.h"

namespace bootseal::tpm2dev {

inline constexpr uint32_t kSrkHandle = 0x81000001;

// "auto" -> device:/dev/tpmrm0; "device:PATH", "swtpm:host=H,port=P", "mssim:host=H,port=P"
// are handed to libtss2-tctildr as they are. Anything else is an input error.
Result<std::string> tcti_config(std::string_view spec);

struct DaState {
  uint32_t lockout_counter = 0;
  uint32_t max_tries = 0;
  bool in_lockout = false;
};

struct SealResult {
  Bytes blob;  // TPM2B_PRIVATE || TPM2B_PUBLIC (systemd's tpm2-blob)
  Bytes srk;   // Esys_TR_Serialize of the SRK (tpm2_srk)
};

struct UnsealInput {
  const tpm2::Tpm2Token* token = nullptr;
  std::optional<std::string> pin;
  const tpm2::PcrSigDocument* signature = nullptr;  // needed if the token has tpm2_pubkey_pcrs
  std::string signature_what;                       // its file name, for messages
  bool policy_only = false;  // stop after the policy digest check (no Unseal, no DA strike)
};

class Tpm {
 public:
  static Result<Tpm> open(std::string_view spec);
  ~Tpm();
  Tpm(Tpm&&) noexcept;
  Tpm& operator=(Tpm&&) noexcept;

  const std::string& tcti() const { return tcti_; }

  // Current values of the PCRs in `mask` of `bank`, in PCR order.
  Result<std::vector<Bytes>> read_pcrs(crypto::HashAlg bank, uint32_t mask);
  Result<DaState> da_state();
  // TPM2_PCR_Extend of `pcr` with one digest per bank (as systemd's tpm2_extend_bytes:
  // banks the TPM has not allocated are left out by the caller).
  Status extend(unsigned pcr, const std::vector<std::pair<crypto::HashAlg, Bytes>>& digests);
  // The SRK at 0x81000001 as Esys_TR_Serialize writes it; created and persisted if absent
  // and `create`.
  Result<Bytes> srk_serialized(bool create);
  // The SRK's TPM2B_PUBLIC (marshalled), for offline enrollment; created if absent.
  Result<Bytes> srk_public();
  // Seals `secret` under the SRK with authPolicy `policy` (and userAuth `auth` if a PIN).
  Result<SealResult> seal(ByteSpan policy, ByteSpan secret, std::optional<Bytes> auth);
  // Unseals a token's secret; each refusal has its own message.
  Result<Bytes> unseal(const UnsealInput& in);  // empty result if policy_only

  struct Impl;

 private:
  explicit Tpm(std::unique_ptr<Impl> impl, std::string tcti);
  std::unique_ptr<Impl> impl_;
  std::string tcti_;
};

}  // namespace bootseal::tpm2dev
