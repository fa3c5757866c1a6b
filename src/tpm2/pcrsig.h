// The signed PCR policy document systemd-stub finds in a UKI's .pcrsig section
// and systemd-measure sign prints (systemd's "TPM2 PCR signature JSON"):
//
//   {"sha256":[{"pcrs":[11],"pkfp":"<hex sha256 of the public key's SPKI DER>",
//               "pol":"<hex TPM2_PolicyPCR digest>","sig":"<base64 signature>"}, ...], ...}
//
// One array per PCR bank, one entry per boot-phase path.
#pragma once

#include <string>
#include <vector>

#include "base/bytes.h"
#include "crypto/hash.h"

namespace bootseal::tpm2 {

struct PcrSignature {
  std::vector<unsigned> pcrs;
  Bytes pkfp;
  Bytes pol;
  Bytes sig;
  bool operator==(const PcrSignature&) const = default;
};

struct PcrSigBank {
  crypto::HashAlg bank;
  std::vector<PcrSignature> entries;
};

struct PcrSigDocument {
  std::vector<PcrSigBank> banks;  // in bank order sha1, sha256, sha384, sha512

  // Adds an entry, skipping exact duplicates (as ukify's combine_signatures does).
  void add(crypto::HashAlg bank, PcrSignature sig);
};

enum class JsonStyle {
  kShort,   // systemd-measure --json=short: {"a":[...]} with no spaces
  kPython,  // ukify's json.dumps(): ", " and ": " separators (what ukify puts in .pcrsig)
};

std::string to_json(const PcrSigDocument& doc, JsonStyle style);
Result<PcrSigDocument> parse_pcrsig(std::string_view json);

}  // namespace bootseal::tpm2

namespace bootseal::tpm2 {
// systemd's find_signature(): the entry for `bank` whose PCR mask is `pcr_mask`, made with
// the key whose fingerprint is `pkfp`, for the policy digest `pol` the TPM computed from
// the current PCRs. Each miss has its own message (checked in that order).
Result<PcrSignature> find_signature(const PcrSigDocument& doc, crypto::HashAlg bank, uint32_t pcr_mask, ByteSpan pkfp,
                                    ByteSpan pol);
}  // namespace bootseal::tpm2
