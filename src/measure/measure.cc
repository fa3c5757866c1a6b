#include "measure/measure.h"

#include <algorithm>

#include "crypto/pem.h"
#include "pe/pe.h"
#include "tpm2/pcr.h"
#include "uki/uki.h"

namespace bootseal::measure {

using crypto::HashAlg;

std::vector<std::string> default_phase_paths() {
  return {"enter-initrd", "enter-initrd:leave-initrd", "enter-initrd:leave-initrd:sysinit",
          "enter-initrd:leave-initrd:sysinit:ready"};
}

std::vector<std::string> all_phase_paths() {
  std::vector<std::string> out;
  std::string path;
  for (auto p : kKnownPhases) {
    if (!path.empty()) path += ":";
    path += p;
    out.push_back(path);
  }
  return out;
}

std::vector<HashAlg> default_banks() { return {HashAlg::kSha1, HashAlg::kSha256, HashAlg::kSha384, HashAlg::kSha512}; }

namespace {
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> words;
  size_t pos = 0;
  while (true) {
    size_t c = path.find(':', pos);
    words.push_back(path.substr(pos, c == std::string_view::npos ? std::string_view::npos : c - pos));
    if (c == std::string_view::npos) break;
    pos = c + 1;
  }
  return words;
}
}  // namespace

Status validate_phase_path(std::string_view path) {
  for (auto w : split_path(path))
    if (!w.empty() && std::find(kKnownPhases.begin(), kKnownPhases.end(), w) == kKnownPhases.end())
      return input_error("unknown boot phase '{}' in '{}' (known: enter-initrd leave-initrd sysinit ready shutdown final)",
                         w, path);
  return {};
}

std::vector<std::string> normalize_phase_paths(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (auto& p : paths) {
    std::string n;
    for (auto w : split_path(p)) {
      if (w.empty()) continue;
      if (!n.empty()) n += ":";
      n += w;
    }
    out.push_back(std::move(n));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<SectionMap> sections_from_uki(ByteSpan file, std::vector<Bytes>& storage) {
  pe::Image img = BS_TRY(pe::parse(file));
  SectionMap m;
  for (auto name : uki::kMeasuredSections) {
    const pe::Section* s = img.find(name);
    if (!s) continue;
    ByteSpan raw = pe::section_data(file, *s);
    if (raw.size() < s->mapped_size()) {
      storage.push_back(pe::section_contents(file, *s));
      raw = storage.back();
    }
    m.emplace(std::string(name), raw);
  }
  return m;
}

Bytes predict(HashAlg bank, const SectionMap& sections, std::string_view phase_path) {
  Bytes pcr = tpm2::zero_pcr(bank);
  for (auto name : uki::kMeasuredSections) {
    auto it = sections.find(name);
    if (it == sections.end()) continue;
    std::string with_nul(name);
    with_nul.push_back('\0');
    tpm2::pcr_extend_data(bank, pcr, as_bytes(with_nul));
    tpm2::pcr_extend_data(bank, pcr, it->second);
  }
  for (auto w : split_path(phase_path))
    if (!w.empty()) tpm2::pcr_extend_data(bank, pcr, as_bytes(w));
  return pcr;
}

Result<std::vector<Prediction>> predict_all(const SectionMap& sections, const std::vector<HashAlg>& banks,
                                            const std::vector<std::string>& phase_paths) {
  std::vector<Prediction> out;
  for (auto& p : normalize_phase_paths(phase_paths)) {
    BS_TRY(validate_phase_path(p));
    for (auto b : banks) out.push_back({b, p, predict(b, sections, p)});
  }
  return out;
}

Result<tpm2::PcrSigDocument> sign(const SectionMap& sections, const std::vector<HashAlg>& banks,
                                  const std::vector<std::string>& phase_paths, const crypto::Signer& key,
                                  ByteSpan public_key_der) {
  Bytes spki = key.public_key_der();
  if (!public_key_der.empty() && !std::equal(spki.begin(), spki.end(), public_key_der.begin(), public_key_der.end()))
    return input_error("the public key does not belong to the private key ({})", key.description());
  if (key.scheme() != crypto::SignatureScheme::kRsaPkcs1v15)
    return unsupported_error("PCR policy signing needs an RSA key (systemd-stub and systemd-measure use RSA)");
  Bytes pkfp = crypto::digest(HashAlg::kSha256, BS_TRY(crypto::raw_public_key_der(spki)));
  tpm2::PcrSigDocument doc;
  auto paths = normalize_phase_paths(phase_paths);
  for (auto b : banks) {
    for (auto& p : paths) {
      BS_TRY(validate_phase_path(p));
      Bytes value = predict(b, sections, p);
      Bytes zero(crypto::digest_size(HashAlg::kSha256), 0);
      Bytes values[] = {value};
      Bytes pol = tpm2::policy_pcr(HashAlg::kSha256, zero, {b, 1u << kPcrKernelBoot}, values);
      Bytes sig = BS_TRY_CTX(key.sign(b, pol), "signing the PCR policy");
      doc.add(b, {{kPcrKernelBoot}, pkfp, pol, std::move(sig)});
    }
  }
  return doc;
}

std::vector<PolicyMatch> match_pcrsig(const SectionMap& sections, const tpm2::PcrSigDocument& doc) {
  std::optional<Bytes> pkfp, spki_der;
  if (auto it = sections.find(".pcrpkey"); it != sections.end()) {
    auto spki = crypto::public_key_der_from_pem(it->second, ".pcrpkey");
    if (spki.ok()) {
      spki_der = *spki;
      auto raw = crypto::raw_public_key_der(*spki);
      if (raw.ok()) pkfp = crypto::digest(HashAlg::kSha256, *raw);
    }
  }
  std::vector<PolicyMatch> out;
  for (auto& b : doc.banks) {
    std::vector<std::pair<std::string, Bytes>> candidates;
    for (auto& p : all_phase_paths()) {
      Bytes values[] = {predict(b.bank, sections, p)};
      candidates.emplace_back(p, tpm2::policy_pcr(HashAlg::kSha256, Bytes(32, 0), {b.bank, 1u << kPcrKernelBoot}, values));
    }
    for (auto& e : b.entries) {
      PolicyMatch m{b.bank, std::nullopt, std::nullopt, std::nullopt};
      for (auto& [p, pol] : candidates)
        if (pol == e.pol) m.phase_path = p;
      if (pkfp) m.pkfp_matches_pcrpkey = (*pkfp == e.pkfp);
      if (spki_der) {
        auto v = crypto::verify_signature(*spki_der, b.bank, e.pol, e.sig);
        m.signature_valid = v.ok() && *v;
      }
      out.push_back(std::move(m));
    }
  }
  return out;
}

}  // namespace bootseal::measure
