// bootseal status | upgrade | switch | rollback: the life cycle of a sealed
// system (src/deploy/lifecycle.h). On a booted sealed system the physical
// root is /sysroot and the booted deployment comes from /proc/cmdline;
// offline (a mounted or staged disk) give --sysroot and --esp.
#include <cctype>
#include <cstdio>
#include <cstdlib>

#include "base/hex.h"
#include "bls/karg.h"
#include "cli/command.h"
#include "boot/esp.h"
#include "cli/repo_util.h"
#include "deploy/lifecycle.h"
#include "oci/transport.h"
#include "efivar/auth.h"
#include "seal/seal.h"
#include "store/import.h"
#include "store/source.h"
#include "sys/flock.h"
#include "sys/process.h"
#include "sys/space.h"
#include "sys/file.h"
#include "sys/tree.h"
#include "uki/uki.h"

namespace bootseal::cli {
namespace {

struct SysrootFlags {
  std::string sysroot, esp, booted_digest;
};

void add_sysroot_flags(CLI::App* c, SysrootFlags& f) {
  // The physical root is the repository root (<root>/composefs), so --repo
  // names it too, as for every other command that touches a repository.
  c->add_option("--sysroot,--repo", f.sysroot,
                "Physical root holding composefs/ (the repository) and state/ (default $BOOTSEAL_REPO, else on a sealed system /sysroot)");
  c->add_option("--esp", f.esp, "ESP mount point (default: the first of /efi, /boot/efi, /boot with boot entries)");
  c->add_option("--booted-digest", f.booted_digest,
                "Digest of the running deployment (default: from /proc/cmdline on a sealed system; offline: none)");
}

Result<deploy::Sysroot> resolve_sysroot(const SysrootFlags& f) {
  deploy::Sysroot s;
  const char* env = std::getenv("BOOTSEAL_REPO");
  if (!f.sysroot.empty()) {
    s.root = f.sysroot;
  } else if (env && *env) {
    s.root = env;  // the repository root is the physical root
  } else if (sys::path_exists(std::string(kBootedSysroot) + "/composefs") && booted_digest()) {
    s.root = kBootedSysroot;
    s.booted = booted_digest();
  } else {
    return input_error("not running on a sealed system (no {}/composefs or no composefs= on /proc/cmdline): "
                       "give --sysroot DIR (or $BOOTSEAL_REPO) and --esp DIR", kBootedSysroot);
  }
  if (!sys::path_exists(s.root + "/composefs/meta.json"))
    return input_error("{}: no composefs/meta.json: not the root of a sealed system", s.root);
  if (!f.booted_digest.empty()) {
    if (!is_hex(f.booted_digest) || (f.booted_digest.size() != 64 && f.booted_digest.size() != 128))
      return usage_error("--booted-digest '{}' is not a 64 or 128 hex digit digest", f.booted_digest);
    s.booted = f.booted_digest;
  }
  if (!f.esp.empty()) {
    s.esp = f.esp;
    if (!sys::path_exists(s.esp)) return input_error("--esp {}: no such directory", s.esp);
  } else {
    for (const char* c : {"/efi", "/boot/efi", "/boot"})
      if (sys::path_exists(std::string(c) + "/loader/entries") || sys::path_exists(std::string(c) + "/EFI/Linux/bootc")) {
        s.esp = c;
        break;
      }
    if (s.esp.empty()) return input_error("no ESP with boot entries at /efi, /boot/efi or /boot: mount it or give --esp DIR");
  }
  return s;
}

// Two life-cycle commands never run at once: an exclusive flock on the
// physical root's state/ directory (the repository's own lock on composefs/
// is shared by importers, so it cannot be used).
Result<sys::FileLock> lock_sysroot(const deploy::Sysroot& s) {
  const std::string state = s.root + "/state";
  if (!sys::path_exists(state)) BS_TRY(sys::mkdir_p(state));
  auto l = sys::FileLock::acquire(state, sys::FileLock::Mode::kExclusive, false);
  if (!l.ok())
    return Error(ErrorKind::kIo, fmt::format("{}: another bootseal life-cycle command is running (it holds the lock on "
                                               "{}); try again when it is done", s.root, state));
  return l;
}

// "oci-archive:/x.tar" -> {"oci-archive", "/x.tar"} (bootc's ImageReference).
std::pair<std::string, std::string> split_transport(const std::string& source) {
  for (const char* t : {"oci-archive", "docker-archive", "oci", "dir", "registry", "docker", "containers-storage"}) {
    std::string p = std::string(t) + ":";
    if (source.starts_with(p)) return {t, source.substr(p.size())};
  }
  return {"dir", source};
}

// RFC 3339 without the fraction, as bootc's human output shows it.
std::string seconds_only(const std::string& t) {
  size_t dot = t.find('.');
  if (dot == std::string::npos) return t;
  size_t end = t.find_first_not_of("0123456789", dot + 1);
  return t.substr(0, dot) + (end == std::string::npos ? "" : t.substr(end));
}

struct EntryView {
  const deploy::DeploymentStatus* d = nullptr;
  std::optional<store::ImageRecord> record;
};

// One bootc BootEntry (spec.rs), with our own fields under "bootseal".
nlohmann::json boot_entry_json(const EntryView& v, bool download_only) {
  const deploy::DeploymentStatus& d = *v.d;
  nlohmann::json image = nullptr;
  if (!d.source.empty()) {
    auto [transport, name] = split_transport(d.source);
    const store::ImageRecord* r = v.record ? &*v.record : nullptr;
    image = {{"image", {{"image", name}, {"transport", transport}}},
             {"version", r && !r->version.empty() ? nlohmann::json(r->version) : nlohmann::json(nullptr)},
             {"timestamp", r && !r->created.empty() ? nlohmann::json(r->created) : nlohmann::json(nullptr)},
             {"imageDigest", !d.manifest_digest.empty() ? d.manifest_digest : r ? r->manifest_digest : ""},
             {"architecture", r ? r->architecture : ""}};
  }
  nlohmann::json ours = {{"role", d.role},
                         {"booted", d.booted},
                         {"entry", d.entry.file.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.entry.file)},
                         {"title", d.entry.title},
                         {"uki", boot::uki_path(d.digest)},
                         {"source", d.source},
                         {"manifestDigest", d.manifest_digest},
                         {"ukiPresent", d.uki_present},
                         {"imagePresent", d.image_present},
                         {"statePresent", d.state_present}};
  ours["bootCounting"] = d.entry.tries_left < 0 ? nlohmann::json(nullptr)
                                                : nlohmann::json{{"triesLeft", d.entry.tries_left},
                                                                 {"triesDone", d.entry.tries_done},
                                                                 {"failed", d.entry.failed()}};
  if (v.record) {
    ours["erofsFormat"] = fmt::format("v{}", v.record->format);
    ours["xattrs"] = v.record->xattrs;
  }
  return {{"image", image},
          {"cachedUpdate", nullptr},
          {"incompatible", false},
          {"pinned", false},
          {"softRebootCapable", false},
          {"downloadOnly", download_only},
          {"store", nullptr},
          {"ostree", nullptr},
          {"composefs",
           {{"verity", d.digest}, {"bootType", "Uki"}, {"bootloader", "systemd"}, {"bootDigest", nullptr},
            {"missingVerityAllowed", false}}},
          {"bootseal", ours}};
}

// The slots bootc shows. Booted: the running deployment (offline, when no
// --booted-digest is given, the default entry stands in for it: the system
// as it would come up). Rollback: the other listed entry.
struct Slots {
  const deploy::DeploymentStatus *staged = nullptr, *booted = nullptr, *rollback = nullptr;
  std::vector<const deploy::DeploymentStatus*> other;
  bool rollback_queued = false;
};

Slots slots_of(const deploy::SystemStatus& st, const deploy::Sysroot& s) {
  Slots sl;
  if (st.staged) sl.staged = &*st.staged;
  std::vector<const deploy::DeploymentStatus*> listed;
  for (auto& d : st.deployments)
    if (d.role != "unlisted") listed.push_back(&d);
  // What systemd-boot boots next: the first entry in menu order with tries left.
  const deploy::DeploymentStatus* next = nullptr;
  for (auto* d : listed)
    if (!next && !d->entry.failed()) next = d;
  for (auto* d : listed)
    if (d->booted) sl.booted = d;
  if (!sl.booted && !s.booted) sl.booted = next;
  for (auto* d : listed)
    if (d != sl.booted && !sl.rollback) sl.rollback = d;
  for (auto& d : st.deployments)
    if (&d != sl.booted && &d != sl.rollback) sl.other.push_back(&d);
  sl.rollback_queued = sl.booted && sl.rollback && next == sl.rollback;
  return sl;
}

nlohmann::json host_json(const deploy::SystemStatus& st, const deploy::Sysroot& s, const store::Repository* repo,
                         bool only_booted) {
  Slots sl = slots_of(st, s);
  auto view = [&](const deploy::DeploymentStatus* d) {
    EntryView v;
    v.d = d;
    if (repo && d->image_present) {
      auto r = store::find_image(*repo, d->digest);
      if (r.ok()) v.record = r->second;
    }
    return v;
  };
  auto entry = [&](const deploy::DeploymentStatus* d) -> nlohmann::json {
    if (!d) return nullptr;
    return boot_entry_json(view(d), false);
  };
  nlohmann::json status;
  status["staged"] = only_booted ? nlohmann::json(nullptr) : entry(sl.staged);
  status["booted"] = entry(sl.booted);
  status["rollback"] = only_booted ? nlohmann::json(nullptr) : entry(sl.rollback);
  nlohmann::json other = nlohmann::json::array();
  for (auto* d : sl.other) other.push_back(entry(d));
  if (!other.empty()) status["otherDeployments"] = other;
  status["rollbackQueued"] = sl.rollback_queued;
  status["type"] = sl.booted ? nlohmann::json("bootcHost") : nlohmann::json(nullptr);
  nlohmann::json spec_image = nullptr;
  const deploy::DeploymentStatus* next = sl.staged ? sl.staged : sl.booted;
  if (next && !next->source.empty()) {
    auto [transport, name] = split_transport(next->source);
    spec_image = {{"image", name}, {"transport", transport}};
  }
  nlohmann::json ours = {{"sysroot", s.root},
                         {"esp", s.esp},
                         {"bootedDigest", s.booted ? nlohmann::json(*s.booted) : nlohmann::json(nullptr)},
                         {"finalizeFailed", st.finalize_failed.empty() ? nlohmann::json(nullptr) : nlohmann::json(st.finalize_failed)},
                         {"problems", st.problems}};
  return {{"apiVersion", "org.containers.bootc/v1"},
          {"kind", "BootcHost"},
          {"metadata", {{"name", "host"}}},
          {"spec", {{"image", spec_image}, {"bootOrder", sl.rollback_queued ? "rollback" : "default"}}},
          {"status", status},
          {"bootseal", ours}};
}

// YAML for a JSON value (block style; strings quoted JSON-style unless plain
// is unambiguous), as serde_yaml would print the same document.
bool plain_yaml(const std::string& v) {
  if (v.empty()) return false;
  for (const char* w : {"true", "false", "null", "yes", "no", "on", "off", "~", "True", "False", "Null", "NULL", "Yes", "No"})
    if (v == w) return false;
  if (!(std::isalpha(static_cast<unsigned char>(v[0])) || v[0] == '/' || v[0] == '_')) return false;
  for (char c : v)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '/' || c == '_' || c == '-' || c == '+')) return false;
  return true;
}

