// PCR 11 prediction for UKIs, as systemd-stub measures them and
// systemd-measure (254) calculates and signs them.
//
// systemd-stub, for each UKI section present, in the fixed order of
// uki::kMeasuredSections (.linux .osrel .cmdline .initrd .ucode .splash .dtb
// .uname .sbat .pcrpkey .profile .dtbauto .hwids .efifw; .pcrsig is never
// measured), extends PCR 11 with
//   H(section name including its NUL)   then   H(section contents)
// (contents = VirtualSize bytes).
// Multi-profile UKIs (UKI spec, "Multi-Profile UKIs"; systemd-stub 257
// find_sections()): the sections before the first .profile are the base; the
// sections from the k-th .profile up to the next .profile (the .profile
// itself included) are profile k. The stub boots profile k with the base
// sections, each replaced by the profile's section of the same name; so the
// measured set for profile k is base + profile k (profile 0 when nothing
// selects another). Within one range the first section of a name counts. Then systemd-pcrphase extends PCR 11 with
// H(phase word) (no NUL) at each boot phase it reaches. A "phase path" is the
// colon-separated list of words extended so far, e.g.
// "enter-initrd:leave-initrd:sysinit"; empty words extend nothing.
// systemd-measure's default paths are the four up to "...:ready".
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "crypto/hash.h"
#include "crypto/key.h"
#include "tpm2/pcrsig.h"

namespace bootseal::measure {

inline constexpr unsigned kPcrKernelBoot = 11;  // TPM2_PCR_KERNEL_BOOT

// systemd's boot phases (systemd-pcrphase.service(8)), in boot order.
inline constexpr std::array<std::string_view, 6> kKnownPhases = {"enter-initrd", "leave-initrd", "sysinit",
                                                                 "ready",        "shutdown",     "final"};

// systemd-measure's default phase paths.
std::vector<std::string> default_phase_paths();
// All six cumulative paths enter-initrd ... :final.
std::vector<std::string> all_phase_paths();
// Checks that every non-empty word of `path` is a known phase.
Status validate_phase_path(std::string_view path);
// systemd-measure's handling of --phase lists: empty words are dropped from
// each path ("a::b" -> "a:b"), then the list is sorted and duplicates removed.
std::vector<std::string> normalize_phase_paths(const std::vector<std::string>& paths);
// The banks systemd-measure uses by default: sha1 sha256 sha384 sha512.
std::vector<crypto::HashAlg> default_banks();

// Section name -> contents, for the measured sections present.
using SectionMap = std::map<std::string, ByteSpan, std::less<>>;

// The systemd-stub major version a PE says it is, from its .sdmagic
// ("#### LoaderInfo: systemd-stub 254.26-1~bpo12+1 ####"); nullopt without one.
std::optional<unsigned> stub_major_version(ByteSpan pe_file);
// Whether systemd-stub of that major version measures `section` (nullopt: the
// newest list, uki::kMeasuredSections): 254/255 the first nine, 256 adds
// .ucode, 257 .profile .dtbauto .hwids, 258 .efifw.
bool stub_measures(std::optional<unsigned> stub_major, std::string_view section);

// Reads the measured sections from a UKI (only those its stub, by .sdmagic,
// measures; a stub before 257 has no profiles: the first section of each name) (VirtualSize bytes each; bytes past
// the raw data are zero). `storage` keeps any zero-extended copies alive.
// `profile`: the profile's sections over the base (see above); nullopt:
// profile 0 if the UKI has profiles, else the base. A profile the UKI does
// not have is an error naming how many it has.
Result<SectionMap> sections_from_uki(ByteSpan file, std::vector<Bytes>& storage,
                                     std::optional<unsigned> profile = std::nullopt);

// The .profile sections of a UKI, in order (0 if it is a single-profile UKI):
// each profile's .profile text (e.g. "ID=storagetm\nTITLE=...") and the names
// of its sections.
struct ProfileInfo {
  unsigned index = 0;
  std::string text;
  std::vector<std::string> sections;
};
Result<std::vector<ProfileInfo>> profiles_of_uki(ByteSpan file);

// PCR 11 after the stub measured `sections` and the phases of `phase_path`.
Bytes predict(crypto::HashAlg bank, const SectionMap& sections, std::string_view phase_path);

struct Prediction {
  crypto::HashAlg bank;
  std::string phase;
  Bytes value;
};
// For each phase path, for each bank (systemd-measure's text output order).
Result<std::vector<Prediction>> predict_all(const SectionMap& sections, const std::vector<crypto::HashAlg>& banks,
                                            const std::vector<std::string>& phase_paths);

// The signed policy systemd-measure sign makes: for each bank and phase path,
// pol = TPM2_PolicyPCR(sha256 session, PCR 11 of that bank = prediction),
// sig = RSA PKCS#1 v1.5 signature of pol hashed with the *bank's* algorithm
// (what systemd-stub/cryptsetup hand to TPM2_VerifySignature),
// pkfp = SHA-256 of the PKCS#1 RSAPublicKey DER (not of the SPKI).
// `public_key_der` (if not empty) must match the signer's key.
Result<tpm2::PcrSigDocument> sign(const SectionMap& sections, const std::vector<crypto::HashAlg>& banks,
                                  const std::vector<std::string>& phase_paths, const crypto::Signer& key,
                                  ByteSpan public_key_der = {});

// Checks a UKI's .pcrsig against its own sections: for each entry, which of
// the six cumulative phase paths its policy digest is for (none: signed for
// other sections or another path), whether its key fingerprint is the one of
// the UKI's .pcrpkey (a PEM public key), and whether the signature verifies
// with that key.
struct PolicyMatch {
  crypto::HashAlg bank;
  std::optional<std::string> phase_path;
  std::optional<bool> pkfp_matches_pcrpkey;  // nullopt: no usable .pcrpkey
  std::optional<bool> signature_valid;       // sig over pol, checked with .pcrpkey
};
std::vector<PolicyMatch> match_pcrsig(const SectionMap& sections, const tpm2::PcrSigDocument& doc);

}  // namespace bootseal::measure
