// bootseal status | upgrade | switch | rollback: the life cycle of a sealed
// system (src/deploy/lifecycle.h). On a booted sealed system the physical
// root is /sysroot and the booted deployment comes from /proc/cmdline;
// offline (a mounted or staged disk) give --sysroot and --esp.
#include <cstdio>
#include <cstdlib>

#include "base/hex.h"
#include "bls/karg.h"
#include "cli/command.h"
#include "cli/repo_util.h"
#include "deploy/lifecycle.h"
#include "oci/transport.h"
#include "seal/seal.h"
#include "store/import.h"
#include "sys/file.h"
#include "sys/tree.h"
#include "uki/uki.h"

namespace bootseal::cli {
namespace {

struct SysrootFlags {
  std::string sysroot, esp, booted;
};

void add_sysroot_flags(CLI::App* c, SysrootFlags& f) {
  // The physical root is the repository root (<root>/composefs), so --repo
  // names it too, as for every other command that touches a repository.
  c->add_option("--sysroot,--repo", f.sysroot,
                "Physical root holding composefs/ (the repository) and state/ (default $BOOTSEAL_REPO, else on a sealed system /sysroot)");
  c->add_option("--esp", f.esp, "ESP mount point (default: the first of /efi, /boot/efi, /boot with boot entries)");
  c->add_option("--booted", f.booted, "Digest of the running deployment (default: from /proc/cmdline on a sealed system)");
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
  if (!f.booted.empty()) {
    if (!is_hex(f.booted) || (f.booted.size() != 64 && f.booted.size() != 128))
      return input_error("--booted '{}' is not a 64 or 128 hex digit digest", f.booted);
    s.booted = f.booted;
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

nlohmann::json status_json(const deploy::SystemStatus& st) {
  nlohmann::json deps = nlohmann::json::array();
  for (auto& d : st.deployments)
    deps.push_back({{"digest", d.digest}, {"role", d.role}, {"booted", d.booted}, {"title", d.entry.title},
                    {"version", d.entry.version}, {"entry", d.entry.file}, {"uki", d.entry.efi},
                    {"source", d.source}, {"manifest_digest", d.manifest_digest}, {"uki_present", d.uki_present},
                    {"image_present", d.image_present}, {"state_present", d.state_present}});
  return {{"deployments", deps}, {"problems", st.problems}};
}

Status status_cmd(const SysrootFlags& f, const Globals& g) {
  deploy::Sysroot s = BS_TRY(resolve_sysroot(f));
  deploy::SystemStatus st = BS_TRY(deploy::read_status(s));
  if (g.json) {
    nlohmann::json j = status_json(st);
    j["sysroot"] = s.root;
    j["esp"] = s.esp;
    j["booted"] = s.booted ? nlohmann::json(*s.booted) : nlohmann::json(nullptr);
    print_json(j);
  } else {
    if (st.deployments.empty()) std::printf("no deployments in %s\n", s.root.c_str());
    for (auto& d : st.deployments) {
      std::printf("%s %-9s %s  %s%s\n", d.booted ? "●" : " ", d.role.c_str(), d.digest.substr(0, 24).c_str(),
                  d.entry.title.empty() ? "-" : d.entry.title.c_str(), d.booted ? "  (booted)" : "");
      if (!d.source.empty()) std::printf("            source: %s\n", d.source.c_str());
      if (!d.manifest_digest.empty()) std::printf("            manifest: %s\n", d.manifest_digest.c_str());
    }
    for (auto& p : st.problems) std::printf("problem: %s\n", p.c_str());
  }
  if (!st.problems.empty()) return check_error("{} problem(s) with the deployments in {}", st.problems.size(), s.root);
  return {};
}

struct UpgradeFlags {
  SysrootFlags sf;
  std::string source;  // switch: the new image
  std::string uki;
  std::string keys;
  std::string cmdline;
  std::string xattrs = "allowlist";
  std::string platform;
  bool allow_insecure = false;
};

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

Status upgrade_cmd(const UpgradeFlags& f, bool is_switch, const Globals& g) {
  if (!f.cmdline.empty() && f.keys.empty()) return input_error("--cmdline needs --keys (the UKI is sealed here only then)");
  BS_TRY(bls::refuse_composefs_kargs(f.cmdline, "--cmdline"));  // before anything is read
  deploy::Sysroot s = BS_TRY(resolve_sysroot(f.sf));
  bool show = !g.json && !g.quiet;
  auto step = [show](const std::string& m) {
    if (show) std::fprintf(stderr, "bootseal: %s\n", m.c_str());
  };
  // The image: the given one (switch), else the default deployment's origin.
  std::string source = f.source;
  std::string origin;  // upgrade: the origin file the source came from (named in errors)
  if (!is_switch) {
    deploy::SystemStatus st = BS_TRY(deploy::read_status(s));
    std::string from = s.booted ? *s.booted : "";
    for (auto& d : st.deployments)
      if ((from.empty() && d.role == "default") || d.digest == from) {
        source = d.source;
        origin = fmt::format("{}/state/deploy/{}/{}.origin", s.root, d.digest, d.digest);
        break;
      }
    if (source.empty())
      return input_error("no origin image reference for the current deployment in {}: use `bootseal switch SOURCE`", s.root);
  } else {
    source = BS_TRY(oci::absolute_source_name(source, BS_TRY(sys::absolute_path("."))));
  }
  store::RepoOptions ro;
  store::Repository::warn_fn = [](const std::string& m) { warn(m); };
  store::Repository repo = BS_TRY(store::Repository::open(s.root, ro));
  store::ImageOptions io;
  if (!f.platform.empty()) io.platform = BS_TRY(oci::parse_platform(f.platform));
  io.xattrs = BS_TRY(parse_xattrs(f.xattrs));
  step(fmt::format("importing {}", source));
  store::ImportStats stats;
  auto imported = import_source(repo, source, io, "", show, &stats);
  if (!imported.ok() && !origin.empty())
    return std::move(imported).error().context(
        fmt::format("the image reference '{}' read from the origin file {}", source, origin));
  store::ImportResult imp = BS_TRY(std::move(imported));

  // The UKI: given, sealed here, or carried by the image.
  Bytes uki;
  std::string label;
  if (!f.uki.empty()) {
    uki = BS_TRY(sys::read_file(f.uki));
    label = f.uki;
  } else if (!f.keys.empty()) {
    seal::UkiOptions uo;
    uo.keys_dir = f.keys;
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
  so.step = step;
  deploy::StageResult r = BS_TRY_CTX(deploy::stage_deployment(s, repo, so), "{} {}", is_switch ? "switch" : "upgrade", source);
  if (g.json) {
    print_json({{"source", source}, {"digest", r.digest}, {"rollback", r.rollback}, {"unchanged", r.unchanged}, {"uki_replaced", r.uki_replaced},
                {"format", fmt::format("v{}", r.image.format)}, {"xattrs", r.image.xattrs},
                {"repository_default", r.image.repository_default}, {"explanation", r.image.explanation},
                {"uki", label}, {"etc_kept", r.etc_kept}, {"etc_removed", r.etc_removed}, {"pruned", r.pruned}});
    return {};
  }
  if (r.unchanged) {
    std::printf("already deployed: %s is the default deployment%s\n", r.digest.c_str(),
                r.uki_replaced ? "; its UKI was replaced by the given one" : "");
    return {};
  }
  if (!r.image.explanation.empty()) std::printf("note: %s\n", r.image.explanation.c_str());
  std::printf("default:  %s (next boot; EROFS V%u, %s xattrs)\n", r.digest.c_str(), r.image.format, r.image.xattrs.c_str());
  std::printf("rollback: %s\n", r.rollback.empty() ? "none" : r.rollback.c_str());
  std::printf("/etc:     %zu local change(s) kept, %zu local removal(s) applied\n", r.etc_kept.size(), r.etc_removed.size());
  if (g.verbose)
    for (auto& p : r.etc_kept) std::printf("  kept %s\n", p.c_str());
  for (auto& p : r.pruned) std::printf("pruned:   %s\n", p.c_str());
  return {};
}

Status rollback_cmd(const SysrootFlags& f, const Globals& g) {
  deploy::Sysroot s = BS_TRY(resolve_sysroot(f));
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
  c->add_option("--keys", f.keys, "Seal the UKI here with this key set's db key (bootseal keys generate)")->excludes(uki);
  c->add_option("--cmdline", f.cmdline, "With --keys: kernel arguments after composefs=<digest>");
  c->add_option("--xattrs", f.xattrs, "Xattr mode of the import: allowlist|keep-user")->capture_default_str()->check(CLI::IsMember({"allowlist", "keep-user"}));
  c->add_option("--platform", f.platform, "Platform of a multi-arch image (os/arch[/variant])");
  c->add_flag("--allow-insecure", f.allow_insecure, "Accept a UKI whose composefs karg makes fs-verity optional ('?')");
}

void setup(CLI::App& root, Context& ctx) {
  static SysrootFlags sf, rf;
  static UpgradeFlags uf, wf;
  CLI::App* st = root.add_subcommand("status", "Deployments of a sealed system: default, rollback, booted, problems");
  json_output(st);
  add_sysroot_flags(st, sf);
  st->callback([&ctx] { ctx.action = [&ctx] { return status_cmd(sf, ctx.globals); }; });

  CLI::App* up = root.add_subcommand("upgrade", "Deploy the newest version of the current image as the next boot");
  json_output(up);
  add_upgrade_flags(up, uf);
  up->callback([&ctx] { ctx.action = [&ctx] { return upgrade_cmd(uf, false, ctx.globals); }; });

  CLI::App* sw = root.add_subcommand("switch", "Deploy another image (SOURCE) as the next boot");
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

  CLI::App* rb = root.add_subcommand("rollback", "Make the rollback deployment the default (next boot)");
  json_output(rb);
  add_sysroot_flags(rb, rf);
  rb->callback([&ctx] { ctx.action = [&ctx] { return rollback_cmd(rf, ctx.globals); }; });
}

}  // namespace

BOOTSEAL_VERB(90, setup);

}  // namespace bootseal::cli