void to_yaml(const nlohmann::json& j, int indent, std::string& out) {
  std::string pad(indent, ' ');
  auto scalar = [](const nlohmann::json& v) -> std::string {
    if (v.is_null()) return "null";
    if (v.is_string()) return plain_yaml(v.get<std::string>()) ? v.get<std::string>() : v.dump();
    return v.dump();
  };
  auto nonempty_container = [](const nlohmann::json& v) { return (v.is_object() || v.is_array()) && !v.empty(); };
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      out += pad + (plain_yaml(it.key()) ? it.key() : nlohmann::json(it.key()).dump()) + ":";
      if (nonempty_container(it.value())) {
        out += "\n";
        to_yaml(it.value(), it.value().is_array() ? indent : indent + 2, out);
      } else {
        out += " " + (it.value().is_object() ? std::string("{}") : it.value().is_array() ? std::string("[]") : scalar(it.value())) + "\n";
      }
    }
  } else if (j.is_array()) {
    for (auto& v : j) {
      if (nonempty_container(v)) {
        std::string sub;
        to_yaml(v, indent + 2, sub);
        out += pad + "- " + sub.substr(indent + 2);
      } else {
        out += pad + "- " + (v.is_object() ? std::string("{}") : v.is_array() ? std::string("[]") : scalar(v)) + "\n";
      }
    }
  } else {
    out += pad + scalar(j) + "\n";
  }
}

