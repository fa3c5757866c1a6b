// bootseal keys generate: a Secure Boot key set (PK, KEK, db) with EFI
// signature lists and signed .auth updates for systemd-boot's
// loader/keys/<name>/ auto-enrollment.
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <tuple>

#include "cli/command.h"
#include "efivar/esl.h"
#include "keys/keyset.h"
#include "sys/file.h"
#include "sys/tree.h"

namespace bootseal::cli {

// Seconds since the epoch from SOURCE_DATE_EPOCH (reproducible builds), else now.
int64_t reproducible_now() {
  if (const char* e = std::getenv("SOURCE_DATE_EPOCH"); e && *e) {
    char* end = nullptr;
    long long v = std::strtoll(e, &end, 10);
    if (end && *end == '\0' && v >= 0) return v;
  }
  return static_cast<int64_t>(std::time(nullptr));
}

namespace {

struct GenerateArgs {
  std::string dir;
  std::string name = "bootseal";
  std::string subject;
  std::string key_type = "rsa2048";
  std::string timestamp;
  std::string owner_guid;
  int64_t days = keys::kDefaultValidityDays;
  bool force = false;
  bool microsoft = false;
  std::string microsoft_certs;
  std::vector<std::string> add_kek, add_db;
  // Existing keys (PEM file or PKCS#11 URI) and their certificates, per variable.
  std::string pk_key, pk_cert, kek_key, kek_cert, db_key, db_cert, passphrase_file;
};

// Where --microsoft finds the certificates: --microsoft-certs, else the build
// tree's or the installation's share/bootseal/microsoft (extracted at build time).
std::string microsoft_cert_dir(const std::string& given) {
  if (!given.empty()) return given;
  const std::string self = sys::self_dir();
  for (std::string d : {self + "/../../share/bootseal/microsoft", self + "/../share/bootseal/microsoft",
                        std::string("/usr/share/bootseal/microsoft")})
    if (sys::path_exists(d + "/" + std::string(keys::kMicrosoftCerts[0].file))) return d;
  return self + "/../share/bootseal/microsoft";
}

// An option value that does not parse is a usage error (exit 2).
template <typename T>
Result<T> option_value(Result<T> r, const char* option) {
  if (!r.ok()) return usage_error("{}: {}", option, r.error().message());
  return r;
}

Status generate_cmd(const GenerateArgs& a, const Globals& g) {
  keys::GenerateOptions o;
  o.name = a.name;
  o.subject_suffix = a.subject;
  o.key_type = BS_TRY(option_value(crypto::parse_key_type(a.key_type), "--key-type"));
  o.validity_days = a.days;
  if (!a.timestamp.empty()) {
    efivar::EfiTime t = BS_TRY(option_value(efivar::EfiTime::parse(a.timestamp), "--timestamp"));
    struct tm tm {};
    tm.tm_year = t.Year - 1900;
    tm.tm_mon = t.Month - 1;
    tm.tm_mday = t.Day;
    tm.tm_hour = t.Hour;
    tm.tm_min = t.Minute;
    tm.tm_sec = t.Second;
    o.time = static_cast<int64_t>(timegm(&tm));
  } else {
    o.time = reproducible_now();
  }
  if (!a.owner_guid.empty()) o.owner = BS_TRY(option_value(efivar::Guid::parse(a.owner_guid), "--owner-guid"));
  for (auto& f : a.add_kek) {
    auto certs = BS_TRY_CTX(keys::load_certificates(f), "keys generate");
    o.extra_kek.insert(o.extra_kek.end(), certs.begin(), certs.end());
  }
  for (auto& f : a.add_db) {
    auto certs = BS_TRY_CTX(keys::load_certificates(f), "keys generate");
    o.extra_db.insert(o.extra_db.end(), certs.begin(), certs.end());
  }
  if (!a.microsoft_certs.empty() && !a.microsoft) return usage_error("--microsoft-certs needs --microsoft");
  if (a.microsoft) BS_TRY_CTX(keys::add_microsoft_certs(o, microsoft_cert_dir(a.microsoft_certs)), "keys generate --microsoft");
  for (auto [var, key, cert] : {std::tuple{"PK", &a.pk_key, &a.pk_cert}, std::tuple{"KEK", &a.kek_key, &a.kek_cert},
                                std::tuple{"db", &a.db_key, &a.db_cert}}) {
    if (key->empty() != cert->empty())
      return usage_error("--{0}-key and --{0}-cert go together", std::string(var) == "PK" ? "pk" : std::string(var) == "KEK" ? "kek" : "db");
    if (key->empty()) continue;
    auto k = BS_TRY_CTX(keys::load_private_key(*key, a.passphrase_file), "keys generate: {} key", var);
    auto c = BS_TRY_CTX(keys::load_certificate(*cert), "keys generate: {} certificate", var);
    // A key in a token stays there: <var>.key records its URI (what disk create
    // and sign read); a PEM key given by path is not copied.
    std::string key_file = key->rfind("pkcs11:", 0) == 0 ? *key + "\n" : "";
    o.existing.push_back({var, std::move(k), std::move(c), key_file});
  }
  if (o.key_type == crypto::KeyType::kEcP256)
    warn("ec-p256: many UEFI firmwares (OVMF before edk2-stable202305, most PCs) verify only RSA signatures; "
         "use rsa2048 for the widest support");
  keys::KeySet set = BS_TRY_CTX(keys::generate_key_set(o), "keys generate");
  auto files = BS_TRY_CTX(keys::key_set_files(set), "keys generate");
  BS_TRY_CTX(keys::write_files(a.dir, files, a.force), "keys generate");
  if (g.json) {
    nlohmann::json j;
    j["dir"] = a.dir;
    j["owner_guid"] = set.owner.to_string();
    j["timestamp"] = set.timestamp.to_string();
    j["key_type"] = a.key_type;
    for (const keys::KeyPair& p : set.pairs)
      j["certificates"][p.var] = {{"subject", p.cert.subject()}, {"serial", p.cert.serial_hex()}};
    j["microsoft"] = a.microsoft;
    for (const keys::OutputFile& f : files) j["files"].push_back(f.name);
    print_json(j);
  } else if (!g.quiet) {
    std::printf("Generated %s keys PK, KEK, db in %s (owner GUID %s, timestamp %s UTC)\n", a.key_type.c_str(),
                a.dir.c_str(), set.owner.to_string().c_str(), set.timestamp.to_string().c_str());
    std::printf("For systemd-boot auto-enrollment copy PK.auth, KEK.auth and db.auth to ESP/loader/keys/<name>/\n");
  }
  return {};
}

struct InspectArgs {
  std::string file;
  std::vector<std::string> certs;
  std::string var;
};

// "PK" from ".../PK.auth", for the variable name the signature covers.
std::string var_from_path(const std::string& path) {
  std::string base = sys::basename_of(path);
  return base.substr(0, base.find('.'));
}

nlohmann::json lists_json(const std::vector<efivar::SignatureList>& lists) {
  nlohmann::json j = nlohmann::json::array();
  for (auto& l : lists) {
    nlohmann::json e{{"type", l.SignatureType == efivar::kEfiCertX509 ? "x509" : l.SignatureType.to_string()},
                     {"signature_size", l.SignatureSize}};
    for (auto& s : l.Signatures) {
      nlohmann::json sj{{"owner", s.SignatureOwner.to_string()}, {"size", s.SignatureData.size()}};
      if (l.SignatureType == efivar::kEfiCertX509) {
        auto c = crypto::Certificate::from_der(s.SignatureData, "entry");
        if (c.ok()) sj["subject"] = c->subject();
      }
      e["signatures"].push_back(sj);
    }
    j.push_back(e);
  }
  return j;
}

// Reads an .esl or .auth file, prints its structure, and with --cert checks
// the .auth signature.
Status inspect_cmd(const InspectArgs& a, const Globals& g) {
  auto ctx = [&] { return fmt::format("keys inspect {}", a.file); };
  Bytes data = BS_TRY_CTX(sys::read_file(a.file), "keys inspect");
  nlohmann::json j{{"file", a.file}};
  std::string text;
  auto auth = efivar::parse_auth2(data);
  bool is_auth = auth.ok();
  // An .esl never starts with a valid EFI_TIME + WIN_CERT_TYPE_EFI_GUID header.
  ByteSpan esl_bytes = data;
  if (is_auth) {
    j["format"] = "EFI_VARIABLE_AUTHENTICATION_2";
    j["timestamp"] = auth->TimeStamp.to_string();
    j["pkcs7_size"] = auth->CertData.size();
    text += efivar::dump_auth2(*auth);
    auto p7 = crypto::pkcs7_parse(auth->CertData);
    if (!p7.ok()) return input_error("{}: CertData: {}", ctx(), p7.error().message());
    for (auto& s : p7->signers) {
      j["signers"].push_back({{"issuer", s.issuer}, {"serial", s.serial_hex}, {"digest", s.digest_algorithm}});
      text += fmt::format("signer: issuer '{}' serial {} digest {}\n", s.issuer, s.serial_hex, s.digest_algorithm);
    }
    esl_bytes = auth->Data;
  } else {
    j["format"] = "EFI_SIGNATURE_LIST";
  }
  auto lists = efivar::parse_signature_lists(esl_bytes);
  if (!lists.ok()) {
    if (!is_auth && auth.error().message().find("WIN_CERTIFICATE") != std::string::npos && data.size() > 40 &&
        load_le<uint16_t>(data.data() + 22) == efivar::kWinCertTypeEfiGuid)
      return input_error("{}: {}", ctx(), auth.error().message());
    return input_error("{}: {}", ctx(), lists.error().message());
  }
  j["lists"] = lists_json(*lists);
  text += efivar::dump_signature_lists(*lists);
  if (!a.certs.empty()) {
    if (!is_auth) return input_error("{}: --cert checks .auth signatures, but this is a plain signature list", ctx());
    std::vector<crypto::Certificate> trusted;
    for (auto& c : a.certs) trusted.push_back(BS_TRY_CTX(keys::load_certificate(c), "{}", ctx()));
    std::string var = a.var.empty() ? var_from_path(a.file) : a.var;
    efivar::Guid vendor = BS_TRY_CTX(efivar::secure_boot_vendor_guid(var), "{} (use --var)", ctx());
    Status st = efivar::verify_auth2(var, vendor, efivar::kSecureBootVariableAttributes, *auth, trusted);
    j["variable"] = var;
    j["signature_ok"] = st.ok();
    if (g.json) print_json(j);
    if (!st.ok()) return check_error("{}: signature of the {} update: {}", ctx(), var, st.error().message());
    text += fmt::format("signature: OK for variable {} ({})\n", var, vendor.to_string());
    if (!g.json) std::fputs(text.c_str(), stdout);  // the result, even with -q
    return {};
  }
  if (g.json)
    print_json(j);
  else  // the result, even with -q
    std::fputs(text.c_str(), stdout);
  return {};
}

void setup(CLI::App& root, Context& ctx) {
  CLI::App* k = group(root, "keys", "Secure Boot key sets (PK, KEK, db)");
  static GenerateArgs ga;
  CLI::App* gen = k->add_subcommand("generate", "Generate PK, KEK and db keys, certificates, .esl and .auth files");
  json_output(gen);
  gen->add_option("--dir", ga.dir, "Output directory")->required();
  gen->add_option("--name", ga.name, "Key set name, used in the certificate subjects (CN=<name> PK)")
      ->capture_default_str();
  gen->add_option("--subject", ga.subject, "Extra subject attributes appended to CN, e.g. 'O=Example,C=DE'");
  gen->add_option("--key-type", ga.key_type, "rsa2048, rsa4096 or ec-p256")->capture_default_str()->check(CLI::IsMember({"rsa2048", "rsa4096", "ec-p256"}));
  gen->add_option("--timestamp", ga.timestamp,
                  "UTC time 'YYYY-MM-DD HH:MM:SS' for the .auth TimeStamp and certificate notBefore "
                  "(default: SOURCE_DATE_EPOCH or now)");
  gen->add_option("--owner-guid", ga.owner_guid, "SignatureOwner GUID of the list entries (default: random)");
  gen->add_option("--days", ga.days, "Certificate validity in days")->capture_default_str();
  gen->add_option("--add-kek-cert", ga.add_kek, "Also enroll these certificates in KEK (PEM bundle or DER); repeatable");
  gen->add_option("--add-db-cert", ga.add_db,
                  "Also enroll these certificates in db, e.g. a vendor UEFI CA (PEM bundle or DER); repeatable");
  gen->add_flag("--microsoft", ga.microsoft,
                "Also enroll Microsoft's 2011 UEFI CAs (KEK CA; db: Windows PCA and the third-party UEFI CA that signs "
                "option ROMs and shim), so vendor option ROMs keep working on real hardware (docs/secure-boot.md)");
  gen->add_option("--microsoft-certs", ga.microsoft_certs,
                  "Directory with Microsoft's certificates (tools/extract-ms-certs; default: extracted at build time)");
  for (auto [var, key, cert] : {std::tuple{"pk", &ga.pk_key, &ga.pk_cert}, std::tuple{"kek", &ga.kek_key, &ga.kek_cert},
                                std::tuple{"db", &ga.db_key, &ga.db_cert}}) {
    std::string up = std::string(var) == "db" ? "db" : std::string(var) == "pk" ? "PK" : "KEK";
    gen->add_option(fmt::format("--{}-key", var), *key,
                    fmt::format("Use this existing {} key instead of generating one: PEM file or PKCS#11 URI (a token "
                                "key stays there; {}.key then holds its URI)", up, up));
    gen->add_option(fmt::format("--{}-cert", var), *cert, fmt::format("Certificate of --{}-key (PEM or DER)", var));
  }
  gen->add_option("--key-passphrase-file", ga.passphrase_file, "Passphrase of encrypted PEM --pk-key/--kek-key/--db-key (first line)");
  gen->add_flag("--force", ga.force, "Overwrite existing files");
  gen->callback([&ctx] { ctx.action = [&ctx] { return generate_cmd(ga, ctx.globals); }; });

  static InspectArgs ia;
  CLI::App* ins = k->add_subcommand("inspect", "Show an .esl or .auth file; with --cert, check the .auth signature");
  json_output(ins);
  ins->add_option("--cert", ia.certs, "Certificate the .auth update must be signed by (repeatable)");
  ins->add_option("--var", ia.var, "Variable name the update is for (default: from the file name, e.g. PK.auth)");
  ins->add_option("FILE", ia.file, ".esl or .auth file")->required();
  ins->callback([&ctx] { ctx.action = [&ctx] { return inspect_cmd(ia, ctx.globals); }; });
}

}  // namespace

BOOTSEAL_VERB(40, setup);

}  // namespace bootseal::cli
