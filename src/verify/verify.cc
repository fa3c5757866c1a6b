#include "verify/verify.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "authenticode/authenticode.h"
#include "base/hex.h"
#include "bls/entry.h"
#include "bls/karg.h"
#include "composefs/image.h"
#include "crypto/hash.h"
#include "crypto/pem.h"
#include "crypto/x509.h"
#include "disk/disk.h"
#include "efivar/auth.h"
#include "efivar/esl.h"
#include "efivar/guid.h"
#include "efivar/varstore.h"
#include "erofs/reader.h"
#include "fsverity/fsverity.h"
#include "fstree/tree.h"
#include "keys/keyset.h"
#include "measure/measure.h"
#include "par/pool.h"
#include "pe/pe.h"
#include "store/meta.h"
#include "sys/dirscan.h"
#include "sys/file.h"
#include "sys/mapped_file.h"
#include "sys/tree.h"
#include "tpm2/luks2.h"
#include "tpm2/pcrsig.h"
#include "tpm2/policy.h"
#include "tpm2/token.h"
#include "uki/uki.h"
#include "verify/fsview.h"

namespace bootseal::verify {

std::string_view verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kPass: return "PASS";
    case Verdict::kWarn: return "WARN";
    case Verdict::kFail: return "FAIL";
  }
  return "FAIL";
}

// ---------------------------------------------------------------- policy, entries

Result<std::vector<PolicyRule>> parse_policy(std::string_view text) {
  std::vector<PolicyRule> out;
  size_t lineno = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    lineno++;
    if (auto h = line.find('#'); h != std::string_view::npos) line = line.substr(0, h);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty()) continue;
    size_t sp = line.find_first_of(" \t");
    std::string_view word = line.substr(0, sp);
    std::string_view arg = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
    while (!arg.empty() && (arg.front() == ' ' || arg.front() == '\t')) arg.remove_prefix(1);
    if ((word != "require" && word != "forbid") || arg.empty() || arg.find_first_of(" \t") != std::string_view::npos)
      return input_error("policy line {}: expected 'require ARG' or 'forbid ARG', got '{}'", lineno, line);
    out.push_back({word == "require", std::string(arg)});
  }
  return out;
}

std::vector<std::string> check_policy(const std::vector<PolicyRule>& rules, std::string_view cmdline) {
  std::vector<std::string> out;
  auto words = bls::split_cmdline(cmdline);
  for (const auto& r : rules) {
    bool has_value = r.arg.find('=') != std::string::npos;
    std::string key = has_value ? r.arg.substr(0, r.arg.find('=')) : r.arg;
    bool present = false;
    for (auto w : words) {
      std::string_view wk = w.substr(0, w.find('='));
      if (has_value ? w == r.arg : wk == key) present = true;
    }
    if (r.require && !present) out.push_back(fmt::format("'{}' is required but missing", r.arg));
    if (!r.require && present) out.push_back(fmt::format("'{}' is forbidden but present", r.arg));
  }
  return out;
}

bool glob_match(std::string_view p, std::string_view t) {
  size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
      pi++, ti++;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') pi++;
  return pi == p.size();
}

int version_compare(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  while (i < a.size() || j < b.size()) {
    // skip separators
    while (i < a.size() && !isalnum(static_cast<unsigned char>(a[i])) && a[i] != '~') i++;
    while (j < b.size() && !isalnum(static_cast<unsigned char>(b[j])) && b[j] != '~') j++;
    bool ta = i < a.size() && a[i] == '~', tb = j < b.size() && b[j] == '~';
    if (ta || tb) {
      if (!ta) return 1;
      if (!tb) return -1;
      i++, j++;
      continue;
    }
    if (i >= a.size() || j >= b.size()) return i < a.size() ? 1 : j < b.size() ? -1 : 0;
    if (digit(a[i]) || digit(b[j])) {
      if (!digit(a[i])) return -1;
      if (!digit(b[j])) return 1;
      while (i < a.size() && a[i] == '0') i++;
      while (j < b.size() && b[j] == '0') j++;
      size_t si = i, sj = j;
      while (i < a.size() && digit(a[i])) i++;
      while (j < b.size() && digit(b[j])) j++;
      if (i - si != j - sj) return i - si < j - sj ? -1 : 1;
      if (int c = a.substr(si, i - si).compare(b.substr(sj, j - sj))) return c < 0 ? -1 : 1;
    } else {
      size_t si = i, sj = j;
      while (i < a.size() && isalpha(static_cast<unsigned char>(a[i]))) i++;
      while (j < b.size() && isalpha(static_cast<unsigned char>(b[j]))) j++;
      if (int c = a.substr(si, i - si).compare(b.substr(sj, j - sj))) return c < 0 ? -1 : 1;
    }
  }
  return 0;
}

EntryInfo parse_entry_name(std::string id) {
  EntryInfo e;
  e.id = id;
  std::string stem = id.ends_with(".conf") || id.ends_with(".efi") || id.ends_with(".EFI")
                         ? id.substr(0, id.rfind('.')) : id;
  size_t plus = stem.rfind('+');
  if (plus != std::string::npos) {
    std::string_view c = std::string_view(stem).substr(plus + 1);
    size_t dash = c.find('-');
    auto num = [](std::string_view s, int& out) {
      if (s.empty() || s.size() > 6) return false;
      int v = 0;
      for (char ch : s) {
        if (ch < '0' || ch > '9') return false;
        v = v * 10 + (ch - '0');
      }
      out = v;
      return true;
    };
    int left = -1, done = -1;
    if (num(c.substr(0, dash), left) && (dash == std::string_view::npos || num(c.substr(dash + 1), done))) {
      e.tries_left = left;
      e.tries_done = dash == std::string_view::npos ? 0 : done;
    }
  }
  return e;
}

void sort_entries(std::vector<EntryInfo>& v) {
  std::stable_sort(v.begin(), v.end(), [](const EntryInfo& a, const EntryInfo& b) {
    bool a_out = a.tries_left == 0, b_out = b.tries_left == 0;
    if (a_out != b_out) return b_out;
    bool ak = !a.sort_key.empty(), bk = !b.sort_key.empty();
    if (ak != bk) return ak;
    if (ak && a.sort_key != b.sort_key) return a.sort_key < b.sort_key;
    if (int c = version_compare(a.version, b.version)) return c > 0;
    return version_compare(a.id, b.id) > 0;
  });
}

// ---------------------------------------------------------------- the walk

namespace {

using Details = std::vector<std::pair<std::string, std::string>>;

std::string short_digest(std::string_view d) { return std::string(d.substr(0, 12)); }

std::string date(int64_t t) { return crypto::format_time(t); }

class Walker {
 public:
  explicit Walker(const Options& o) : o_(o) { now_ = o.now ? o.now : static_cast<int64_t>(std::time(nullptr)); }

  Result<Report> run() {
    BS_TRY(load_options());
    open_target();
    decide_arch();
    if (esp_) {
      firmware_trust();
      boot_loader();
      entries();
      for (const auto& u : ukis_) check_uki(u);
    } else {
      add(Verdict::kFail, "firmware.db", "no ESP to read the boot chain from");
    }
    if (luks_) luks();
    root();
    return std::move(report_);
  }

 private:
  void add(Verdict v, std::string name, std::string reason, Details d = {}) {
    report_.links.push_back({v, std::move(name), std::move(reason), std::move(d)});
  }

  Status load_options() {
    for (const auto& c : o_.db_certs) {
      auto certs = BS_TRY_CTX(keys::load_certificates(c), "--db {}", c);
      for (auto& cert : certs) db_.push_back({std::move(cert), "--db " + c});
    }
    if (!o_.policy_file.empty()) {
      std::string text = BS_TRY_CTX(sys::read_text_file(o_.policy_file), "--policy");
      policy_ = BS_TRY_CTX(parse_policy(text), "--policy {}", o_.policy_file);
    }
    if (!o_.pcr_public_key.empty()) {
      Bytes pem = BS_TRY_CTX(sys::read_file(o_.pcr_public_key), "--pcr-public-key");
      pcr_key_ = BS_TRY_CTX(crypto::public_key_der_from_pem(pem, o_.pcr_public_key), "--pcr-public-key");
    }
    return {};
  }