void row(std::string& out, const std::string& name, size_t prefix_len, const std::string& value) {
  size_t n = name.size();  // ASCII names
  out += std::string(prefix_len > n ? prefix_len - n : 0, ' ') + name + ": " + value + "\n";
}

// bootc's human_readable_output: one block per slot.
std::string human_status(const nlohmann::json& host, bool verbose) {
  std::string out;
  const nlohmann::json& st = host["status"];
  bool first = true;
  auto slot = [&](const char* key, const std::string& prefix) {
    const nlohmann::json& e = st.value(key, nlohmann::json());
    if (e.is_null()) return;
    if (!first) out += "\n";
    first = false;
    size_t prefix_len = prefix.size() - (prefix.starts_with("\u25cf") ? 2 : 0);  // the glyph is 3 bytes, 1 column
    const nlohmann::json& img = e["image"];
    const nlohmann::json& ours = e["bootseal"];
    if (img.is_null()) {
      std::string p = prefix;
      p.replace(p.find("image"), 5, "composefs");
      out += p + "\n";
      row(out, "Commit", prefix_len, e["composefs"]["verity"].get<std::string>());
    } else {
      std::string transport = img["image"]["transport"], name = img["image"]["image"];
      out += prefix + ": " + (transport == "registry" ? name : transport + ":" + name) + "\n";
      std::string arch = img["architecture"];
      row(out, "Digest", prefix_len, img["imageDigest"].get<std::string>() + " (" + (arch.empty() ? "unknown" : arch) + ")");
      row(out, "Verity", prefix_len, e["composefs"]["verity"].get<std::string>());
      std::string ts = img["timestamp"].is_null() ? "" : seconds_only(img["timestamp"].get<std::string>());
      if (!img["version"].is_null())
        row(out, "Version", prefix_len, img["version"].get<std::string>() + (ts.empty() ? "" : " (" + ts + ")"));
      else if (!ts.empty())
        row(out, "Timestamp", prefix_len, ts);
    }
    if (const nlohmann::json& bc = ours["bootCounting"]; !bc.is_null()) {
      int left = bc["triesLeft"], done = bc["triesDone"];
      row(out, "Boot tries", prefix_len,
          left == 0 ? fmt::format("failed (+0-{}): used up its tries, systemd-boot skips it", done)
                    : fmt::format("{} left, {} done (not yet blessed)", left, done));
    }
    if (std::string(key) == "staged" && !host["bootseal"]["finalizeFailed"].is_null())
      row(out, "Finalize", prefix_len, host["bootseal"]["finalizeFailed"].get<std::string>());
    if (verbose) {
      if (!ours["entry"].is_null()) row(out, "Boot entry", prefix_len, ours["entry"].get<std::string>());
      row(out, "UKI", prefix_len, ours["uki"].get<std::string>());
      if (ours.contains("erofsFormat"))
        row(out, "EROFS", prefix_len, ours["erofsFormat"].get<std::string>() + " (" + ours["xattrs"].get<std::string>() + " xattrs)");
    }
  };
  slot("staged", "  Staged image");
  slot("booted", "\u25cf Booted image");
  slot("rollback", "  Rollback image");
  if (st.contains("otherDeployments"))
    for (auto& e : st["otherDeployments"]) {
      if (!first) out += "\n";
      first = false;
      const std::string prefix = "   Other image";
      size_t prefix_len = prefix.size();
      out += prefix + ": " + e["bootseal"]["role"].get<std::string>() + " " + e["composefs"]["verity"].get<std::string>() + "\n";
      if (!e["image"].is_null())
        row(out, "Source", prefix_len, e["image"]["image"]["transport"].get<std::string>() + ":" + e["image"]["image"]["image"].get<std::string>());
    }
  if (first) out += "System is not deployed via bootseal.\n";
  if (st["rollbackQueued"].get<bool>()) out += "\nRollback queued: the rollback image boots next.\n";
  return out;
}

