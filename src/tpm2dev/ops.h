// The disk-unlock operations behind `bootseal tpm enroll|unlock|status|wipe`
// (docs/tpm.md). Every check runs before the first write to the LUKS2 header, so a
// refused operation leaves the header byte-identical.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "crypto/hash.h"
#include "tpm2/pcrsig.h"
#include "tpm2/token.h"

namespace bootseal::tpm2dev {

struct EnrollOptions {
  std::string device;
  std::string tpm2_device = "auto";
  std::vector<unsigned> pcrs = {7};          // literal PCRs
  std::map<unsigned, Bytes> pcr_values;      // expected values given (else read from the TPM)
  std::optional<Bytes> srk_public;           // offline: seal for this SRK (TPM2B_PUBLIC), no TPM used
  crypto::HashAlg bank = crypto::HashAlg::kSha256;
  std::optional<std::string> public_key_pem;  // signed PCR policy key (PEM text)
  std::vector<unsigned> public_key_pcrs = {11};
  std::optional<tpm2::PcrSigDocument> signature;  // for the test unseal of a signed policy
  std::string signature_what;
  std::optional<std::string> pin;
  std::string unlock_key;                    // an existing passphrase or recovery key
  std::optional<std::string> recovery_key_file;
  bool recovery_key = false;                 // create one even if a way back exists
};

struct EnrollResult {
  int keyslot = -1;
  int token = -1;
  bool tested = false;  // the new seal was unsealed once before it was written
  std::optional<int> recovery_keyslot;
  std::optional<std::string> recovery_key;  // set when printed (not written to a file)
  std::string policy_hash;
};
Result<EnrollResult> enroll(const EnrollOptions& o);

struct UnlockOptions {
  std::string device;
  std::string tpm2_device = "auto";
  std::optional<tpm2::PcrSigDocument> signature;
  std::string signature_what;
  std::optional<std::string> pin;
  int token = -1;  // -1: every systemd-tpm2 token in order
};
struct UnlockResult {
  int token = -1;
  int keyslot = -1;
};
// Check-only unlock: unseals a token's secret and verifies it opens its keyslot.
Result<UnlockResult> unlock_test(const UnlockOptions& o);

// Where systemd looks for tpm2-pcr-signature.json when none is given
// (tpm2_load_pcr_signature(): /etc/systemd, /run/systemd, /usr/local/lib/systemd,
// /usr/lib/systemd, and /.extra only in the initrd). nullopt if none exists.
Result<std::optional<std::pair<std::string, tpm2::PcrSigDocument>>> find_pcr_signature();

struct TokenStatus {
  int id = -1;
  std::string type;
  std::vector<int> keyslots;
  // systemd-tpm2 only:
  std::vector<unsigned> pcrs, pubkey_pcrs;
  std::string bank;
  std::string pkfp;
  bool pin = false;
  bool srk = false;
  std::string policy_hash;
  std::string would_unseal;  // "yes", "no: <why>", or "" when not checked
};
struct DiskStatus {
  std::string uuid;
  std::vector<int> keyslots;
  std::vector<int> passphrase_keyslots;  // active keyslots no token claims
  std::vector<TokenStatus> tokens;
  std::optional<uint32_t> da_counter;
  std::optional<bool> da_lockout;
};
// With `tpm2_device` set, also checks each TPM token's policy against the current PCRs
// (a policy session up to the digest check: no unseal, no DA strike).
Result<DiskStatus> status(const std::string& device, std::optional<std::string> tpm2_device,
                          const std::optional<tpm2::PcrSigDocument>& signature);

struct WipeOptions {
  std::string device;
  std::optional<int> slot;
  bool all_tpm = false;
};
// Removes keyslots (and the tokens naming them). Refuses to leave the disk without a
// passphrase or recovery keyslot.
Result<std::vector<int>> wipe(const WipeOptions& o);

}  // namespace bootseal::tpm2dev
