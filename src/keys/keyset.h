// Secure Boot key sets: PK, KEK and db key pairs with self-signed
// certificates, their EFI signature lists and the signed authenticated
// variable updates systemd-boot enrolls from loader/keys/<name>/:
//   PK.auth  = PK.esl signed by PK (self-signed)
//   KEK.auth = KEK.esl signed by PK
//   db.auth  = db.esl signed by KEK
// and where signing keys come from (key sources).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "crypto/key.h"
#include "crypto/x509.h"
#include "efivar/auth.h"
#include "efivar/guid.h"

namespace bootseal::keys {

// The three Secure Boot variables a key set fills, in enrollment order.
inline constexpr std::string_view kVariables[] = {"PK", "KEK", "db"};
inline constexpr int64_t kDefaultValidityDays = 3650;
inline constexpr int64_t kMaxValidityDays = 36500;  // keeps notAfter well inside X.509's year 9999

struct GenerateOptions {
  std::string name = "bootseal";   // common-name prefix: "CN=<name> PK"
  std::string subject_suffix;      // extra RDNs appended: "O=Example,C=DE"
  crypto::KeyType key_type = crypto::KeyType::kRsa2048;
  int64_t time = 0;                // Unix seconds: certificate notBefore and .auth TimeStamp
  int64_t validity_days = kDefaultValidityDays;
  std::optional<efivar::Guid> owner;  // SignatureOwner; random if unset
  // Further certificates enrolled alongside ours (e.g. a vendor's UEFI CA in db
  // so option ROMs and shim keep working on real hardware), one list each,
  // owned by `owner`.
  std::vector<crypto::Certificate> extra_kek, extra_db;
  // Certificates enrolled with their own SignatureOwner (Microsoft's UEFI CAs carry
  // Microsoft's owner GUID, as in the firmware's and sbctl's lists).
  std::vector<std::pair<efivar::Guid, crypto::Certificate>> owned_kek, owned_db;
  // Keys that already exist (e.g. PK and KEK in a hardware token) used instead
  // of generated ones: the key signs the .auth files as a generated one would,
  // the certificate is enrolled as given.
  struct ExistingKey {
    std::string var;  // "PK", "KEK" or "db"
    crypto::PrivateKey key;
    crypto::Certificate cert;
    std::string key_file;  // what <var>.key holds: the "pkcs11:" URI line; empty: no <var>.key written
  };
  std::vector<ExistingKey> existing;
};

struct KeyPair {
  std::string var;  // "PK", "KEK", "db"
  crypto::PrivateKey key;
  crypto::Certificate cert;
  // For an existing key: what <var>.key holds (empty: no file); unset: the PEM of `key`.
  std::optional<std::string> key_file;
};

struct KeySet {
  efivar::Guid owner;
  std::vector<crypto::Certificate> extra_kek, extra_db;
  std::vector<std::pair<efivar::Guid, crypto::Certificate>> owned_kek, owned_db;
  efivar::EfiTime timestamp;
  std::vector<KeyPair> pairs;  // PK, KEK, db
  const KeyPair& get(std::string_view var) const;
};

Result<KeySet> generate_key_set(const GenerateOptions& o);

// Microsoft's 2011 UEFI certificates (what `keys generate --microsoft` adds, as
// sbctl's enroll-keys --microsoft): KEK "Microsoft Corporation KEK CA 2011"; db
// "Microsoft Windows Production PCA 2011" (Windows boot manager) and "Microsoft
// Corporation UEFI CA 2011" (third-party: option ROMs of GPUs, NICs, storage
// controllers, and shim). Owner GUID 77fa9abd-0359-4d32-bd60-28f4e78f784b.
struct MicrosoftCert {
  std::string_view var;          // "KEK" or "db"
  std::string_view file;         // file name in the certificate directory
  std::string_view sha256;       // fingerprint of the DER certificate (pinned)
};
inline constexpr std::string_view kMicrosoftOwner = "77fa9abd-0359-4d32-bd60-28f4e78f784b";
inline constexpr MicrosoftCert kMicrosoftCerts[] = {
    {"KEK", "MicrosoftCorporationKEKCA2011.pem", "a1117f516a32cefcba3f2d1ace10a87972fd6bbe8fe0d0b996e09e65d802a503"},
    {"db", "MicrosoftWindowsProductionPCA2011.pem", "e8e95f0733a55e8bad7be0a1413ee23c51fcea64b3c8fa6a786935fddcc71961"},
    {"db", "MicrosoftCorporationUEFICA2011.pem", "48e99b991f57fc52f76149599bff0a58c47154229b9f8d603ac40d3500248507"},
};
// Loads them from `dir` (extracted from OVMF_VARS_4M.ms.fd by
// tools/extract-ms-certs) into o.owned_kek/owned_db, each checked against its
// pinned fingerprint.
Status add_microsoft_certs(GenerateOptions& o, const std::string& dir);

// A file of the set: name relative to the set's directory, bytes, mode.
struct OutputFile {
  std::string name;
  Bytes data;
  mode_t mode = 0644;
};

// Every file of the set (pure): <var>.key (0600; for an existing key its
// key_file text, e.g. the pkcs11: URI line, or none), <var>.crt (PEM), <var>.cer
// (DER), <var>.esl,
// <var>.auth, and GUID.txt (the owner GUID, as sbkeysync-style tooling expects).
Result<std::vector<OutputFile>> key_set_files(const KeySet& set);

// Writes the files into `dir` (created if needed). Existing files are an error
// unless `force`. All files are first written and fsynced under temporary
// names, then renamed into place, so a failed write changes nothing; if a
// rename fails, the files this call created are removed again.
Status write_files(const std::string& dir, const std::vector<OutputFile>& files, bool force);

// The signed update of `var` (PK/KEK/db) carrying `esl`, signed by `signer`.
Result<Bytes> make_variable_update(std::string_view var, ByteSpan esl, const efivar::EfiTime& time,
                                   const crypto::Signer& signer, const crypto::Certificate& cert);

// Key sources: a PEM file path (an encrypted one reads its passphrase from
// `passphrase_file`, first line, else asks on the terminal), or a "pkcs11:" URI
// (RFC 7512) for a key in a hardware token or HSM (crypto::PrivateKey::from_pkcs11_uri).
// Callers only see crypto::Signer, so adding a source touches this function alone.
// A key file may also hold one line "pkcs11:..." instead of a PEM key: the key
// named by that URI is used (how a key set keeps db.key in a token).
Result<std::unique_ptr<crypto::Signer>> load_signer(const std::string& spec, const std::string& passphrase_file = "");
Result<crypto::PrivateKey> load_private_key(const std::string& spec, const std::string& passphrase_file = "");
Result<crypto::Certificate> load_certificate(const std::string& path);
// All certificates of a PEM bundle or one DER file.
Result<std::vector<crypto::Certificate>> load_certificates(const std::string& path);

}  // namespace bootseal::keys
