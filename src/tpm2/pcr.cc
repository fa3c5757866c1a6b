#include "tpm2/pcr.h"

#include "tpm2/marshal.h"

namespace bootseal::tpm2 {

using crypto::HashAlg;

uint16_t alg_id(HashAlg alg) {
  switch (alg) {
    case HashAlg::kSha1: return kAlgSha1;
    case HashAlg::kSha256: return kAlgSha256;
    case HashAlg::kSha384: return kAlgSha384;
    case HashAlg::kSha512: return kAlgSha512;
  }
  return 0;
}

Bytes zero_pcr(HashAlg bank) { return Bytes(crypto::digest_size(bank), 0); }

void pcr_extend(HashAlg bank, Bytes& pcr, ByteSpan digest) {
  crypto::Hasher h(bank);
  h.update(pcr);
  h.update(digest);
  pcr = h.finish();
}

void pcr_extend_data(HashAlg bank, Bytes& pcr, ByteSpan data) { pcr_extend(bank, pcr, crypto::digest(bank, data)); }

Bytes policy_pcr(HashAlg policy_alg, ByteSpan policy_in, const PcrSelection& sel, std::span<const Bytes> pcr_values) {
  crypto::Hasher values(policy_alg);
  for (auto& v : pcr_values) values.update(v);
  Bytes pcr_digest = values.finish();

  Bytes msg(policy_in.begin(), policy_in.end());
  put_be32(msg, kCcPolicyPcr);
  put_be32(msg, 1);  // TPML_PCR_SELECTION.count
  put_be16(msg, alg_id(sel.bank));
  msg.push_back(kPcrSelectSize);
  for (unsigned i = 0; i < kPcrSelectSize; i++) msg.push_back(static_cast<uint8_t>(sel.mask >> (8 * i)));
  msg.insert(msg.end(), pcr_digest.begin(), pcr_digest.end());
  return crypto::digest(policy_alg, msg);
}

}  // namespace bootseal::tpm2