struct StatusFlags {
  SysrootFlags sf;
  bool booted_only = false;
  std::string format;
};

Status status_cmd(const StatusFlags& f, const Globals& g) {
  // Option values first: a bad one is a usage error whatever the sysroot holds.
  std::string format = f.format.empty() ? (g.json ? "json" : "humanreadable") : f.format;
  if (format != "json" && format != "yaml" && format != "humanreadable")
    return usage_error("--format must be yaml, json or humanreadable, not '{}'", format);
  deploy::Sysroot s = BS_TRY(resolve_sysroot(f.sf));
  deploy::SystemStatus st = BS_TRY(deploy::read_status(s));
  store::Repository::warn_fn = [](const std::string& m) { warn(m); };
  store::RepoOptions ro;
  auto repo = store::Repository::open(s.root, ro);
  nlohmann::json host = host_json(st, s, repo.ok() ? &*repo : nullptr, f.booted_only);
  if (format == "json") {
    print_json(host);
  } else if (format == "yaml") {
    std::string out;
    to_yaml(host, 0, out);
    std::fputs(out.c_str(), stdout);
  } else {
    std::fputs(human_status(host, g.verbose > 0).c_str(), stdout);
    for (auto& p : st.problems) std::printf("problem: %s\n", p.c_str());
  }
  if (!st.problems.empty()) return check_error("{} problem(s) with the deployments in {}", st.problems.size(), s.root);
  return {};
}

struct UpgradeFlags {
  SysrootFlags sf;
  std::string source;  // switch: the new image
  std::string uki;
  std::string keys, key_passphrase_file;
  std::string cmdline;
  std::string xattrs = "allowlist";
  std::string platform;
  std::string arch;  // --arch: must agree with the image's OCI config and the ESP's loader
  bool allow_insecure = false;
  bool apply = false, check = false, download_only = false;
  std::vector<std::string> db;
  int boot_tries = boot::kDefaultBootTries;
};

inline constexpr const char* kEfivarDb = "/sys/firmware/efi/efivars/db-d719b2cb-3d3a-4596-a3bc-dad00e67656f";
inline constexpr uint64_t kMinRootFree = 32ull << 20;

// The certificates a UKI must chain to: --db CERT...; else the firmware's db
// (efivarfs, on the running system); else the db the ESP enrolls
// (loader/keys/*/db.auth, what systemd-boot's auto-enrollment writes).
Result<std::pair<std::vector<crypto::Certificate>, std::string>> trusted_db(const UpgradeFlags& f, const deploy::Sysroot& s) {
  std::vector<crypto::Certificate> certs;
  if (!f.db.empty()) {
    for (auto& c : f.db) {
      Bytes b = BS_TRY(sys::read_file(c));
      for (auto& cert : BS_TRY(crypto::Certificate::load_all(b, c))) certs.push_back(std::move(cert));
    }
    return std::make_pair(std::move(certs), fmt::format("--db {}", fmt::join(f.db, ", ")));
  }
  if (s.booted && sys::path_exists(kEfivarDb)) {
    Bytes v = BS_TRY(sys::read_file(kEfivarDb));
    if (v.size() < 4) return input_error("{}: too short for an EFI variable", kEfivarDb);
    certs = BS_TRY(deploy::db_certificates(ByteSpan(v).subspan(4), kEfivarDb));
    return std::make_pair(std::move(certs), std::string("the firmware's db (efivarfs)"));
  }
  std::vector<std::string> from;
  const std::string keys = s.esp + "/loader/keys";
  if (sys::path_exists(keys))
    for (const std::string& name : BS_TRY(sys::list_names(keys))) {
      std::string p = keys + "/" + name + "/db.auth";
      if (!sys::path_exists(p)) continue;
      efivar::AuthenticatedVariable av = BS_TRY_CTX(efivar::parse_auth2(BS_TRY(sys::read_file(p))), "{}", p);
      for (auto& c : BS_TRY(deploy::db_certificates(av.Data, p))) certs.push_back(std::move(c));
      from.push_back(p);
    }
  if (certs.empty())
    return input_error("no db to check the UKI against: no firmware db (efivarfs) and no {}/*/db.auth; give --db CERT", keys);
  return std::make_pair(std::move(certs), fmt::format("the db enrolled from {}", fmt::join(from, ", ")));
}

