#include "measure/measure.h"

#include <algorithm>
#include <optional>

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

namespace {
// [begin, end) ranges of section-table indexes: the base, then each profile.
struct Ranges {
  size_t base_end = 0;
  std::vector<std::pair<size_t, size_t>> profiles;
};
Ranges profile_ranges(const pe::Image& img) {
  Ranges r;
  const size_t n = img.sections.size();
  std::vector<size_t> starts;
  for (size_t i = 0; i < n; i++)
    if (img.sections[i].name() == ".profile") starts.push_back(i);
  r.base_end = starts.empty() ? n : starts[0];
  for (size_t k = 0; k < starts.size(); k++) r.profiles.push_back({starts[k], k + 1 < starts.size() ? starts[k + 1] : n});
  return r;
}
}  // namespace

std::optional<unsigned> stub_major_version(ByteSpan file) {
  auto img = pe::parse(file);
  if (!img) return std::nullopt;
  const pe::Section* s = img->find(".sdmagic");
  if (!s) return std::nullopt;
  std::string_view text = as_string(pe::section_data(file, *s));
  static constexpr std::string_view kKey = "systemd-stub ";
  size_t at = text.find(kKey);
  if (at == std::string_view::npos) return std::nullopt;
  unsigned v = 0;
  size_t i = at + kKey.size(), digits = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9' && digits < 6; i++, digits++) v = v * 10 + (text[i] - '0');
  if (digits == 0) return std::nullopt;
  return v;
}

bool stub_measures(std::optional<unsigned> major, std::string_view section) {
  if (std::find(uki::kMeasuredSections.begin(), uki::kMeasuredSections.end(), section) == uki::kMeasuredSections.end())
    return false;
  if (!major) return true;
  if (std::find(uki::kMeasuredSections254.begin(), uki::kMeasuredSections254.end(), section) != uki::kMeasuredSections254.end())
    return true;
  if (section == ".ucode") return *major >= 256;
  if (section == ".efifw") return *major >= 258;
  return *major >= 257;  // .profile .dtbauto .hwids
}

Result<SectionMap> sections_from_uki(ByteSpan file, std::vector<Bytes>& storage, std::optional<unsigned> profile) {
  pe::Image img = BS_TRY(pe::parse(file));
  const std::optional<unsigned> major = stub_major_version(file);
  Ranges r = profile_ranges(img);
  if (major && *major < 257) r = {img.sections.size(), {}};  // no profiles before 257
  if (profile && *profile >= r.profiles.size() && !(*profile == 0 && r.profiles.empty()))
    return input_error("no profile {}: the UKI has {} profile{}", *profile, r.profiles.size(), r.profiles.size() == 1 ? "" : "s");
  if (!profile && !r.profiles.empty()) profile = 0;
  auto take = [&](SectionMap& m, size_t begin, size_t end) {
    SectionMap found;
    for (size_t i = begin; i < end; i++) {
      const pe::Section& s = img.sections[i];
      std::string name = s.name();
      if (!stub_measures(major, name) || found.count(name)) continue;
      ByteSpan raw = pe::section_data(file, s);
      if (raw.size() < s.mapped_size()) {
        storage.push_back(pe::section_contents(file, s));
        raw = storage.back();
      }
      found.emplace(name, raw);
    }
    for (auto& [k, v] : found) m.insert_or_assign(k, v);
  };
  SectionMap m;
  take(m, 0, r.base_end);
  if (profile && !r.profiles.empty()) take(m, r.profiles[*profile].first, r.profiles[*profile].second);
  return m;
}

Result<std::vector<ProfileInfo>> profiles_of_uki(ByteSpan file) {
  pe::Image img = BS_TRY(pe::parse(file));
  Ranges r = profile_ranges(img);
  std::vector<ProfileInfo> out;
  for (size_t k = 0; k < r.profiles.size(); k++) {
    ProfileInfo p;
    p.index = static_cast<unsigned>(k);
    Bytes text = pe::section_contents(file, img.sections[r.profiles[k].first]);
    p.text.assign(text.begin(), text.end());
    while (!p.text.empty() && p.text.back() == '\0') p.text.pop_back();
    for (size_t i = r.profiles[k].first; i < r.profiles[k].second; i++) p.sections.push_back(img.sections[i].name());
    out.push_back(std::move(p));
  }
  return out;
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