  // ---- target
  void open_target() {
    const auto& t = o_.targets;
    if (t.size() == 2) {
      // ESP and root apart: each a directory, or a disk whose ESP / root partition is used.
      for (int i = 0; i < 2; i++) {
        const char* role = i == 0 ? "ESP" : "root";
        auto st = sys::lstat_path(t[i]);
        if (!st) {
          add(Verdict::kFail, "target", st.error().message());
        } else if (S_ISDIR(st->st_mode)) {
          (i == 0 ? esp_ : root_) = dir_view(t[i], role);
          add(Verdict::kPass, "target", fmt::format("{} directory {}", role, t[i]));
        } else {
          open_disk(t[i], i == 0, i == 1);
        }
      }
      return;
    }
    const std::string& path = t[0];
    auto st = sys::lstat_path(path);
    if (!st) {
      add(Verdict::kFail, "target", st.error().message());
      return;
    }
    if (S_ISDIR(st->st_mode)) {
      std::string base = path == "/" ? "" : path;
      std::string rootdir = sys::path_exists(base + "/sysroot/composefs") ? base + "/sysroot" : path;
      std::string espdir;
      for (const char* c : {"/efi", "/boot/efi", "/boot"})
        if (sys::path_exists(base + c + "/loader") || sys::path_exists(base + c + "/EFI")) {
          espdir = base + c;
          break;
        }
      root_ = dir_view(rootdir, "root");
      if (espdir.empty()) {
        add(Verdict::kFail, "target", fmt::format("{}: no ESP found at efi/, boot/efi/ or boot/ (give ESP and root directories)", path));
        return;
      }
      esp_ = dir_view(espdir, "ESP");
      add(Verdict::kPass, "target", fmt::format("system {}: ESP {}, root {}", path, espdir, rootdir));
      return;
    }
    if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode)) {
      add(Verdict::kFail, "target", fmt::format("{}: not a disk image, block device or directory", path));
      return;
    }
    open_disk(path, true, true);
  }

  // The ESP and/or the root partition of a disk image or block device.
  void open_disk(const std::string& path, bool want_esp, bool want_root) {
    auto map = sys::MappedFile::open_random(path);
    if (!map) {
      add(Verdict::kFail, "target", map.error().message());
      return;
    }
    maps_.push_back(std::make_unique<sys::MappedFile>(std::move(*map)));
    ByteSpan disk = maps_.back()->data();
    if (want_root && !want_esp && tpm2::has_luks_magic(disk)) {
      // The root given as a LUKS2 volume of its own (a partition's contents, or /dev/sdX2).
      add(Verdict::kPass, "disk.root", fmt::format("{}: a LUKS2 volume", path));
      luks_ = true;
      luks_data_ = disk;
      luks_where_ = path;
      return;
    }
    // A partition of its own (/dev/sda2, a partition image): ext4 (magic 0xEF53 at
    // byte 1080) as the root, a FAT boot sector as the ESP.
    if (want_root && !want_esp && disk.size() >= 2048 && disk[1080] == 0x53 && disk[1081] == 0xEF) {
      auto v = ext4_view(path, 0, disk, fmt::format("root: {}", path));
      if (!v) {
        add(Verdict::kFail, "disk.root", v.error().message());
        return;
      }
      add(Verdict::kPass, "disk.root", fmt::format("{}: {}", path, (*v)->describe()));
      root_ = std::move(*v);
      return;
    }
    auto fat_label = [&](size_t at) { return disk.size() > at + 3 && disk[at] == 'F' && disk[at + 1] == 'A' && disk[at + 2] == 'T'; };
    if (want_esp && !want_root && disk.size() >= 512 && disk[510] == 0x55 && disk[511] == 0xAA &&
        (disk[0] == 0xEB || disk[0] == 0xE9) && (fat_label(54) || fat_label(82))) {
      auto v = fat_view(disk, fmt::format("ESP: {}", path));
      if (!v) {
        add(Verdict::kFail, "disk.esp", v.error().message());
        return;
      }
      add(Verdict::kPass, "disk.esp", fmt::format("{}: {}", path, (*v)->describe()));
      esp_ = std::move(*v);
      return;
    }
    auto gpt = disk::read_gpt(path);
    if (!gpt) {
      // A protective MBR (type 0xEE) whose GPT libfdisk rejects: a GPT header that
      // points past the image's end (truncated) or a corrupted one.
      bool pmbr = disk.size() >= 512 && disk[510] == 0x55 && disk[511] == 0xAA && disk[446 + 4] == 0xEE;
      if (pmbr)
        add(Verdict::kFail, "disk.gpt",
            fmt::format("{}: a protective MBR, but its GPT is unusable (its header or backup lies past the end of the "
                        "{}-byte image: truncated?, or it is corrupted): {}", path, disk.size(), gpt.error().message()));
      else
        add(Verdict::kFail, "disk.gpt", gpt.error().message());
      return;
    }
    Details d;
    const disk::GptPartition *espp = nullptr, *rootp = nullptr;
    for (const auto& p : gpt->partitions) {
      d.push_back({fmt::format("partition {}", p.number), fmt::format("{} {} offset {} size {}", p.name, p.type_guid, p.offset, p.size)});
      if (!espp && p.type_guid == disk::kEspTypeGuid) espp = &p;
      if (!rootp && (p.type_guid == disk::kRootX86_64TypeGuid || p.type_guid == disk::kRootArm64TypeGuid)) {
        rootp = &p;
        root_arch_ = p.type_guid == disk::kRootArm64TypeGuid ? Arch::kArm64 : Arch::kX86_64;
      }
    }
    add(Verdict::kPass, "disk.gpt", fmt::format("{}: GPT with {} partitions", path, gpt->partitions.size()), d);
    if (!want_esp) {
    } else if (!espp) {
      add(Verdict::kFail, "disk.esp", fmt::format("{}: no EFI System Partition (type {}) in the GPT", path, disk::kEspTypeGuid));
    } else if (espp->offset > disk.size() || espp->size > disk.size() - espp->offset) {
      add(Verdict::kFail, "disk.esp", fmt::format("{}: the ESP (partition {}) ends at byte {}, past the end of the {}-byte image (truncated)",
                                                  path, espp->number, espp->offset + espp->size, disk.size()));
    } else {
      auto v = fat_view(disk.subspan(espp->offset, espp->size), fmt::format("ESP: partition {} of {}", espp->number, path));
      if (!v) add(Verdict::kFail, "disk.esp", v.error().message());
      else {
        add(Verdict::kPass, "disk.esp", fmt::format("partition {}: {}", espp->number, (*v)->describe()));
        esp_ = std::move(*v);
      }
    }
    if (!want_root) return;
    if (!rootp) {
      add(Verdict::kFail, "disk.root", fmt::format("{}: no root partition (x86-64 type {} or arm64 type {}) in the GPT", path,
                                                   disk::kRootX86_64TypeGuid, disk::kRootArm64TypeGuid));
      return;
    }
    if (rootp->offset > disk.size() || rootp->size > disk.size() - rootp->offset) {
      add(Verdict::kFail, "disk.root", fmt::format("{}: the root (partition {}) ends at byte {}, past the end of the {}-byte image (truncated)",
                                                   path, rootp->number, rootp->offset + rootp->size, disk.size()));
      return;
    }
    ByteSpan rp = disk.subspan(rootp->offset, rootp->size);
    if (tpm2::has_luks_magic(rp)) {
      luks_ = true;
      luks_data_ = rp;
      luks_where_ = fmt::format("partition {} of {}", rootp->number, path);
      add(Verdict::kPass, "disk.root", fmt::format("partition {} '{}': LUKS2-encrypted", rootp->number, rootp->name));
      return;
    }
    auto v = ext4_view(path, rootp->offset, disk, fmt::format("root: partition {} of {}", rootp->number, path));
    if (!v) {
      add(Verdict::kFail, "disk.root", v.error().message());
      return;
    }
    add(Verdict::kPass, "disk.root", fmt::format("partition {} '{}': {}", rootp->number, rootp->name, (*v)->describe()));
    root_ = std::move(*v);
  }

  // ---- 1. firmware trust
  struct Trusted {
    crypto::Certificate cert;
    std::string from;
  };

  Result<std::vector<crypto::Certificate>> certs_of_esl(ByteSpan esl, std::string_view what) {
    auto lists = BS_TRY_CTX(efivar::parse_signature_lists(esl), "{}", what);
    std::vector<crypto::Certificate> out;
    for (const auto& l : lists)
      if (l.SignatureType == efivar::kEfiCertX509)
        for (const auto& s : l.Signatures) out.push_back(BS_TRY_CTX(crypto::Certificate::from_der(s.SignatureData, what), "{}", what));
    return out;
  }

  void firmware_trust() {
    // loader.conf first: secure-boot-enroll decides whether the ESP's keys get enrolled.
    loader_conf_text_.reset();
    if (auto lc = esp_->read("/loader/loader.conf")) loader_conf_text_ = std::string(as_string(*lc));
    std::string enroll;
    if (loader_conf_text_) {
      for (auto w : conf_lines(*loader_conf_text_))
        if (w.first == "secure-boot-enroll") enroll = w.second;
    }
    // The ESP's auto-enrollment key sets.
    std::vector<Trusted> esp_db;
    auto names = esp_->list("/loader/keys");
    if (names) {
      std::sort(names->begin(), names->end());
      for (const auto& n : *names) esp_keys(n, esp_db);
    }
    std::string source;
    if (!o_.db_certs.empty()) {
      source = "--db";
    } else if (!o_.vars_file.empty()) {
      ovmf_vars();
      source = "--vars " + o_.vars_file;
    } else if (!o_.efivars_dir.empty()) {
      efivars();
      source = "efivarfs";
    } else if (!esp_db.empty()) {
      db_ = esp_db;
      source = "ESP loader/keys";
      if (enroll != "force" && enroll != "if-safe")
        add(Verdict::kWarn, "firmware.enroll",
            fmt::format("loader.conf secure-boot-enroll is '{}': systemd-boot will not enroll loader/keys by itself",
                        enroll.empty() ? "(unset)" : enroll));
      else
        add(Verdict::kPass, "firmware.enroll", fmt::format("secure-boot-enroll {}: systemd-boot enrolls loader/keys in setup mode", enroll));
    }
    if (db_.empty()) {
      add(Verdict::kFail, "firmware.db",
          source.empty() ? "no db to check against: give --db CERT, --efivars DIR, or put loader/keys/<name>/db.auth on the ESP"
                         : fmt::format("{} holds no X.509 certificate", source));
      return;
    }
    bool bad = false;
    Details d;
    std::string problems;
    for (const auto& t : db_) {
      d.push_back({t.cert.subject(), fmt::format("{}, valid {} .. {}", t.from, date(t.cert.not_before()), date(t.cert.not_after()))});
      if (t.cert.not_after() < now_) {
        bad = true;
        problems += fmt::format("{}db certificate '{}' expired on {}", problems.empty() ? "" : "; ", t.cert.subject(), date(t.cert.not_after()));
      } else if (t.cert.not_before() > now_) {
        bad = true;
        problems += fmt::format("{}db certificate '{}' is not valid before {}", problems.empty() ? "" : "; ", t.cert.subject(), date(t.cert.not_before()));
      }
    }
    if (bad) add(Verdict::kFail, "firmware.db", problems, d);
    else add(Verdict::kPass, "firmware.db", fmt::format("{} certificate(s) from {}: {}", db_.size(), source, db_[0].cert.subject()), d);
  }

  void esp_keys(const std::string& name, std::vector<Trusted>& esp_db) {
    std::string dir = "/loader/keys/" + name;
    std::map<std::string, std::vector<crypto::Certificate>> certs;
    std::map<std::string, efivar::AuthenticatedVariable> vars;
    for (const char* var : {"PK", "KEK", "db"}) {
      std::string link = fmt::format("firmware.keys.{}.{}", name, var);
      auto data = esp_->read(dir + "/" + var + ".auth");
      if (!data) {
        add(Verdict::kFail, link, fmt::format("{}/{}.auth: {}", dir, var, data.error().message()));
        continue;
      }
      auto av = efivar::parse_auth2(*data);
      if (!av) {
        add(Verdict::kFail, link, fmt::format("{}/{}.auth: {}", dir, var, av.error().message()));
        continue;
      }
      auto c = certs_of_esl(av->Data, fmt::format("{}/{}.auth", dir, var));
      if (!c) {
        add(Verdict::kFail, link, c.error().message());
        continue;
      }
      certs[var] = *c;
      vars[var] = std::move(*av);
    }
    // PK.auth is signed by PK itself, KEK.auth by PK, db.auth by KEK.
    const std::pair<const char*, const char*> chain[] = {{"PK", "PK"}, {"KEK", "PK"}, {"db", "KEK"}};
    for (auto [var, by] : chain) {
      if (!vars.count(var)) continue;
      std::string link = fmt::format("firmware.keys.{}.{}", name, var);
      if (!certs.count(by)) {
        add(Verdict::kFail, link, fmt::format("{}/{}.auth: cannot be checked: {}.auth is unusable", dir, var, by));
        continue;
      }
      auto vendor = efivar::secure_boot_vendor_guid(var);
      Status s = vendor ? efivar::verify_auth2(var, *vendor, efivar::kSecureBootVariableAttributes, vars[var], certs[by])
                        : Status(vendor.error());
      std::string subj = certs[var].empty() ? "(no certificate)" : certs[var][0].subject();
      if (!s) add(Verdict::kFail, link, fmt::format("{}/{}.auth is not signed by {}: {}", dir, var, by, s.error().message()));
      else if (certs[var].empty()) add(Verdict::kFail, link, fmt::format("{}/{}.auth holds no X.509 certificate", dir, var));
      else add(Verdict::kPass, link, fmt::format("{}/{}.auth ('{}') signed by {}", dir, var, subj, by));
      if (s && std::string_view(var) == "db")
        for (auto& c : certs[var]) esp_db.push_back({c, dir + "/db.auth"});
    }
  }

  void efivars() {
    std::string guid = efivar::kEfiImageSecurityDatabase.to_string();
    std::string path = o_.efivars_dir + "/db-" + guid;
    auto data = sys::read_file(path);
    if (!data) {
      add(Verdict::kFail, "firmware.efivars", data.error().message());
      return;
    }
    if (data->size() < 4) {
      add(Verdict::kFail, "firmware.efivars", fmt::format("{}: shorter than its 4-byte attributes", path));
      return;
    }
    auto c = certs_of_esl(ByteSpan(*data).subspan(4), path);
    if (!c) {
      add(Verdict::kFail, "firmware.efivars", c.error().message());
      return;
    }
    for (auto& cert : *c) db_.push_back({cert, path});
    auto sb = sys::read_file(o_.efivars_dir + "/SecureBoot-" + efivar::kEfiGlobalVariable.to_string());
    if (sb && sb->size() == 5)
      add((*sb)[4] == 1 ? Verdict::kPass : Verdict::kWarn, "firmware.secureboot",
          (*sb)[4] == 1 ? "SecureBoot is enabled" : "SecureBoot is disabled: the firmware boots unsigned images");
  }

  void ovmf_vars() {
    const std::string& path = o_.vars_file;
    auto data = sys::read_file(path);
    if (!data) {
      add(Verdict::kFail, "firmware.vars", data.error().message());
      return;
    }
    auto vars = efivar::parse_varstore(*data);
    if (!vars) {
      add(Verdict::kFail, "firmware.vars", fmt::format("{}: {}", path, vars.error().message()));
      return;
    }
    std::map<std::string, size_t> count;
    for (const auto& v : *vars) {
      bool global = v.vendor == efivar::kEfiGlobalVariable, secdb = v.vendor == efivar::kEfiImageSecurityDatabase;
      if ((global && (v.name == "PK" || v.name == "KEK")) || (secdb && v.name == "db")) {
        auto c = certs_of_esl(v.data, fmt::format("{} variable {}", path, v.name));
        if (!c) {
          add(Verdict::kFail, "firmware.vars", c.error().message());
          continue;
        }
        count[v.name] = c->size();
        if (v.name == "db")
          for (auto& cert : *c) db_.push_back({cert, path + " db"});
      }
    }
    if (!count.count("PK") || count["PK"] == 0)
      add(Verdict::kWarn, "firmware.vars", fmt::format("{}: no PK: the firmware is in setup mode, Secure Boot does not enforce "
                                                       "(systemd-boot may enroll loader/keys)", path));
    else
      add(Verdict::kPass, "firmware.vars", fmt::format("{}: PK, {} KEK, {} db certificate(s)", path, count["KEK"], count["db"]));
  }

  std::vector<crypto::Certificate> db_certs() const {
    std::vector<crypto::Certificate> out;
    for (auto& t : db_) out.push_back(t.cert);
    return out;
  }

  // An Authenticode check against db, "" if it verifies.
  std::string signature_problem(ByteSpan pe, std::string* signer) {
    auto r = authenticode::verify(pe, db_certs());
    if (!r) return r.error().message();
    if (!r->ok()) return r->failure();
    for (auto& s : r->signatures)
      if (s.ok && signer) *signer = s.signer;
    return "";
  }

  // ---- the architecture: --arch, else the ESP's fallback loader, else the root's
  // partition type, else x86-64. A root partition of the other architecture fails.
  void decide_arch() {
    if (o_.arch) {
      arch_ = *o_.arch;
      arch_from_ = "--arch";
    } else if (esp_ && esp_->read("/EFI/BOOT/BOOTAA64.EFI").ok() && !esp_->read("/EFI/BOOT/BOOTX64.EFI").ok()) {
      arch_ = Arch::kArm64;
      arch_from_ = "the ESP's EFI/BOOT/BOOTAA64.EFI";
    } else if (esp_ && esp_->read("/EFI/BOOT/BOOTX64.EFI").ok()) {
      arch_ = Arch::kX86_64;
      arch_from_ = "the ESP's EFI/BOOT/BOOTX64.EFI";
    } else if (root_arch_) {
      arch_ = *root_arch_;
      arch_from_ = "the root partition's type";
    }
    if (root_arch_ && *root_arch_ != arch_)
      add(Verdict::kFail, "disk.root",
          fmt::format("the root partition has the {} root type {}, but the disk is for {} (from {}): setup-root looks for type {}",
                      arch_name(*root_arch_), arch_info(*root_arch_).root_type_guid, arch_name(arch_), arch_from_,
                      arch_info(arch_).root_type_guid));
  }

  // A PE's architecture against the disk's: "" if it matches.
  std::string arch_problem(ByteSpan pe) const {
    auto a = uki::pe_arch(pe);
    if (!a) return a.error().message();
    if (*a != arch_)
      return fmt::format("an {} PE (Machine 0x{:04x}), but the disk is for {} (from {})", arch_name(*a), arch_info(*a).pe_machine,
                         arch_name(arch_), arch_from_);
    return "";
  }

  // ---- 2. boot loader
  void boot_loader() {
    const ArchInfo& ai = arch_info(arch_);
    std::string fallback_path = fmt::format("/EFI/BOOT/BOOT{}.EFI", ai.efi_upper);
    std::string sdboot_path = fmt::format("/EFI/systemd/systemd-boot{}.efi", ai.efi);
    for (const std::string& path : {fallback_path, sdboot_path}) {
      const char* p = path.c_str();
      std::string name = "loader." + path.substr(path.rfind('/') + 1);
      auto data = esp_->read(p);
      if (!data) {
        bool fallback = path == fallback_path;
        add(fallback ? Verdict::kFail : Verdict::kWarn, name,
            fmt::format("{} {}: {}", p, fallback ? "(what the firmware boots)" : "(the boot entry systemd-boot installs)",
                        data.error().message()));
        continue;
      }
      if (!pe::looks_like_pe(*data)) {
        add(Verdict::kFail, name, fmt::format("{}: not a PE image", p));
        continue;
      }
      if (std::string ap = arch_problem(*data); !ap.empty()) {
        add(Verdict::kFail, name, fmt::format("{}: {}", p, ap));
        continue;
      }
      std::string signer;
      std::string prob = db_.empty() ? "no db to check the signature against" : signature_problem(*data, &signer);
      auto sbat = uki::pe_sbat(*data);
      if (!prob.empty()) add(Verdict::kFail, name, fmt::format("{}: {}", p, prob));
      else if (!sbat || sbat->empty()) add(Verdict::kFail, name, fmt::format("{}: signed, but has no .sbat section (shim and SBAT-enforcing firmware refuse it)", p));
      else add(Verdict::kPass, name, fmt::format("{}: signed by '{}' (in db), SBAT present", p, signer));
    }
  }

  // ---- 3. loader.conf and entries
  static std::vector<std::pair<std::string, std::string>> conf_lines(std::string_view text) {
    std::vector<std::pair<std::string, std::string>> out;
    while (!text.empty()) {
      size_t nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
      while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
      if (line.empty() || line[0] == '#') continue;
      size_t sp = line.find_first_of(" \t");
      std::string_view k = line.substr(0, sp), v = sp == std::string_view::npos ? "" : line.substr(sp + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      out.push_back({std::string(k), std::string(v)});
    }
    return out;
  }

  void entries() {
    std::string default_glob;
    if (!loader_conf_text_) {
      add(Verdict::kWarn, "loader.conf", "/loader/loader.conf missing: systemd-boot boots the first entry, no key enrollment");
    } else {
      static const std::set<std::string> known = {"timeout", "default", "editor", "auto-entries", "auto-firmware", "console-mode",
                                                  "secure-boot-enroll", "beep", "reboot-for-bitlocker", "random-seed-mode",
                                                  "auto-poweroff", "auto-reboot", "reboot-on-error"};
      std::string problems;
      Details d;
      for (auto& [k, v] : conf_lines(*loader_conf_text_)) {
        d.push_back({k, v});
        if (k == "default") default_glob = v;
        if (!known.count(k)) problems += fmt::format("{}unknown key '{}'", problems.empty() ? "" : "; ", k);
        if (k == "editor" && v != "no" && v != "0" && v != "false")
          problems += fmt::format("{}editor {}: the kernel command line can be edited at boot (a UKI ignores it, a type 1 entry does not)",
                                  problems.empty() ? "" : "; ", v);
      }
      if (problems.empty()) add(Verdict::kPass, "loader.conf", fmt::format("{} settings, default '{}'", d.size(), default_glob), d);
      else add(Verdict::kWarn, "loader.conf", problems, d);
    }
    auto names = esp_->list("/loader/entries");
    std::vector<EntryInfo> infos;
    // Type #2 entries: UKIs systemd-boot finds by itself in /EFI/Linux/.
    if (auto st = esp_->stat("/EFI/Linux"); st && *st && (*st)->type == FileInfo::kDir) {
      if (auto uk = esp_->list("/EFI/Linux")) {
        for (const auto& n : *uk) {
          if (n.size() < 5 || (n.substr(n.size() - 4) != ".efi" && n.substr(n.size() - 4) != ".EFI")) continue;
          EntryInfo e = parse_entry_name(n);
          e.efi = "/EFI/Linux/" + n;
          infos.push_back(e);
        }
      }
    }
    if (!names && infos.empty()) {
      add(Verdict::kFail, "entries", fmt::format("no /loader/entries and no UKI in /EFI/Linux: {}", names.error().message()));
      return;
    }
    if (!names) names = std::vector<std::string>{};
    for (const auto& n : *names) {
      if (!n.ends_with(".conf")) continue;
      EntryInfo e = parse_entry_name(n);
      auto text = esp_->read("/loader/entries/" + n);
      if (!text) {
        add(Verdict::kFail, "entry." + n, text.error().message());
        continue;
      }
      auto parsed = bls::parse_entry(as_string(*text));
      if (!parsed) {
        add(Verdict::kFail, "entry." + n, fmt::format("/loader/entries/{}: {}", n, parsed.error().message()));
        continue;
      }
      e.sort_key = parsed->get("sort-key").value_or("");
      e.version = parsed->get("version").value_or("");
      e.efi = parsed->get("efi").value_or(parsed->get("uki").value_or(""));
      if (e.efi.empty()) {
        add(Verdict::kFail, "entry." + n,
            parsed->get("linux") ? "a type 1 entry (linux/initrd/options): its command line and initrd are not signed"
                                 : "no 'efi' or 'uki' line");
        continue;
      }
      infos.push_back(e);
    }
    if (infos.empty()) {
      add(Verdict::kFail, "entries", "no boot entry with a UKI in /loader/entries, and no UKI in /EFI/Linux");
      return;
    }
    sort_entries(infos);
    size_t def = 0;
    if (!default_glob.empty()) {
      auto it = std::find_if(infos.begin(), infos.end(), [&](const EntryInfo& e) {
        return e.tries_left != 0 && (glob_match(default_glob, e.id) || glob_match(default_glob, e.id.substr(0, e.id.rfind('.'))));
      });
      if (it != infos.end()) def = static_cast<size_t>(it - infos.begin());
    }
    Details order;
    for (size_t i = 0; i < infos.size(); i++) order.push_back({std::to_string(i + 1), infos[i].id});
    add(infos[def].tries_left == 0 ? Verdict::kFail : Verdict::kPass, "entries",
        fmt::format("{} entries; default: {}{}", infos.size(), infos[def].id,
                    infos[def].tries_left == 0 ? " (but it has no tries left)" : ""),
        order);
    default_efi_ = infos[def].efi;
    for (size_t i = 0; i < infos.size(); i++) {
      const auto& e = infos[i];
      std::string link = "entry." + e.id;
      std::string counting = e.tries_left < 0 ? "" : fmt::format(", boot counting: {} tries left, {} done", e.tries_left, e.tries_done);
      auto st = esp_->stat(e.efi);
      bool is_default = i == def;
      Verdict bad = is_default ? Verdict::kFail : Verdict::kWarn;
      if (!st || !*st || (*st)->type != FileInfo::kFile) {
        add(bad, link, fmt::format("points at {}, which does not exist on the ESP", e.efi));
        continue;
      }
      if (e.tries_left == 0) {
        add(bad, link, fmt::format("{} has no tries left (+0): systemd-boot will skip it", e.efi));
      } else {
        add(Verdict::kPass, link, fmt::format("{}{} -> {}{}", is_default ? "default" : "position " + std::to_string(i + 1),
                                              "", e.efi, counting));
      }
      if (std::find(ukis_.begin(), ukis_.end(), e.efi) == ukis_.end()) ukis_.push_back(e.efi);
    }
  }

  // ---- 4. UKIs
  void check_uki(const std::string& path) {
    std::string base = path.substr(path.rfind('/') + 1);
    std::string prefix = "uki." + base + ".";
    bool is_default = path == default_efi_;
    auto data = esp_->read(path);
    if (!data) {
      add(Verdict::kFail, prefix + "file", data.error().message());
      return;
    }
    if (luks_) remember_pcr_sections(base, is_default, *data);
    // signature
    std::string signer;
    std::string prob = db_.empty() ? "no db to check the signature against" : signature_problem(*data, &signer);
    if (prob.empty()) add(Verdict::kPass, prefix + "signature", fmt::format("signed by '{}' (in db)", signer));
    else add(Verdict::kFail, prefix + "signature", prob);
    // sections
    auto insp = uki::inspect(*data);
    if (!insp) {
      add(Verdict::kFail, prefix + "sections", insp.error().message());
      return;
    }
    std::vector<std::string> missing;
    for (const char* s : {".linux", ".cmdline", ".osrel", ".initrd", ".sbat"}) {
      bool have = std::any_of(insp->sections.begin(), insp->sections.end(), [&](auto& x) { return x.name == s; });
      if (!have) missing.push_back(s);
    }
    Details secs;
    for (auto& s : insp->sections) secs.push_back({s.name, fmt::format("{} bytes", s.virtual_size)});
    if (!missing.empty())
      add(Verdict::kFail, prefix + "sections", fmt::format("missing {}", fmt::join(missing, ", ")), secs);
    else
      add(Verdict::kPass, prefix + "sections",
          fmt::format("{} sections, kernel {}", insp->sections.size(), insp->uname.value_or("(no .uname)")), secs);
    // the stub's architecture and whether it can start this .linux (systemd-stub 254's rules)
    if (std::string ap = arch_problem(*data); !ap.empty()) {
      add(Verdict::kFail, prefix + "kernel", fmt::format("the UKI's stub is {}", ap));
    } else if (auto lx = std::find_if(insp->sections.begin(), insp->sections.end(), [](auto& x) { return x.name == ".linux"; });
               lx != insp->sections.end()) {
      uint64_t n = std::min(lx->virtual_size, lx->raw_size);
      if (lx->file_offset > data->size() || n > data->size() - lx->file_offset) {
        add(Verdict::kFail, prefix + "kernel", ".linux lies past the end of the file");
      } else {
        auto kc = uki::check_kernel_for_stub(ByteSpan(*data).subspan(lx->file_offset, n), *data);
        if (!kc) add(Verdict::kFail, prefix + "kernel", kc.error().message());
        else if (!kc->warnings.empty()) add(Verdict::kWarn, prefix + "kernel", fmt::format("{}", fmt::join(kc->warnings, "; ")));
        else add(Verdict::kPass, prefix + "kernel", fmt::format("{} stub and .linux (a {} PE the stub can start)", arch_name(kc->arch), arch_name(kc->arch)));
      }
    }
    std::string cmdline = insp->cmdline.value_or("");
    while (!cmdline.empty() && (cmdline.back() == '\0' || cmdline.back() == '\n' || cmdline.back() == ' ')) cmdline.pop_back();
    // composefs karg
    std::string digest;
    bls::KargHash hash = bls::KargHash::kSha512;
    if (root_) {
      if (auto meta = root_->read("/composefs/meta.json")) {
        if (auto m = store::parse_meta(*meta); m && m->algorithm == crypto::HashAlg::kSha256) hash = bls::KargHash::kSha256;
      }
    }
    auto karg = bls::parse_composefs_karg(cmdline, hash);
    if (!karg) {
      add(Verdict::kFail, prefix + "composefs", fmt::format("composefs karg: {}", karg.error().message()));
    } else if (!*karg) {
      add(Verdict::kFail, prefix + "composefs", "no composefs= karg in .cmdline: the initrd has no signed digest to check the root against");
    } else {
      digest = to_hex((*karg)->digest);
      if ((*karg)->insecure)
        add(Verdict::kFail, prefix + "composefs",
            fmt::format("composefs=?{}: insecure, the root is mounted without requiring fs-verity", short_digest(digest)));
      else
        add(Verdict::kPass, prefix + "composefs", fmt::format("composefs={} (secure)", digest));
    }
    add(Verdict::kPass, prefix + "cmdline", cmdline.empty() ? "(empty)" : cmdline);
    if (!policy_.empty()) {
      auto broken = check_policy(policy_, cmdline);
      if (broken.empty()) add(Verdict::kPass, prefix + "policy", fmt::format("{} rules of {} hold", policy_.size(), o_.policy_file));
      else add(Verdict::kFail, prefix + "policy", fmt::format("{}", fmt::join(broken, "; ")));
    }
    pcrsig(*data, prefix);
    if (!digest.empty() && std::find(digests_.begin(), digests_.end(), digest) == digests_.end()) {
      digests_.push_back(digest);
      digest_default_.push_back(is_default);
    }
  }

  void pcrsig(ByteSpan file, const std::string& prefix) {
    std::string link = prefix + "pcrsig";
    auto img = pe::parse(file);
    if (!img) return;
    const pe::Section* ps = img->find(".pcrsig");
    const pe::Section* pk = img->find(".pcrpkey");
    if (!ps) {
      if (!pcr_key_.empty()) add(Verdict::kFail, link, "no .pcrsig, but --pcr-public-key says the UKI must carry a signed PCR 11 policy");
      else if (luks_) add(Verdict::kPass, link, "no .pcrsig (whether the LUKS2 root's token needs one: root.luks.pcrpkey)");
      else add(Verdict::kPass, link, "no .pcrsig (none needed: the root is not encrypted)");
      return;
    }
    std::string text(as_string(pe::section_data(file, *ps)));
    while (!text.empty() && text.back() == '\0') text.pop_back();
    auto doc = tpm2::parse_pcrsig(text);
    if (!doc) {
      add(Verdict::kFail, link, fmt::format(".pcrsig: {}", doc.error().message()));
      return;
    }
    std::vector<Bytes> storage;
    auto secs = measure::sections_from_uki(file, storage);
    if (!secs) {
      add(Verdict::kFail, link, secs.error().message());
      return;
    }
    std::vector<std::string> problems;
    if (!pcr_key_.empty()) {
      if (!pk) problems.push_back("no .pcrpkey");
      else {
        auto der = crypto::public_key_der_from_pem(pe::section_data(file, *pk), ".pcrpkey");
        if (!der || *der != pcr_key_) problems.push_back(".pcrpkey is not the --pcr-public-key");
      }
    }
    auto matches = measure::match_pcrsig(*secs, *doc);
    size_t good = 0;
    bool enter_initrd = false;
    for (auto& m : matches) {
      std::string bank(crypto::hash_name(m.bank));
      bool ok = true;
      if (!m.phase_path) {
        problems.push_back(fmt::format("{} policy is not for PCR 11 as predicted from this UKI's sections", bank));
        ok = false;
      }
      if (!m.pkfp_matches_pcrpkey.value_or(false)) {
        problems.push_back(fmt::format("{} policy is signed by a key other than .pcrpkey", bank));
        ok = false;
      } else if (!m.signature_valid.value_or(false)) {
        problems.push_back(fmt::format("{} policy signature does not verify", bank));
        ok = false;
      }
      if (ok) {
        good++;
        if (*m.phase_path == "enter-initrd") enter_initrd = true;
      }
    }
    if (matches.empty()) problems.push_back("no policy entries");
    if (problems.empty() && !enter_initrd) problems.push_back("no policy for the enter-initrd phase (where the root is unlocked)");
    std::sort(problems.begin(), problems.end());
    problems.erase(std::unique(problems.begin(), problems.end()), problems.end());
    if (problems.empty()) add(Verdict::kPass, link, fmt::format("{} signed PCR 11 policies match this UKI and verify with .pcrpkey", good));
    else add(Verdict::kFail, link, fmt::format("{}", fmt::join(problems, "; ")));
  }

  // ---- 6. a LUKS2 root: its TPM token, the PCRs it binds, the UKIs' .pcrpkey, a way back
  struct UkiPcrKey {
    std::string file;
    bool is_default = false;
    std::optional<Bytes> pcrpkey;  // SPKI DER of .pcrpkey (nullopt: none or unusable)
    std::string pcrpkey_problem;
    std::optional<tpm2::PcrSigDocument> pcrsig;
  };
  void remember_pcr_sections(const std::string& file, bool is_default, ByteSpan data) {
    UkiPcrKey u;
    u.file = file;
    u.is_default = is_default;
    auto img = pe::parse(data);
    if (img) {
      if (const pe::Section* pk = img->find(".pcrpkey")) {
        auto der = crypto::public_key_der_from_pem(pe::section_data(data, *pk), ".pcrpkey");
        if (der) u.pcrpkey = *der;
        else u.pcrpkey_problem = der.error().message();
      }
      if (const pe::Section* ps = img->find(".pcrsig")) {
        std::string text(as_string(pe::section_data(data, *ps)));
        while (!text.empty() && text.back() == '\0') text.pop_back();
        if (auto doc = tpm2::parse_pcrsig(text)) u.pcrsig = std::move(*doc);
      }
    }
    uki_keys_.push_back(std::move(u));
  }

  void luks() {
    auto hdr = tpm2::parse_luks2_header(luks_data_);
    if (!hdr) {
      add(Verdict::kFail, "root.luks", fmt::format("{}: {}", luks_where_, hdr.error().message()));
      return;
    }
    Details hd = {{"uuid", hdr->uuid}, {"label", hdr->label}, {"seqid", std::to_string(hdr->seqid)}};
    for (auto& [id, ks] : hdr->keyslots) hd.push_back({fmt::format("keyslot {}", id), fmt::format("{} {}", ks.type, ks.kdf)});
    std::vector<std::pair<int, tpm2::Tpm2Token>> tpm;
    std::vector<std::pair<int, std::vector<int>>> recovery;
    std::set<int> claimed;
    std::vector<std::string> token_problems;
    for (auto& [id, json] : hdr->tokens) {
      auto th = tpm2::parse_token_header(json);
      if (!th) {
        token_problems.push_back(fmt::format("token {}: {}", id, th.error().message()));
        continue;
      }
      hd.push_back({fmt::format("token {}", id), fmt::format("{} keyslots {}", th->type, fmt::join(th->keyslots, ","))});
      for (int k : th->keyslots) claimed.insert(k);
      if (th->type == tpm2::kTokenTypeTpm2) {
        auto t = tpm2::parse_tpm2_token(json);
        if (!t) token_problems.push_back(fmt::format("token {} (systemd-tpm2): {}", id, t.error().message()));
        else tpm.push_back({id, std::move(*t)});
      } else if (th->type == tpm2::kTokenTypeRecovery) {
        recovery.push_back({id, th->keyslots});
      }
    }
    std::string summary = fmt::format("{}: LUKS2 {}, {} keyslot(s), {} token(s)", luks_where_, hdr->uuid, hdr->keyslots.size(),
                                      hdr->tokens.size());
    if (!hdr->damaged.empty()) add(Verdict::kWarn, "root.luks", fmt::format("{}; one header copy is unusable: {}", summary, hdr->damaged), hd);
    else add(Verdict::kPass, "root.luks", summary, hd);

    // The TPM token(s): present, naming a keyslot that exists, and what they bind.
    std::optional<Bytes> token_key;  // the signed-policy key of the first token with one (SPKI DER)
    std::string token_bank;
    uint32_t token_pubkey_mask = 0;
    if (tpm.empty()) {
      add(Verdict::kFail, "root.luks.tpm2",
          token_problems.empty()
              ? "no systemd-tpm2 token: the initrd cannot unseal the key from the TPM and asks for a passphrase"
              : fmt::format("no usable systemd-tpm2 token: {}", fmt::join(token_problems, "; ")));
    } else {
      std::vector<std::string> parts, problems = token_problems, warnings;
      Details d;
      for (auto& [id, t] : tpm) {
        std::string bank = t.pcr_bank ? std::string(crypto::hash_name(*t.pcr_bank)) : "sha256";
        std::string what = fmt::format("token {} (keyslot {})", id, fmt::join(t.keyslots, ","));
        for (int k : t.keyslots)
          if (!hdr->keyslots.count(k)) problems.push_back(fmt::format("{}: keyslot {} does not exist", what, k));
        std::string binds;
        if (!t.pcrs.empty()) binds = fmt::format("PCR {} ({}) by value", fmt::join(t.pcrs, "+"), bank);
        std::string fp;
        if (t.pubkey_pem) {
          auto spki = crypto::public_key_der_from_pem(as_bytes(*t.pubkey_pem), "tpm2_pubkey");
          if (!spki) {
            problems.push_back(fmt::format("{}: tpm2_pubkey: {}", what, spki.error().message()));
          } else {
            if (auto f = tpm2::public_key_fingerprint(*spki)) fp = to_hex(*f);
            if (!token_key) {
              token_key = *spki;
              token_bank = bank;
              token_pubkey_mask = t.pubkey_pcr_mask();
            }
          }
          std::vector<unsigned> pp = t.pubkey_pcrs.value_or(std::vector<unsigned>{11});
          binds += fmt::format("{}PCR {} by a policy signed with key {}", binds.empty() ? "" : ", ", fmt::join(pp, "+"),
                               fp.empty() ? "?" : short_digest(fp));
          if (std::find(pp.begin(), pp.end(), 11u) == pp.end())
            warnings.push_back(fmt::format("{}: the signed policy does not cover PCR 11 (the UKI)", what));
        }
        if (std::find(t.pcrs.begin(), t.pcrs.end(), 11u) != t.pcrs.end())
          warnings.push_back(fmt::format("{}: PCR 11 bound by value: the next UKI update will not unlock (bind it by a signed policy)", what));
        if (binds.empty()) {
          binds = "no PCR";
          warnings.push_back(fmt::format("{}: bound to no PCR: any boot chain unseals the key", what));
        }
        if (t.uses_pin()) binds += ", with a PIN";
        parts.push_back(fmt::format("{}: {}", what, binds));
        d.push_back({fmt::format("token {}", id), binds});
        if (!fp.empty()) d.push_back({fmt::format("token {} pkfp", id), fp});
        d.push_back({fmt::format("token {} bank", id), bank});
      }
      if (!problems.empty()) add(Verdict::kFail, "root.luks.tpm2", fmt::format("{}", fmt::join(problems, "; ")), d);
      else if (!warnings.empty()) add(Verdict::kWarn, "root.luks.tpm2", fmt::format("{}", fmt::join(warnings, "; ")), d);
      else add(Verdict::kPass, "root.luks.tpm2", fmt::format("{}", fmt::join(parts, "; ")), d);
    }

    // Each UKI's .pcrpkey (and .pcrsig) against the token's signed-policy key.
    if (!tpm.empty()) {
      if (!token_key) {
        add(Verdict::kPass, "root.luks.pcrpkey", "the TPM token binds PCR values only: no signed policy, .pcrpkey not used");
      } else {
        auto fp_of = [](const Bytes& spki) {
          auto f = tpm2::public_key_fingerprint(spki);
          return f ? *f : Bytes{};
        };
        Bytes token_fp = fp_of(*token_key);
        std::vector<std::string> fails, warns, oks;
        for (const auto& u : uki_keys_) {
          std::string problem;
          if (!u.pcrpkey)
            problem = u.pcrpkey_problem.empty() ? "has no .pcrpkey" : ".pcrpkey: " + u.pcrpkey_problem;
          else if (*u.pcrpkey != *token_key)
            problem = fmt::format(".pcrpkey (fingerprint {}) is not the token's tpm2_pubkey ({}): the TPM will not accept its .pcrsig",
                                  short_digest(to_hex(fp_of(*u.pcrpkey))),
                                  short_digest(to_hex(token_fp)));
          else if (!u.pcrsig)
            problem = "has no usable .pcrsig: nothing to satisfy the token's signed policy";
          else {
            auto bank = crypto::parse_hash_name(token_bank);
            auto sig = bank ? tpm2::find_signature(*u.pcrsig, *bank, token_pubkey_mask, token_fp, {})
                            : Result<tpm2::PcrSignature>(Error(bank.error()));
            // find_signature with no policy digest: only the bank, PCR mask and key are checked here (the pcrsig link
            // checked the digests).
            if (!sig && sig.error().message().find("current PCR values") == std::string::npos)
              problem = fmt::format(".pcrsig has no {} entry for PCR mask 0x{:x} with the token's key: {}", token_bank,
                                    token_pubkey_mask, sig.error().message());
          }
          if (problem.empty()) oks.push_back(u.file);
          else (u.is_default ? fails : warns).push_back(fmt::format("{} {}", u.file, problem));
        }
        if (uki_keys_.empty()) fails.push_back("no UKI to check against the token's key");
        Details d = {{"token pkfp", to_hex(token_fp)}};
        if (!fails.empty()) add(Verdict::kFail, "root.luks.pcrpkey", fmt::format("{}", fmt::join(fails, "; ")), d);
        else if (!warns.empty()) add(Verdict::kWarn, "root.luks.pcrpkey", fmt::format("{}", fmt::join(warns, "; ")), d);
        else add(Verdict::kPass, "root.luks.pcrpkey",
                 fmt::format("the .pcrpkey of {} is the token's tpm2_pubkey ({}), with a {} .pcrsig entry", fmt::join(oks, ", "),
                             short_digest(to_hex(token_fp)), token_bank), d);
      }
    }

    // A way back: a recovery key (systemd-recovery token) or a passphrase keyslot (no token claims it).
    std::vector<std::string> ways;
    for (auto& [id, slots] : recovery)
      for (int k : slots)
        if (hdr->keyslots.count(k)) ways.push_back(fmt::format("recovery key in keyslot {} (token {})", k, id));
    for (auto& [k, ks] : hdr->keyslots)
      if (!claimed.count(k)) ways.push_back(fmt::format("passphrase keyslot {}", k));
    if (ways.empty())
      add(Verdict::kWarn, "root.luks.recovery",
          "no recovery key and no passphrase keyslot: if the PCRs change or the TPM is lost or cleared, the data is lost");
    else
      add(Verdict::kPass, "root.luks.recovery", fmt::format("{}", fmt::join(ways, "; ")));
  }

  // ---- 5. root
  void root() {
    if (!root_ && luks_) {
      add(Verdict::kWarn, "root", "encrypted (LUKS2): the image, its objects and the deployment cannot be checked offline "
                                  "(the initrd checks the image's digest after unlocking)");
      return;
    }
    if (!root_) {
      add(Verdict::kFail, "root", "no root filesystem to check");
      return;
    }
    auto meta = root_->read("/composefs/meta.json");
    if (!meta) add(Verdict::kWarn, "root.repository", "/composefs/meta.json missing: a repository made by an old bootc?");
    else if (auto m = store::parse_meta(*meta); !m) add(Verdict::kFail, "root.repository", fmt::format("/composefs/meta.json: {}", m.error().message()));
    else add(Verdict::kPass, "root.repository", fmt::format("/composefs: fsverity-{}-12, EROFS V{}", crypto::hash_name(m->algorithm), m->erofs_default));
    if (digests_.empty()) {
      add(Verdict::kFail, "root.image", "no UKI names a composefs image, so no root can be checked");
      return;
    }
    for (size_t i = 0; i < digests_.size(); i++) check_image(digests_[i], digest_default_[i]);
  }

  void check_image(const std::string& digest, bool is_default) {
    std::string sd = short_digest(digest);
    std::string p = "root." + sd + ".";
    Verdict bad = is_default ? Verdict::kFail : Verdict::kWarn;
    std::string img_path = "/composefs/images/" + digest;
    auto image = root_->read(img_path);
    if (!image) {
      add(bad, p + "image", fmt::format("{} is missing: the initrd cannot mount the root", img_path));
      return;
    }
    add(Verdict::kPass, p + "image", fmt::format("{} ({} bytes)", img_path, image->size()));
    fsverity::Params params;
    params.alg = digest.size() == 128 ? crypto::HashAlg::kSha512 : crypto::HashAlg::kSha256;
    params.block_size = 4096;
    std::string got = to_hex(fsverity::digest_buffer(*image, params));
    if (got != digest)
      add(bad, p + "image-digest", fmt::format("{}: its fs-verity digest is {}, not the {} the UKI is sealed to (the initrd refuses it)",
                                               img_path, got, digest));
    else
      add(Verdict::kPass, p + "image-digest", "the image's fs-verity digest equals the signed composefs= digest");
    auto tree = composefs::read_image(*image);
    if (!tree) {
      // A plain EROFS (mkfs.erofs, no composefs header): objects named by overlay redirect xattrs.
      erofs::ReadLimits limits;
      auto raw = erofs::read_image(*image, limits);
      if (!raw) {
        add(bad, p + "objects", fmt::format("{}: not a composefs image: {}", img_path, tree.error().message()));
        return;
      }
      fstree::walk(*raw, [&](const std::string&, const fstree::Entry*, const fstree::Node& cn) {
        auto& n = const_cast<fstree::Node&>(cn);
        for (const auto& x : n.xattrs)
          if (x.name == "trusted.overlay.redirect" && n.is_reg()) {
            std::string v = x.value;
            if (!v.empty() && v[0] == '/') v.erase(0, 1);
            if (auto nul = v.find('\0'); nul != std::string::npos) v.resize(nul);
            n.payload = v;
            n.content.clear();
          }
        return true;
      });
      tree = std::move(raw);
    }
    std::map<std::string, std::vector<std::string>> users;  // object -> paths
    std::map<std::string, uint64_t> sizes;
    fstree::walk(*tree, [&](const std::string& path, const fstree::Entry*, const fstree::Node& n) {
      if (n.is_reg() && n.payload && n.content.empty() && n.size > 0) {
        auto& u = users[*n.payload];
        if (u.size() < 3) u.push_back(path);
        sizes[*n.payload] = n.size;
      }
      return true;
    });
    std::vector<std::string> objs;
    for (auto& [k, v] : users) objs.push_back(k);
    std::vector<std::string> missing, wrong_size;
    size_t with_verity = 0, verity_known = 0;
    uint64_t total = 0;
    for (const auto& o : objs) {
      auto st = root_->stat("/composefs/objects/" + o);
      if (!st || !*st || (*st)->type != FileInfo::kFile) {
        missing.push_back(o);
        continue;
      }
      if ((*st)->size != sizes[o]) wrong_size.push_back(o);
      if ((*st)->verity) {
        verity_known++;
        with_verity += *(*st)->verity;
      }
      total += (*st)->size;
    }
    auto name_users = [&](const std::string& o) {
      return fmt::format("{} (used by {})", o, fmt::join(users[o], ", "));
    };
    std::vector<std::string> problems;
    for (size_t i = 0; i < missing.size() && i < 3; i++) problems.push_back("missing " + name_users(missing[i]));
    for (size_t i = 0; i < wrong_size.size() && i < 3; i++) problems.push_back("wrong size " + name_users(wrong_size[i]));
    if (missing.size() + wrong_size.size() > 6) problems.push_back(fmt::format("{} objects in all", missing.size() + wrong_size.size()));
    if (!problems.empty())
      add(bad, p + "objects", fmt::format("{} of {} objects missing, {} of the wrong size: {}", missing.size(), objs.size(),
                                          wrong_size.size(), fmt::join(problems, "; ")));
    else
      add(Verdict::kPass, p + "objects", fmt::format("all {} objects present ({} bytes){}", objs.size(), total,
                                                     verity_known == 0 ? ""
                                                     : with_verity == verity_known
                                                         ? ", fs-verity enabled on all"
                                                         : fmt::format(", fs-verity on {} (the first boot enables it on the rest)", with_verity)));
    if (o_.deep) deep(objs, users, params, p, bad);
    deployment(digest, p, bad);
  }

  void deep(const std::vector<std::string>& objs, std::map<std::string, std::vector<std::string>>& users,
            const fsverity::Params& params, const std::string& p, Verdict bad) {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::string> result(objs.size());
    std::atomic<uint64_t> bytes{0};
    auto one = [&](size_t i) {
      std::string name = objs[i];
      std::string expect = name;
      expect.erase(std::remove(expect.begin(), expect.end(), '/'), expect.end());
      auto data = root_->read("/composefs/objects/" + name);
      if (!data) return;  // missing: reported above
      bytes += data->size();
      std::string got = to_hex(fsverity::digest_buffer(*data, params));
      if (got != expect) result[i] = got;
    };
    if (root_->thread_safe_read()) par::parallel_for(objs.size(), one);
    else for (size_t i = 0; i < objs.size(); i++) one(i);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    report_.deep_bytes += bytes;
    report_.deep_seconds += secs;
    std::vector<std::string> problems;
    for (size_t i = 0; i < objs.size(); i++)
      if (!result[i].empty())
        problems.push_back(fmt::format("object {} has fs-verity digest {} (used by {}): the first boot refuses to switch root",
                                       objs[i], short_digest(result[i]), fmt::join(users[objs[i]], ", ")));
    double mbs = secs > 0 ? static_cast<double>(bytes) / 1e6 / secs : 0;
    if (!problems.empty()) {
      size_t n = problems.size();
      if (n > 3) problems.resize(3);
      add(bad, p + "objects-deep", fmt::format("{} of {} objects do not hash to their name: {}", n, objs.size(), fmt::join(problems, "; ")));
    } else {
      add(Verdict::kPass, p + "objects-deep",
          fmt::format("all {} objects hash to their names ({:.1f} MB in {:.2f} s, {:.0f} MB/s)", objs.size(),
                      static_cast<double>(bytes) / 1e6, secs, mbs));
    }
  }

  void deployment(const std::string& digest, const std::string& p, Verdict bad) {
    std::string dep = "/state/deploy/" + digest;
    std::vector<std::string> problems;
    auto etc = root_->stat(dep + "/etc");
    if (!etc || !*etc || (*etc)->type != FileInfo::kDir) problems.push_back(dep + "/etc is missing");
    auto var = root_->stat(dep + "/var");
    if (!var || !*var) problems.push_back(dep + "/var is missing");
    else if ((*var)->type == FileInfo::kSymlink) {
      auto target = root_->readlink(dep + "/var");
      if (target) {
        std::string resolved = *target;
        if (!resolved.empty() && resolved[0] != '/') {
          // relative to the deployment directory: ../../os/default/var -> /state/os/default/var
          std::string base = dep;
          std::string_view r = resolved;
          while (r.starts_with("../")) {
            base = base.substr(0, base.rfind('/'));
            r.remove_prefix(3);
          }
          resolved = base + "/" + std::string(r);
        }
        auto vt = root_->stat(resolved);
        if (!vt || !*vt) problems.push_back(fmt::format("{}/var -> {}, which does not exist", dep, *target));
      }
    }
    auto origin = root_->read(dep + "/" + digest + ".origin");
    if (!origin) problems.push_back(fmt::format("{}/{}.origin is missing", dep, short_digest(digest)));
    else if (as_string(*origin).find(digest) == std::string_view::npos)
      problems.push_back(fmt::format("{}.origin does not name the image", short_digest(digest)));
    if (problems.empty()) add(Verdict::kPass, p + "deployment", fmt::format("{}: etc/, var, origin", dep));
    else add(bad, p + "deployment", fmt::format("{}", fmt::join(problems, "; ")));
  }

  const Options& o_;
  int64_t now_;
  Report report_;
  std::vector<std::unique_ptr<sys::MappedFile>> maps_;
  std::unique_ptr<FsView> esp_, root_;
  std::vector<Trusted> db_;
  std::vector<PolicyRule> policy_;
  Bytes pcr_key_;
  std::optional<std::string> loader_conf_text_;
  std::vector<std::string> ukis_;
  std::string default_efi_;
  std::vector<std::string> digests_;
  std::vector<bool> digest_default_;
  bool luks_ = false;
  ByteSpan luks_data_;
  std::string luks_where_;
  std::vector<UkiPcrKey> uki_keys_;
  std::optional<Arch> root_arch_;  // from the root partition's type
  Arch arch_ = Arch::kX86_64;
  std::string arch_from_ = "the default";
};

}  // namespace

Result<Report> run(const Options& o) {
  if (o.targets.empty() || o.targets.size() > 2) return input_error("verify: give one TARGET, or an ESP and a root directory");
  Walker w(o);
  return w.run();
}

}  // namespace bootseal::verify