// A UKI the image carries at /boot/EFI/Linux/*.efi (bootc's sealed-image
// convention: built and signed in the image build, outside the digest since
// the boot transform empties /boot).
Result<std::pair<Bytes, std::string>> uki_from_image(const store::Repository& repo, const store::ImageRecord& r) {
  fstree::Tree t = BS_TRY(store::stored_tree(repo, r));
  fstree::NodePtr dir = fstree::lookup(t, "/boot/EFI/Linux");
  std::vector<std::pair<std::string, fstree::NodePtr>> found;
  if (dir && dir->is_dir())
    for (auto& e : dir->children)
      if (e.node->is_reg() && e.name.ends_with(".efi")) found.emplace_back(e.name, e.node);
  if (found.empty())
    return input_error("the image ships no UKI in /boot/EFI/Linux/: give --uki FILE, or --keys DIR to seal one here");
  if (found.size() > 1) return input_error("the image ships {} UKIs in /boot/EFI/Linux/; give --uki FILE", found.size());
  const fstree::Node& n = *found[0].second;
  std::string label = "image:/boot/EFI/Linux/" + found[0].first;
  if (!n.content.empty() || n.size == 0) return std::make_pair(n.content, label);
  std::string hex = to_hex(n.digest);
  return std::make_pair(BS_TRY(repo.read_object(hex, 1ull << 31)), label);
}

// The deployment whose origin `upgrade` follows: the booted one, else the default.
const deploy::DeploymentStatus* current_deployment(const deploy::SystemStatus& st, const deploy::Sysroot& s) {
  for (auto& d : st.deployments)
    if ((!s.booted && d.role == "default") || (s.booted && d.digest == *s.booted)) return &d;
  return nullptr;
}

// upgrade --check: the source's manifest digest against the current one; nothing is written.
Status check_update(const std::string& source, const deploy::SystemStatus& st, const deploy::DeploymentStatus* cur,
                    const store::ImageOptions& io, const Globals& g) {
  oci::SourceName n = BS_TRY(oci::parse_source_name(source));
  if (n.transport == oci::Transport::kDirectory)
    return input_error("--check compares manifest digests, and {} is a directory (it has none): run `bootseal upgrade`", source);
  auto src = BS_TRY(store::open_source(n, source));
  store::ResolvedImage img = BS_TRY_CTX(src->resolve(io.platform), "{}", source);
  std::string digest = img.manifest_digest ? img.manifest_digest->str() : "";
  std::string have = cur ? cur->manifest_digest : "";
  std::string staged = st.staged ? st.staged->manifest_digest : "";
  auto vit = img.config.labels.find(oci::kLabelVersion);
  std::string version = vit == img.config.labels.end() ? "" : vit->second;
  bool available = digest.empty() || (digest != have && digest != staged);
  if (g.json) {
    print_json({{"source", source}, {"update_available", available}, {"manifest_digest", digest},
                {"current_manifest_digest", have}, {"staged", !digest.empty() && digest == staged}, {"version", version}});
    return {};
  }
  if (!available) {
    std::printf("No changes in: %s%s\n", source.c_str(), digest == staged && digest != have ? " (already staged)" : "");
    return {};
  }
  std::printf("Update available for: %s\n", source.c_str());
  if (!version.empty()) std::printf("  Version: %s\n", version.c_str());
  std::printf("  Digest: %s\n", digest.c_str());
  return {};
}

