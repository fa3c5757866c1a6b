#include "keys/keyset.h"

#include <algorithm>

#include "base/hex.h"
#include "efivar/esl.h"
#include "sys/file.h"
#include "sys/fileops.h"
#include "sys/terminal.h"
#include "sys/tree.h"

namespace bootseal::keys {

const KeyPair& KeySet::get(std::string_view var) const {
  for (const KeyPair& p : pairs)
    if (p.var == var) return p;
  return pairs.front();
}

Result<KeySet> generate_key_set(const GenerateOptions& o) {
  if (o.name.empty()) return input_error("the key set name is empty");
  if (o.validity_days <= 0 || o.validity_days > kMaxValidityDays)
    return input_error("certificate validity of {} days is outside 1..{}", o.validity_days, kMaxValidityDays);
  KeySet set;
  if (o.owner) {
    set.owner = *o.owner;
  } else {
    // A random (version 4, RFC 4122 variant) GUID.
    Bytes r = crypto::random_bytes(16);
    r[7] = static_cast<uint8_t>((r[7] & 0x0f) | 0x40);  // Data3 high nibble (LE byte 7) = version
    r[8] = static_cast<uint8_t>((r[8] & 0x3f) | 0x80);
    set.owner = efivar::Guid::from_bytes(r);
  }
  set.timestamp = efivar::EfiTime::from_unix(o.time);
  set.extra_kek = o.extra_kek;
  set.extra_db = o.extra_db;
  set.owned_kek = o.owned_kek;
  set.owned_db = o.owned_db;
  for (std::string_view var : kVariables) {
    auto given = std::find_if(o.existing.begin(), o.existing.end(), [&](const auto& e) { return e.var == var; });
    if (given != o.existing.end()) {
      if (given->key.public_key_der() != given->cert.public_key_der())
        return input_error("the {} key ({}) does not match its certificate '{}'", var, given->key.description(),
                           given->cert.subject());
      set.pairs.push_back({std::string(var), given->key, given->cert, given->key_file});
      continue;
    }
    crypto::PrivateKey key = BS_TRY_CTX(crypto::PrivateKey::generate(o.key_type), "generating the {} key", var);
    crypto::CertificateProfile p;
    p.subject = fmt::format("CN={} {}", o.name, var);
    if (!o.subject_suffix.empty()) p.subject += "," + o.subject_suffix;
    p.not_before = o.time;
    p.not_after = o.time + o.validity_days * 86400;
    Bytes h = crypto::digest(crypto::HashAlg::kSha256, key.public_key_der());
    p.serial.assign(h.begin(), h.begin() + 16);
    p.ca = var != "db";
    p.code_signing = var == "db";
    crypto::Certificate cert = BS_TRY_CTX(crypto::make_self_signed(key, p), "certificate for {}", var);
    set.pairs.push_back({std::string(var), std::move(key), std::move(cert)});
  }
  return set;
}

Result<Bytes> make_variable_update(std::string_view var, ByteSpan esl, const efivar::EfiTime& time,
                                   const crypto::Signer& signer, const crypto::Certificate& cert) {
  efivar::Guid vendor = BS_TRY(efivar::secure_boot_vendor_guid(var));
  return efivar::make_auth2(var, vendor, efivar::kSecureBootVariableAttributes, time, esl, signer, cert);
}

Status add_microsoft_certs(GenerateOptions& o, const std::string& dir) {
  efivar::Guid ms = BS_TRY(efivar::Guid::parse(kMicrosoftOwner));
  for (const MicrosoftCert& m : kMicrosoftCerts) {
    std::string path = dir + "/" + std::string(m.file);
    if (!sys::path_exists(path))
      return input_error("{}: missing (extract Microsoft's certificates from OVMF_VARS_4M.ms.fd with "
                         "tools/extract-ms-certs {}, or give --microsoft-certs DIR)", path, dir);
    auto certs = BS_TRY(load_certificates(path));
    if (certs.size() != 1) return input_error("{}: expected one certificate, found {}", path, certs.size());
    std::string fp = to_hex(crypto::digest(crypto::HashAlg::kSha256, certs[0].der()));
    if (fp != m.sha256)
      return input_error("{}: SHA-256 fingerprint {} is not the one of {} ({})", path, fp, m.file, m.sha256);
    (m.var == "KEK" ? o.owned_kek : o.owned_db).emplace_back(ms, certs[0]);
  }
  return {};
}

Result<std::vector<OutputFile>> key_set_files(const KeySet& set) {
  std::vector<OutputFile> out;
  // Who signs each variable's update: PK itself, then PK, then KEK.
  auto signer_of = [&](std::string_view var) -> const KeyPair& {
    return set.get(var == "db" ? "KEK" : "PK");
  };
  for (const KeyPair& p : set.pairs) {
    std::string pem = p.key_file ? *p.key_file : p.key.to_pem();
    if (!pem.empty()) out.push_back({p.var + ".key", Bytes(pem.begin(), pem.end()), 0600});
    std::string crt = p.cert.pem();
    out.push_back({p.var + ".crt", Bytes(crt.begin(), crt.end()), 0644});
    // DER copy: what firmware setup menus and mokutil --import enroll.
    out.push_back({p.var + ".cer", p.cert.der(), 0644});
    std::vector<efivar::SignatureList> lists = {efivar::x509_signature_list(set.owner, p.cert.der())};
    const std::vector<crypto::Certificate>* extra =
        p.var == "KEK" ? &set.extra_kek : p.var == "db" ? &set.extra_db : nullptr;
    if (extra)
      for (const crypto::Certificate& c : *extra) lists.push_back(efivar::x509_signature_list(set.owner, c.der()));
    const auto* owned = p.var == "KEK" ? &set.owned_kek : p.var == "db" ? &set.owned_db : nullptr;
    if (owned)
      for (const auto& [guid, c] : *owned) lists.push_back(efivar::x509_signature_list(guid, c.der()));
    Bytes esl = BS_TRY(efivar::write_signature_lists(lists));
    const KeyPair& s = signer_of(p.var);
    Bytes auth = BS_TRY(make_variable_update(p.var, esl, set.timestamp, s.key, s.cert));
    out.push_back({p.var + ".esl", std::move(esl), 0644});
    out.push_back({p.var + ".auth", std::move(auth), 0644});
  }
  std::string guid = set.owner.to_string() + "\n";
  out.push_back({"GUID.txt", Bytes(guid.begin(), guid.end()), 0644});
  return out;
}

Status write_files(const std::string& dir, const std::vector<OutputFile>& files, bool force) {
  if (!force) {
    for (const OutputFile& f : files) {
      std::string path = dir + "/" + f.name;
      if (sys::path_exists(path)) return input_error("{} exists; use --force to overwrite", path);
    }
  }
  BS_TRY(sys::mkdir_p(dir, 0755));
  // Two phases so a failure leaves the old set intact: first every file is
  // written and fsynced under a temporary name (a failure removes them all),
  // then all are renamed into place.
  std::vector<sys::AtomicFile> staged;
  staged.reserve(files.size());
  for (const OutputFile& f : files) {
    staged.push_back(BS_TRY(sys::AtomicFile::create(dir + "/" + f.name, f.mode)));
    BS_TRY(staged.back().write(f.data));
  }
  std::vector<std::string> created;
  for (size_t i = 0; i < staged.size(); i++) {
    std::string path = dir + "/" + files[i].name;
    bool existed = sys::path_exists(path);
    Status st = staged[i].commit();
    if (!st.ok()) {
      for (const std::string& c : created) (void)sys::remove_file(c);
      return st;
    }
    if (!existed) created.push_back(path);
  }
  return {};
}

Result<std::unique_ptr<crypto::Signer>> load_signer(const std::string& spec, const std::string& passphrase_file) {
  crypto::PrivateKey key = BS_TRY(load_private_key(spec, passphrase_file));
  return std::unique_ptr<crypto::Signer>(new crypto::PrivateKey(std::move(key)));
}

Result<crypto::PrivateKey> load_private_key(const std::string& spec, const std::string& passphrase_file) {
  if (spec.rfind("pkcs11:", 0) == 0) {
    if (!passphrase_file.empty())
      return input_error("--key-passphrase-file is for PEM keys; a PKCS#11 URI carries its PIN (pin-source=file:...)");
    crypto::PrivateKey key = BS_TRY(crypto::PrivateKey::from_pkcs11_uri(spec));
    return key;
  }
  std::optional<std::string> pass;
  if (!passphrase_file.empty()) {
    std::string text = BS_TRY_CTX(sys::read_text_file(passphrase_file), "--key-passphrase-file");
    pass = text.substr(0, text.find_first_of("\r\n"));  // the first line, as openssl's file: pass source
  }
  Bytes pem = BS_TRY(sys::read_file(spec));
  // A key file may name a key in a token instead of holding one: one line
  // "pkcs11:..." (a key set whose db.key stays in an HSM; docs/signing-keys.md).
  if (std::string_view(reinterpret_cast<const char*>(pem.data()), pem.size()).starts_with("pkcs11:")) {
    std::string uri(pem.begin(), pem.end());
    uri = uri.substr(0, uri.find_first_of("\r\n"));
    if (!passphrase_file.empty())
      return input_error("key file {} names a PKCS#11 key; --key-passphrase-file is for PEM keys (the URI carries "
                         "its PIN: pin-source=file:...)", spec);
    crypto::PrivateKey key = BS_TRY_CTX(crypto::PrivateKey::from_pkcs11_uri(uri), "key file {}", spec);
    return key;
  }
  return crypto::PrivateKey::from_pem(pem, fmt::format("key file {}", spec), pass, sys::has_terminal());
}

Result<crypto::Certificate> load_certificate(const std::string& path) {
  Bytes data = BS_TRY(sys::read_file(path));
  return crypto::Certificate::load(data, path);
}

Result<std::vector<crypto::Certificate>> load_certificates(const std::string& path) {
  Bytes data = BS_TRY(sys::read_file(path));
  return crypto::Certificate::load_all(data, path);
}

}  // namespace bootseal::keys
