#include "tpm2/pcrsig.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "crypto/pem.h"

namespace bootseal::tpm2 {

void PcrSigDocument::add(crypto::HashAlg bank, PcrSignature sig) {
  auto it = std::find_if(banks.begin(), banks.end(), [&](const PcrSigBank& b) { return b.bank == bank; });
  if (it == banks.end()) {
    banks.push_back({bank, {}});
    std::stable_sort(banks.begin(), banks.end(),
                     [](const PcrSigBank& a, const PcrSigBank& b) { return a.bank < b.bank; });
    it = std::find_if(banks.begin(), banks.end(), [&](const PcrSigBank& b) { return b.bank == bank; });
  }
  if (std::find(it->entries.begin(), it->entries.end(), sig) == it->entries.end()) it->entries.push_back(std::move(sig));
}

std::string to_json(const PcrSigDocument& doc, JsonStyle style) {
  const char* comma = style == JsonStyle::kPython ? ", " : ",";
  const char* colon = style == JsonStyle::kPython ? ": " : ":";
  std::string out = "{";
  for (size_t b = 0; b < doc.banks.size(); b++) {
    if (b) out += comma;
    out += fmt::format("\"{}\"{}[", crypto::hash_name(doc.banks[b].bank), colon);
    const auto& entries = doc.banks[b].entries;
    for (size_t e = 0; e < entries.size(); e++) {
      if (e) out += comma;
      std::string pcrs;
      for (size_t i = 0; i < entries[e].pcrs.size(); i++) pcrs += fmt::format("{}{}", i ? comma : "", entries[e].pcrs[i]);
      out += fmt::format("{{\"pcrs\"{0}[{1}]{2}\"pkfp\"{0}\"{3}\"{2}\"pol\"{0}\"{4}\"{2}\"sig\"{0}\"{5}\"}}", colon, pcrs,
                         comma, to_hex(entries[e].pkfp), to_hex(entries[e].pol), crypto::base64_encode(entries[e].sig));
    }
    out += "]";
  }
  out += "}";
  return out;
}

Result<PcrSigDocument> parse_pcrsig(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return input_error("PCR signature: not a JSON object");
  PcrSigDocument doc;
  for (auto& [name, arr] : j.items()) {
    auto bank = crypto::parse_hash_name(name);
    if (!bank.ok()) return input_error("PCR signature: unknown bank '{}'", name);
    if (!arr.is_array()) return input_error("PCR signature: bank {} is not an array", name);
    for (auto& e : arr) {
      if (!e.is_object()) return input_error("PCR signature: bank {}: entry is not an object", name);
      PcrSignature s;
      auto pcrs = e.find("pcrs");
      if (pcrs == e.end() || !pcrs->is_array()) return input_error("PCR signature: bank {}: no pcrs array", name);
      for (auto& p : *pcrs) {
        if (!p.is_number_unsigned() || p.get<unsigned>() >= 24) return input_error("PCR signature: bad PCR index");
        s.pcrs.push_back(p.get<unsigned>());
      }
      for (const char* k : {"pkfp", "pol", "sig"})
        if (!e.contains(k) || !e[k].is_string()) return input_error("PCR signature: bank {}: missing {}", name, k);
      s.pkfp = BS_TRY_CTX(from_hex(e["pkfp"].get<std::string>()), "PCR signature: pkfp");
      s.pol = BS_TRY_CTX(from_hex(e["pol"].get<std::string>()), "PCR signature: pol");
      s.sig = BS_TRY_CTX(crypto::base64_decode(e["sig"].get<std::string>()), "PCR signature: sig");
      doc.add(*bank, std::move(s));
    }
  }
  return doc;
}

}  // namespace bootseal::tpm2

namespace bootseal::tpm2 {
Result<PcrSignature> find_signature(const PcrSigDocument& doc, crypto::HashAlg bank, uint32_t pcr_mask, ByteSpan pkfp,
                                    ByteSpan pol) {
  auto b = std::find_if(doc.banks.begin(), doc.banks.end(), [&](const PcrSigBank& x) { return x.bank == bank; });
  if (b == doc.banks.end()) return check_error("it has no signature for the {} bank", crypto::hash_name(bank));
  std::vector<const PcrSignature*> cand;
  for (auto& e : b->entries) {
    uint32_t m = 0;
    for (unsigned p : e.pcrs)
      if (p < 32) m |= 1u << p;
    if (m == pcr_mask) cand.push_back(&e);
  }
  if (cand.empty()) return check_error("it has no signature over the PCR set of the token");
  std::vector<const PcrSignature*> by_key;
  for (auto* e : cand)
    if (std::equal(e->pkfp.begin(), e->pkfp.end(), pkfp.begin(), pkfp.end())) by_key.push_back(e);
  if (by_key.empty())
    return check_error("no signature in it was made with the token's PCR key (pkfp {}; it has {})", to_hex(pkfp),
                       to_hex(cand[0]->pkfp));
  for (auto* e : by_key)
    if (std::equal(e->pol.begin(), e->pol.end(), pol.begin(), pol.end())) return *e;
  return check_error(
      "no signature in it matches the current PCR values (policy {}): the booted UKI or boot phase is not one "
      "the PCR key signed",
      to_hex(pol));
}
}  // namespace bootseal::tpm2
