#include "boot/esp.h"

#include "base/hex.h"
#include "sys/file.h"
#include "sys/space.h"

namespace bootseal::boot {
namespace {

Status check_name(std::string_view what, std::string_view s) {
  if (s.empty()) return input_error("{} is empty", what);
  for (char c : s)
    if (c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == ' ')
      return input_error("{} '{}' contains a character not allowed in an ESP file name", what, s);
  return {};
}

}  // namespace

std::string uki_path(std::string_view digest) {
  return fmt::format("{}/bootc_composefs-{}.efi", kUkiDir, digest);
}

Deployment deployment_for(std::string digest, const bls::OsRelease& os_release) {
  Deployment d;
  d.digest = std::move(digest);
  d.os_id = os_release.get("ID").value_or("linux");
  d.version = os_release.get("VERSION_ID").value_or(os_release.get("IMAGE_VERSION").value_or("0"));
  for (char& c : d.version)
    if (c == '/' || c == ' ' || c == '\\') c = '_';
  d.title = os_release.pretty_name();
  return d;
}

std::string entry_name(std::string_view os_id, std::string_view version, int index, int tries_left, int tries_done) {
  std::string counter;
  if (tries_left >= 0) counter = tries_done > 0 ? fmt::format("+{}-{}", tries_left, tries_done) : fmt::format("+{}", tries_left);
  return fmt::format("bootc_{}-{}-{}{}.conf", os_id, version, index, counter);
}

CountedName parse_counted_name(std::string_view file) {
  // As systemd-boot's config_entry_parse_tries: the last '+', digits, optional
  // '-' digits, then exactly the suffix.
  CountedName out{std::string(file), -1, 0};
  size_t dot = file.rfind('.');
  size_t plus = file.rfind('+');
  if (dot == std::string_view::npos || plus == std::string_view::npos || plus > dot) return out;
  std::string_view counter = file.substr(plus + 1, dot - plus - 1);
  auto number = [](std::string_view d, int& v) {
    if (d.empty() || d.size() > 9) return false;
    v = 0;
    for (char c : d) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    return true;
  };
  int left = 0, done = 0;
  size_t dash = counter.find('-');
  if (!number(counter.substr(0, dash), left)) return out;
  if (dash != std::string_view::npos && !number(counter.substr(dash + 1), done)) return out;
  out.base = std::string(file.substr(0, plus)) + std::string(file.substr(dot));
  out.tries_left = left;
  out.tries_done = done;
  return out;
}

std::string bls_entry(const Deployment& d, int index) {
  // sort-key: systemd-boot sorts entries with a sort-key by it, then by version
  // (descending); "bootc-<os>-<index>" puts the default (0) before the rollback (1).
  std::string out;
  out += fmt::format("title {}\n", d.title.empty() ? d.os_id : d.title);
  out += fmt::format("version {}\n", d.version);
  out += fmt::format("sort-key bootc-{}-{}\n", d.os_id, index);
  out += fmt::format("efi /{}\n", uki_path(d.digest));
  return out;
}

std::string loader_conf(const EspSpec& spec) {
  std::string out;
  out += fmt::format("timeout {}\n", spec.timeout);
  // A glob (systemd-boot matches `default` as one): the default deployment is
  // always the "-0" entry, so upgrades and rollbacks never rewrite this file.
  if (!spec.deployments.empty()) out += fmt::format("default {}\n", kDefaultEntryGlob);
  out += "editor no\n";
  if (!spec.pk_auth.empty()) out += fmt::format("secure-boot-enroll {}\n", spec.secure_boot_enroll);
  return out;
}

Result<EspPlan> plan_esp(const EspSpec& spec) {
  if (spec.sdboot_source.empty()) return input_error("no systemd-boot binary given");
  if (spec.deployments.empty()) return input_error("no deployment (UKI) given");
  if (spec.deployments.size() > 2) return input_error("at most two deployments (default and rollback) are supported");
  static const char* kEnroll[] = {"off", "manual", "if-safe", "force"};
  bool enroll_ok = false;
  for (auto* e : kEnroll) enroll_ok |= spec.secure_boot_enroll == e;
  if (!enroll_ok) return input_error("secure-boot-enroll must be off, manual, if-safe or force, not '{}'", spec.secure_boot_enroll);
  bool any_key = !spec.pk_auth.empty() || !spec.kek_auth.empty() || !spec.db_auth.empty();
  bool all_keys = !spec.pk_auth.empty() && !spec.kek_auth.empty() && !spec.db_auth.empty();
  if (any_key && !all_keys) return input_error("auto-enrollment needs all of PK.auth, KEK.auth and db.auth");
  BS_TRY(check_name("key set name", spec.keys_name));

  EspPlan plan;
  const ArchInfo& ai = arch_info(spec.arch);
  plan.files.push_back({fmt::format("EFI/BOOT/BOOT{}.EFI", ai.efi_upper), spec.sdboot_source, {}});
  plan.files.push_back({fmt::format("EFI/systemd/systemd-boot{}.efi", ai.efi), spec.sdboot_source, {}});
  for (size_t i = 0; i < spec.deployments.size(); i++) {
    const Deployment& d = spec.deployments[i];
    if (!is_hex(d.digest) || (d.digest.size() != 64 && d.digest.size() != 128))
      return input_error("deployment {}: digest '{}' is not 64 or 128 hex digits", i, d.digest);
    BS_TRY_CTX(check_name("os id", d.os_id), "deployment {}", i);
    BS_TRY_CTX(check_name("version", d.version), "deployment {}", i);
    if (d.uki_source.empty()) return input_error("deployment {}: no UKI given", i);
    plan.files.push_back({uki_path(d.digest), d.uki_source, {}});
    plan.files.push_back({fmt::format("{}/{}", kEntriesDir, entry_name(d.os_id, d.version, static_cast<int>(i))),
                          std::nullopt, bls_entry(d, static_cast<int>(i))});
  }
  plan.files.push_back({"loader/loader.conf", std::nullopt, loader_conf(spec)});
  if (all_keys) {
    std::string dir = fmt::format("loader/keys/{}", spec.keys_name);
    plan.files.push_back({dir + "/PK.auth", spec.pk_auth, {}});
    plan.files.push_back({dir + "/KEK.auth", spec.kek_auth, {}});
    plan.files.push_back({dir + "/db.auth", spec.db_auth, {}});
  }
  return plan;
}

Result<uint64_t> plan_bytes(const EspPlan& plan) {
  uint64_t total = 0;
  for (const EspFile& f : plan.files) {
    uint64_t size = f.text.size();
    if (f.source) size = BS_TRY(sys::file_size(*f.source));
    total += round_up(size, 4096);
  }
  return total;
}

Status write_esp_dir(const EspPlan& plan, const std::string& dir) {
  for (const EspFile& f : plan.files) {
    std::string dest = fmt::format("{}/{}", dir, f.path);
    BS_TRY(sys::mkdir_p(sys::dirname_of(dest)));
    if (f.source) {
      Bytes data = BS_TRY(sys::read_file(*f.source));
      BS_TRY(sys::write_file_atomic(dest, data));
    } else {
      BS_TRY(sys::write_file_atomic(dest, as_bytes(f.text)));
    }
  }
  return {};
}

}  // namespace bootseal::boot
