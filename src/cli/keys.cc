// bootseal keys generate: a Secure Boot key set (PK, KEK, db) with EFI
// signature lists and signed .auth updates for systemd-boot's
// loader/keys/<name>/ auto-enrollment.
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "cli/command.h"
#include "keys/keyset.h"

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
};

Status generate_cmd(const GenerateArgs& a, const Globals& g) {
  keys::GenerateOptions o;
  o.name = a.name;
  o.subject_suffix = a.subject;
  o.key_type = BS_TRY(crypto::parse_key_type(a.key_type));
  o.validity_days = a.days;
  if (!a.timestamp.empty()) {
    efivar::EfiTime t = BS_TRY(efivar::EfiTime::parse(a.timestamp));
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
  if (!a.owner_guid.empty()) o.owner = BS_TRY(efivar::Guid::parse(a.owner_guid));
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
    for (const keys::OutputFile& f : files) j["files"].push_back(f.name);
    print_json(j);
  } else if (!g.quiet) {
    std::printf("Generated %s keys PK, KEK, db in %s (owner GUID %s, timestamp %s UTC)\n", a.key_type.c_str(),
                a.dir.c_str(), set.owner.to_string().c_str(), set.timestamp.to_string().c_str());
    std::printf("For systemd-boot auto-enrollment copy PK.auth, KEK.auth and db.auth to ESP/loader/keys/<name>/\n");
  }
  return {};
}

void setup(CLI::App& root, Context& ctx) {
  CLI::App* k = group(root, "keys", "Secure Boot key sets (PK, KEK, db)");
  static GenerateArgs ga;
  CLI::App* gen = k->add_subcommand("generate", "Generate PK, KEK and db keys, certificates, .esl and .auth files");
  gen->add_option("--dir", ga.dir, "Output directory")->required();
  gen->add_option("--name", ga.name, "Key set name, used in the certificate subjects (CN=<name> PK)")
      ->capture_default_str();
  gen->add_option("--subject", ga.subject, "Extra subject attributes appended to CN, e.g. 'O=Example,C=DE'");
  gen->add_option("--key-type", ga.key_type, "rsa2048, rsa4096 or ec-p256")->capture_default_str();
  gen->add_option("--timestamp", ga.timestamp,
                  "UTC time 'YYYY-MM-DD HH:MM:SS' for the .auth TimeStamp and certificate notBefore "
                  "(default: SOURCE_DATE_EPOCH or now)");
  gen->add_option("--owner-guid", ga.owner_guid, "SignatureOwner GUID of the list entries (default: random)");
  gen->add_option("--days", ga.days, "Certificate validity in days")->capture_default_str();
  gen->add_flag("--force", ga.force, "Overwrite existing files");
  gen->callback([&ctx] { ctx.action = [&ctx] { return generate_cmd(ga, ctx.globals); }; });
}

}  // namespace

BOOTSEAL_VERB(40, setup);

}  // namespace bootseal::cli