Status upgrade_cmd(const UpgradeFlags& f, bool is_switch, const Globals& g) {
  if (!f.cmdline.empty() && f.keys.empty()) return usage_error("--cmdline needs --keys (the UKI is sealed here only then)");
  BS_TRY(bls::refuse_composefs_kargs(f.cmdline, "--cmdline"));  // before anything is read
  deploy::Sysroot s = BS_TRY(resolve_sysroot(f.sf));
  bool show = !g.json && !g.quiet;
  auto step = [show](const std::string& m) {
    if (show) std::fprintf(stderr, "bootseal: %s\n", m.c_str());
  };
  if (f.check && (f.apply || f.download_only)) return usage_error("--check writes nothing: it cannot be combined with --apply or --download-only");
  if (f.apply && f.download_only) return usage_error("--download-only stages nothing: it cannot be combined with --apply");
  // The image: the given one (switch), else the current deployment's origin.
  deploy::SystemStatus st = BS_TRY(deploy::read_status(s));
  const deploy::DeploymentStatus* cur = current_deployment(st, s);
  std::string source = f.source;
  std::string origin;  // upgrade: the origin file the source came from (named in errors)
  if (!is_switch) {
    if (cur) {
      source = cur->source;
      origin = fmt::format("{}/state/deploy/{}/{}.origin", s.root, cur->digest, cur->digest);
    }
    if (source.empty())
      return input_error("no origin image reference for the current deployment in {}: use `bootseal switch SOURCE`", s.root);
  } else {
    source = BS_TRY(oci::absolute_source_name(source, BS_TRY(sys::absolute_path("."))));
  }
  store::ImageOptions io;
  if (!f.platform.empty()) io.platform = BS_TRY(oci::parse_platform(f.platform));
  io.xattrs = BS_TRY(parse_xattrs(f.xattrs));
  if (f.check) return check_update(source, st, cur, io, g);

  sys::FileLock lock = BS_TRY(lock_sysroot(s));
  // Checks before anything is written: the trust anchors, room on the root.
  auto [trusted, trusted_label] = f.download_only ? std::make_pair(std::vector<crypto::Certificate>{}, std::string())
                                                  : BS_TRY(trusted_db(f, s));
  uint64_t root_free = BS_TRY(sys::free_bytes(s.root, "ROOT"));
  if (root_free < kMinRootFree)
    return input_error("{}: the root filesystem has {} MiB free; an upgrade needs at least {} MiB: nothing was changed", s.root,
                       root_free >> 20, kMinRootFree >> 20);
  store::RepoOptions ro;
  store::Repository::warn_fn = [](const std::string& m) { warn(m); };
  store::Repository repo = BS_TRY(store::Repository::open(s.root, ro));
  step(fmt::format("importing {}", source));
  store::ImportStats stats;
  auto imported = import_source(repo, source, io, f.download_only ? "bootseal/download" : "", show, &stats);
  if (!imported.ok() && !origin.empty())
    return std::move(imported).error().context(
        fmt::format("the image reference '{}' read from the origin file {}", source, origin));
  store::ImportResult imp = BS_TRY(std::move(imported));
  if (f.download_only) {
    if (g.json)
      print_json({{"source", source}, {"image", imp.image}, {"ref", "bootseal/download"}});
    else
      std::printf("downloaded: %s (image %s, reference bootseal/download); nothing staged\n", source.c_str(), imp.image.c_str());
    return {};
  }

  // The architecture: the image's OCI config's (--arch must agree), else --arch;
  // it must be the one the ESP's loader boots (checked again on the UKI when staging).
  std::optional<Arch> arch;
  std::string arch_label;
  if (!f.arch.empty()) {
    arch = BS_TRY_CTX(parse_arch(f.arch), "--arch");
    arch_label = "--arch " + f.arch;
  }
  if (!imp.record.architecture.empty()) {
    Arch rec = BS_TRY_CTX(arch_from_oci(imp.record.architecture, ""), "image {}", source);
    if (arch && *arch != rec)
      return input_error("--arch {}: image {} is {} (its OCI config says {}): nothing was staged", f.arch, source, arch_name(rec),
                         imp.record.architecture);
    arch = rec;
    arch_label = "its OCI config says " + imp.record.architecture;
  }
  std::string loader;
  if (auto ea = deploy::esp_arch(s.esp, &loader); ea && arch && *ea != *arch)
    return input_error("{} {}: the image is {} ({}) but this system boots {} ({}): nothing was staged",
                       is_switch ? "switch" : "upgrade", source, arch_name(*arch), arch_label, arch_name(*ea), loader);
  // The UKI: given, sealed here, or carried by the image.
  Bytes uki;
  std::string label;
  if (!f.uki.empty()) {
    uki = BS_TRY(sys::read_file(f.uki));
    label = f.uki;
  } else if (!f.keys.empty()) {
    seal::UkiOptions uo;
    uo.keys_dir = f.keys;
    if (arch) uo.arch = std::string(arch_name(*arch));
    uo.key_passphrase_file = f.key_passphrase_file;
    if (!f.cmdline.empty()) uo.cmdline_extra = f.cmdline;
    uo.step = step;
    seal::SealedUki su = BS_TRY(seal::seal_uki(repo, imp.image, uo));
    uki = std::move(su.uki);
    label = "UKI sealed with " + f.keys;
  } else {
    auto [bytes, l] = BS_TRY(uki_from_image(repo, imp.record));
    uki = std::move(bytes);
    label = l;
  }
  deploy::StageOptions so;
  so.image_ref = imp.image;
  so.source = source;
  so.uki = std::move(uki);
  so.uki_label = label;
  so.allow_insecure = f.allow_insecure;
  so.trusted = std::move(trusted);
  so.trusted_label = trusted_label;
  so.boot_tries = f.boot_tries;
  so.arch = arch;
  so.arch_label = arch_label;
  so.step = step;
  deploy::StageResult r = BS_TRY_CTX(deploy::stage_deployment(s, repo, so), "{} {}", is_switch ? "switch" : "upgrade", source);
  // --apply: offline finalize now; on the running system reboot (the
  // finalize unit applies the staged deployment at shutdown).
  std::optional<deploy::FinalizeResult> fin;
  bool reboot = false;
  if (f.apply && !r.unchanged) {
    if (s.booted) {
      reboot = true;
    } else {
      fin = BS_TRY_CTX(deploy::finalize_staged(s, repo), "finalize {}", r.digest.substr(0, 16));
    }
  }
  if (g.json) {
    nlohmann::json j = {{"source", source}, {"digest", r.digest}, {"staged", !r.unchanged && !fin}, {"rollback", r.rollback},
                        {"unchanged", r.unchanged}, {"uki_replaced", r.uki_replaced},
                        {"format", fmt::format("v{}", r.image.format)}, {"xattrs", r.image.xattrs},
                        {"repository_default", r.image.repository_default}, {"explanation", r.image.explanation},
                        {"uki", label}, {"replaced_staged", r.replaced_staged}};
    if (fin) j["finalized"] = {{"default", fin->digest}, {"rollback", fin->rollback}, {"etc_kept", fin->etc_kept},
                               {"etc_removed", fin->etc_removed}, {"pruned", fin->pruned}};
    print_json(j);
  } else if (r.unchanged) {
    std::printf("No changes in: %s (%s is the default deployment%s)\n", source.c_str(), r.digest.substr(0, 16).c_str(),
                r.uki_replaced ? "; its UKI was replaced by the given one" : "");
  } else {
    if (!r.image.explanation.empty()) std::printf("note: %s\n", r.image.explanation.c_str());
    if (!r.replaced_staged.empty() && r.replaced_staged != r.digest)
      std::printf("replaced: %s (staged before)\n", r.replaced_staged.c_str());
    if (fin) {
      std::printf("default:  %s (next boot; EROFS V%u, %s xattrs)\n", fin->digest.c_str(), r.image.format, r.image.xattrs.c_str());
      std::printf("rollback: %s\n", fin->rollback.empty() ? "none" : fin->rollback.c_str());
      std::printf("/etc:     %zu local change(s) kept, %zu local removal(s) applied\n", fin->etc_kept.size(), fin->etc_removed.size());
      for (auto& p : fin->pruned) std::printf("pruned:   %s\n", p.c_str());
    } else {
      std::printf("staged:   %s (EROFS V%u, %s xattrs)\n", r.digest.c_str(), r.image.format, r.image.xattrs.c_str());
      std::printf("%s\n", s.booted ? (reboot ? "rebooting: the staged deployment is applied at shutdown"
                                             : "it becomes the default at shutdown (bootseal-finalize-staged.service) or with `bootseal finalize`")
                                   : "apply it with `bootseal finalize` (the /etc merge and the entry swap happen then)");
    }
  }
  if (reboot) {
    lock = sys::FileLock();  // the finalize unit takes it at shutdown
    std::fflush(stdout);
    BS_TRY(sys::run({"systemctl", "reboot"}));
  }
  return {};
}

struct FinalizeFlags {
  SysrootFlags sf;
  bool discard = false;
};

// Applies (or with --discard drops) the staged deployment. Run at shutdown by
// bootseal-finalize-staged.service; nothing staged is not an error.
Status finalize_cmd(const FinalizeFlags& f, const Globals& g) {
  deploy::Sysroot s = BS_TRY(resolve_sysroot(f.sf));
  sys::FileLock lock = BS_TRY(lock_sysroot(s));
  store::Repository::warn_fn = [](const std::string& m) { warn(m); };
  store::RepoOptions ro;
  store::Repository repo = BS_TRY(store::Repository::open(s.root, ro));
  if (f.discard) {
    auto d = BS_TRY(deploy::discard_staged(s, repo));
    if (g.json)
      print_json({{"discarded", d ? nlohmann::json(*d) : nlohmann::json(nullptr)}});
    else
      std::printf("%s\n", d ? ("discarded the staged deployment " + *d).c_str() : "nothing staged");
    return {};
  }
  deploy::FinalizeResult r = BS_TRY_CTX(deploy::finalize_staged(s, repo), "finalize");
  if (g.json) {
    print_json({{"finalized", !r.nothing_staged}, {"default", r.digest}, {"rollback", r.rollback}, {"etc_kept", r.etc_kept},
                {"etc_removed", r.etc_removed}, {"pruned", r.pruned}});
    return {};
  }
  if (r.nothing_staged) {
    std::printf("nothing staged\n");
    return {};
  }
  std::printf("default:  %s (next boot)\n", r.digest.c_str());
  std::printf("rollback: %s\n", r.rollback.empty() ? "none" : r.rollback.c_str());
  std::printf("/etc:     %zu local change(s) kept, %zu local removal(s) applied\n", r.etc_kept.size(), r.etc_removed.size());
  if (g.verbose)
    for (auto& p : r.etc_kept) std::printf("  kept %s\n", p.c_str());
  for (auto& p : r.pruned) std::printf("pruned:   %s\n", p.c_str());
  return {};
}

Status rollback_cmd(const SysrootFlags& f, const Globals& g) {
  deploy::Sysroot s = BS_TRY(resolve_sysroot(f));
  sys::FileLock lock = BS_TRY(lock_sysroot(s));
  auto [def, rb] = BS_TRY(deploy::rollback(s));
  if (g.json)
    print_json({{"default", def}, {"rollback", rb}});
  else
    std::printf("default:  %s (next boot)\nrollback: %s\n", def.c_str(), rb.c_str());
  return {};
}

struct GcFlags {
  SysrootFlags sf;
  bool dry_run = false;
};

// Prunes deployments no entry names, then collects the repository.
Status gc_cmd(const GcFlags& f, const Globals& g) {
  deploy::Sysroot s = BS_TRY(resolve_sysroot(f.sf));
  sys::FileLock lock = BS_TRY(lock_sysroot(s));
  store::Repository::warn_fn = [](const std::string& m) { warn(m); };
  store::RepoOptions ro;
  ro.exclusive = true;
  store::Repository repo = BS_TRY(store::Repository::open(s.root, ro));
  std::vector<std::string> pruned = BS_TRY(deploy::prune_deployments(s, repo, f.dry_run));
  store::GcReport rep = BS_TRY(repo.gc(store::record_refs(repo), f.dry_run));
  if (g.json) {
    print_json({{"pruned_deployments", pruned}, {"removed", rep.removed}, {"bytes", rep.bytes}, {"dry_run", f.dry_run}});
    return {};
  }
  const char* verb = f.dry_run ? "would remove" : "removed";
  for (auto& d : pruned) std::printf("%s deployment %s\n", verb, d.c_str());
  std::printf("%s %zu repository entr%s, %.1f MiB\n", verb, rep.removed.size(), rep.removed.size() == 1 ? "y" : "ies",
              static_cast<double>(rep.bytes) / 1048576.0);
  return {};
}

void add_upgrade_flags(CLI::App* c, UpgradeFlags& f) {
  add_sysroot_flags(c, f.sf);
  auto* uki = c->add_option("--uki", f.uki, "Signed UKI to deploy (default: the one the image carries in /boot/EFI/Linux/)");
  auto* keys = c->add_option("--keys", f.keys, "Seal the UKI here with this key set's db key (bootseal keys generate)")->excludes(uki);
  c->add_option("--key-passphrase-file", f.key_passphrase_file, "With --keys: passphrase of an encrypted PEM db.key (first line)")
      ->needs(keys);
  c->add_option("--cmdline", f.cmdline, "With --keys: kernel arguments after composefs=<digest>");
  c->add_option("--xattrs", f.xattrs, "Xattr mode of the import: allowlist|keep-user")->capture_default_str()->check(CLI::IsMember({"allowlist", "keep-user"}));
  c->add_option("--platform", f.platform, "Platform of a multi-arch image (os/arch[/variant])");
  c->add_option("--arch", f.arch, "x86-64 or arm64: the image's architecture (must agree with its OCI config and "
                                  "the ESP's EFI/BOOT/BOOT*.EFI)");
  c->add_flag("--allow-insecure", f.allow_insecure, "Accept a UKI whose composefs karg makes fs-verity optional ('?')");
  c->add_option("--db", f.db, "Certificate(s) the UKI's signature must chain to (default: the firmware's db, else the ESP's loader/keys/*/db.auth)");
  c->add_option("--boot-tries", f.boot_tries, "Boot-counting tries of the new entry (\"+N\" in its name; 0: no boot counting)")
      ->capture_default_str()
      ->check(CLI::Range(0, 100));
  c->add_flag("--apply", f.apply, "Apply the staged deployment: reboot (running system) or finalize now (offline)");
  c->add_flag("--download-only", f.download_only, "Only import the image into the repository (reference bootseal/download)");
}

void setup(CLI::App& root, Context& ctx) {
  static StatusFlags sf;
  static SysrootFlags rf;
  static UpgradeFlags uf, wf;
  static FinalizeFlags ff;
  CLI::App* st = root.add_subcommand("status", "Deployments of a sealed system (bootc's BootcHost): staged, booted, rollback, problems");
  json_output(st);
  add_sysroot_flags(st, sf.sf);
  st->add_flag("--booted", sf.booted_only, "Only the booted deployment (as bootc status --booted)");
  st->add_option("--format", sf.format, "Output format: humanreadable (default), yaml or json (--json is --format json)");
  st->callback([&ctx] { ctx.action = [&ctx] { return status_cmd(sf, ctx.globals); }; });

  CLI::App* up = root.add_subcommand("upgrade", "Stage the newest version of the current image for the next boot");
  json_output(up);
  add_upgrade_flags(up, uf);
  up->add_flag("--check", uf.check, "Only say whether the origin has a new image (manifest digest); write nothing");
  up->callback([&ctx] { ctx.action = [&ctx] { return upgrade_cmd(uf, false, ctx.globals); }; });

  CLI::App* sw = root.add_subcommand("switch", "Stage another image (SOURCE) for the next boot");
  json_output(sw);
  sw->add_option("source", wf.source, "Image: oci:DIR[:TAG], oci-archive:FILE, docker-archive:FILE or a directory")->required();
  add_upgrade_flags(sw, wf);
  sw->callback([&ctx] { ctx.action = [&ctx] { return upgrade_cmd(wf, true, ctx.globals); }; });

  static GcFlags gf;
  CLI::App* gc = root.add_subcommand("gc", "Remove deployments no boot entry names, then unreferenced repository content");
  json_output(gc);
  add_sysroot_flags(gc, gf.sf);
  gc->add_flag("--dry-run", gf.dry_run, "Only say what would be removed");
  gc->callback([&ctx] { ctx.action = [&ctx] { return gc_cmd(gf, ctx.globals); }; });

  CLI::App* fi = root.add_subcommand("finalize", "Apply the staged deployment: /etc merge, then the boot entries swapped as one");
  json_output(fi);
  add_sysroot_flags(fi, ff.sf);
  fi->add_flag("--discard", ff.discard, "Drop the staged deployment instead");
  fi->callback([&ctx] { ctx.action = [&ctx] { return finalize_cmd(ff, ctx.globals); }; });

  CLI::App* rb = root.add_subcommand("rollback", "Make the rollback deployment the default (next boot)");
  json_output(rb);
  add_sysroot_flags(rb, rf);
  rb->callback([&ctx] { ctx.action = [&ctx] { return rollback_cmd(rf, ctx.globals); }; });
}

}  // namespace

BOOTSEAL_VERB(90, setup);

}  // namespace bootseal::cli
