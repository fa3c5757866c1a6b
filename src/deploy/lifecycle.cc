#include "deploy/lifecycle.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <set>

#include "base/hex.h"
#include "bls/os_release.h"
#include "composefs/image.h"
#include "deploy/checkout.h"
#include "deploy/etc_merge.h"
#include "fsverity/fsverity.h"
#include "store/import.h"
#include "sys/file.h"
#include "sys/fsops.h"
#include "sys/tree.h"
#include "uki/uki.h"

namespace bootseal::deploy {
namespace {

std::string deploy_dir(const Sysroot& s, const std::string& digest) { return s.root + "/state/deploy/" + digest; }
std::string uki_file(const Sysroot& s, const std::string& digest) { return s.esp + "/" + boot::uki_path(digest); }

bool is_digest(std::string_view s) { return (s.size() == 64 || s.size() == 128) && is_hex(s); }

std::string xattr_name(oci::XattrMode m) { return m == oci::XattrMode::kAllowlist ? "allowlist" : "keep-user"; }

// os-release fields of the UKI for its boot entry.
boot::Deployment entry_for(const std::string& digest, const uki::Inspection& in) {
  bls::OsRelease osr;
  osr.fields = in.os_release;
  return boot::deployment_for(digest, osr);
}

// Entry data of an existing deployment, from its current entry.
boot::Deployment entry_from(const boot::EntryInfo& e) {
  boot::Deployment d;
  d.digest = e.digest;
  d.title = e.title;
  d.version = e.version.empty() ? "0" : e.version;
  // sort-key "bootc-<os>-<index>"
  std::string os = e.sort_key;
  if (os.starts_with("bootc-") && os.size() > 8) os = os.substr(6, os.size() - 8);
  else os = "linux";
  d.os_id = os;
  return d;
}

// The checks bootseal-setup-root makes, done before anything points at the
// image: images/<digest> has exactly that fs-verity digest, and every object
// it references is present.
Status check_bootable(const store::Repository& repo, const std::string& digest) {
  Bytes image = BS_TRY(repo.read_image(digest));
  std::string got = to_hex(fsverity::digest_buffer(image, repo.params()));
  if (got != digest) return check_error("images/{} has fs-verity digest {}: the repository is damaged", digest, got);
  size_t missing = 0;
  std::string first;
  for (const std::string& o : BS_TRY(store::image_objects(repo, digest)))
    if (!repo.has_object(o) && missing++ == 0) first = o;
  if (missing)
    return check_error("image {} references {} missing object(s) (first: {}): it would not boot", digest, missing, first);
  return {};
}

}  // namespace

Origin parse_origin(std::string_view text) {
  Origin o;
  std::string section;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = std::string(line.substr(1, line.size() - 2));
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    o[section][std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  return o;
}

std::string format_origin(const std::string& source, const std::string& digest, const std::string& manifest_digest) {
  std::string out = "[origin]\n";
  out += fmt::format("container-image-reference={}\n", source);
  out += "\n[boot]\nboot_type=uki\n";
  out += fmt::format("digest={}\n", digest);
  if (!manifest_digest.empty()) out += fmt::format("\n[image]\nmanifest_digest={}\n", manifest_digest);
  return out;
}

Result<bls::ComposefsKarg> uki_karg(ByteSpan uki, const std::string& label) {
  uki::Inspection in = BS_TRY_CTX(uki::inspect(uki), "{}", label);
  if (!in.is_uki) return input_error("{}: not a UKI (no .linux section)", label);
  if (!in.cmdline) return input_error("{}: the UKI has no .cmdline section", label);
  // SHA-512 first (bootc); a karg that only parses as SHA-256 is returned as
  // such so the caller can say which hash it seals.
  auto k512 = bls::parse_composefs_karg(*in.cmdline, bls::KargHash::kSha512);
  if (k512.ok() && *k512) return **k512;
  auto k256 = bls::parse_composefs_karg(*in.cmdline, bls::KargHash::kSha256);
  if (k256.ok() && *k256) return **k256;
  if (!k512.ok()) return Error(k512.error()).context(label);
  if (!k256.ok()) return Error(k256.error()).context(label);
  return input_error("{}: the UKI's .cmdline has no composefs= karg: it does not seal an image", label);
}

Result<SystemStatus> read_status(const Sysroot& s) {
  SystemStatus st;
  std::vector<boot::EntryInfo> entries = BS_TRY(boot::read_entries(s.esp));
  std::set<std::string> listed;
  auto fill = [&](DeploymentStatus& d) -> Status {
    d.booted = s.booted && *s.booted == d.digest;
    d.uki_present = sys::path_exists(uki_file(s, d.digest));
    d.image_present = sys::path_exists(s.root + "/composefs/images/" + d.digest);
    std::string dir = deploy_dir(s, d.digest);
    d.state_present = sys::path_exists(dir);
    std::string origin = dir + "/" + d.digest + ".origin";
    if (sys::path_exists(origin)) {
      Origin o = parse_origin(BS_TRY(sys::read_text_file(origin)));
      d.source = o["origin"]["container-image-reference"];
      d.manifest_digest = o["image"]["manifest_digest"];
    }
    std::string what = d.role == "unlisted" ? "unlisted deployment" : d.role + " deployment";
    if (d.role != "unlisted" && !d.uki_present) st.problems.push_back(fmt::format("{} {}: UKI {} is missing", what, d.digest.substr(0, 16), boot::uki_path(d.digest)));
    if (!d.image_present) st.problems.push_back(fmt::format("{} {}: composefs/images/{} is missing", what, d.digest.substr(0, 16), d.digest));
    if (!d.state_present) st.problems.push_back(fmt::format("{} {}: state/deploy/{} is missing", what, d.digest.substr(0, 16), d.digest));
    return {};
  };
  for (size_t i = 0; i < entries.size(); i++) {
    if (entries[i].digest.empty()) continue;  // not ours (another OS's entry)
    DeploymentStatus d;
    d.digest = entries[i].digest;
    d.entry = entries[i];
    d.role = listed.empty() ? "default" : listed.size() == 1 ? "rollback" : "unlisted";
    if (!listed.insert(d.digest).second) continue;
    BS_TRY(fill(d));
    st.deployments.push_back(std::move(d));
  }
  for (const std::string& name : BS_TRY(sys::list_names(s.root + "/state/deploy"))) {
    if (!is_digest(name) || listed.count(name)) continue;
    DeploymentStatus d;
    d.digest = name;
    d.role = "unlisted";
    BS_TRY(fill(d));
    st.deployments.push_back(std::move(d));
  }
  if (s.booted && !listed.count(*s.booted))
    st.problems.push_back(fmt::format("the booted deployment {} has no boot entry", s.booted->substr(0, 16)));
  return st;
}

Result<BootImage> resolve_boot_image(store::Repository& repo, const std::string& image_ref,
                                     const bls::ComposefsKarg& karg, bool allow_insecure) {
  const std::string want = to_hex(karg.digest);
  const std::string karg_hash(bls::karg_hash_name(karg.hash));
  const std::string repo_hash(crypto::hash_name(repo.algorithm()));
  if (karg.insecure && !allow_insecure)
    return input_error("the UKI's composefs karg is marked '?' (fs-verity optional): refusing an unverified root "
                       "(--allow-insecure to accept)");
  if (karg_hash != repo_hash)
    return check_error("the UKI seals a {} digest but {} names objects by {}: its image cannot be served from "
                       "this repository", karg_hash, repo.path(), repo_hash);
  auto [stream, record] = BS_TRY(store::find_image(repo, image_ref));
  BootImage out;
  out.digest = want;
  if (record.image == want) {
    out.format = record.format;
    out.xattrs = record.xattrs;
    return out;
  }
  // Not the stored variant: try {allowlist, keep-user} x {V1, V2}.
  fstree::Tree merged = BS_TRY(store::stored_tree(repo, record));
  std::vector<std::string> tried;
  tried.push_back(fmt::format("V{} {} (the repository's pinned format) gives {}", record.format, record.xattrs, record.image));
  for (oci::XattrMode xm : {oci::XattrMode::kAllowlist, oci::XattrMode::kKeepUser}) {
    fstree::Tree t = BS_TRY(store::transform_tree(merged, store::Transforms::kBoot, xm, nullptr, store::repo_reader(repo)));
    for (uint32_t format : {1u, 2u}) {
      if (format == record.format && xattr_name(xm) == record.xattrs) continue;
      Bytes image = BS_TRY(store::make_image(t, format));
      std::string hex = to_hex(fsverity::digest_buffer(image, repo.params()));
      if (hex != want) {
        tried.push_back(fmt::format("V{} {} gives {}", format, xattr_name(xm), hex));
        continue;
      }
      std::string written = BS_TRY(repo.write_image(image));
      if (written != want) return internal_error("images/{} written for digest {}", written, want);
      // A record for the variant, so `repo gc` and `image ls` know it.
      store::ImageRecord variant = record;
      variant.image = want;
      variant.format = format;
      variant.xattrs = xattr_name(xm);
      Bytes obj = BS_TRY(repo.write_object(as_bytes(store::serialize_image_record(variant))));
      BS_TRY(repo.set_stream(std::string(store::kImageStreamPrefix) + want + "-" + to_hex(obj).substr(0, 16), to_hex(obj)));
      out.format = format;
      out.xattrs = xattr_name(xm);
      out.repository_default = false;
      out.explanation = fmt::format(
          "the UKI was sealed for EROFS V{} ({} xattrs), this repository is pinned to V{} ({}): "
          "wrote the V{} image {} beside the pinned one so the UKI's digest names a real image",
          format, out.xattrs, record.format, record.xattrs, format, want.substr(0, 16));
      return out;
    }
  }
  return check_error("the UKI's composefs digest {} matches no variant of image {}: {}. Nothing was changed; "
                     "the UKI was sealed from a different image (or a different composefs writer)",
                     want, record.image.substr(0, 16), fmt::join(tried, "; "));
}

Result<StageResult> stage_deployment(const Sysroot& s, store::Repository& repo, const StageOptions& o) {
  auto step = [&](const std::string& m) {
    if (o.step) o.step(m);
  };
  StageResult res;
  // --- 1. Everything is checked before anything changes.
  bls::ComposefsKarg karg = BS_TRY(uki_karg(o.uki, o.uki_label));
  uki::Inspection in = BS_TRY_CTX(uki::inspect(o.uki), "{}", o.uki_label);
  if (!in.signed_)
    return input_error("{}: the UKI is not signed; Secure Boot would refuse it (sign it with `bootseal sign`)", o.uki_label);
  std::vector<boot::EntryInfo> entries = BS_TRY(boot::read_entries(s.esp));
  std::vector<boot::EntryInfo> ours;
  for (auto& e : entries)
    if (!e.digest.empty()) ours.push_back(e);
  step("matching the UKI's composefs digest to the image");
  res.image = BS_TRY(resolve_boot_image(repo, o.image_ref, karg, o.allow_insecure));
  res.digest = res.image.digest;
  if (!ours.empty() && ours[0].digest == res.digest && sys::path_exists(deploy_dir(s, res.digest))) {
    res.unchanged = true;
    res.rollback = ours.size() > 1 ? ours[1].digest : "";
    // Same image, different UKI bytes (re-signed, new kernel arguments): replace the UKI only.
    auto current = sys::read_file(uki_file(s, res.digest));
    if (!current.ok() || *current != o.uki) {
      BS_TRY(check_bootable(repo, res.digest));
      BS_TRY_CTX(sys::write_file_atomic(uki_file(s, res.digest), o.uki), "replacing the UKI");
      res.uki_replaced = true;
    }
    return res;
  }
  step("checking the image boots (fs-verity digest, objects)");
  BS_TRY(check_bootable(repo, res.digest));

  // The deployment kept as rollback: the booted one, else the current default.
  std::optional<boot::EntryInfo> keep;
  for (auto& e : ours)
    if ((s.booted && e.digest == *s.booted) || (!s.booted && &e == &ours[0])) keep = e;
  if (s.booted && !keep && !ours.empty())
    return check_error("the booted deployment {} has no boot entry; refusing to change entries (see `bootseal status`)",
                       s.booted->substr(0, 16));
  if (keep && keep->digest == res.digest) keep.reset();  // re-deploying the rollback: no rollback left
  res.rollback = keep ? keep->digest : "";

  // --- 2. State: state/deploy/<digest> with the merged /etc.
  step("preparing /etc and the origin");
  const std::string objects = repo.path() + "/objects";
  fstree::Tree new_tree = BS_TRY_CTX(composefs::read_image(BS_TRY(repo.read_image(res.digest))), "images/{}", res.digest);
  const std::string dep = deploy_dir(s, res.digest);
  const bool have_state = sys::path_exists(dep);  // a listed deployment (e.g. the booted one): keep its state
  const std::string tmp = s.root + "/state/deploy/.staging-" + res.digest.substr(0, 16);
  if (sys::path_exists(tmp)) BS_TRY(sys::remove_tree(tmp));
  if (!have_state) BS_TRY(sys::mkdir_p(tmp));
  std::string from = ours.empty() ? "" : ours[0].digest;
  if (s.booted) from = *s.booted;
  if (have_state) {
    // nothing to prepare
  } else if (!from.empty() && sys::path_exists(deploy_dir(s, from) + "/etc") && repo.has_image(from)) {
    fstree::Tree old_tree = BS_TRY_CTX(composefs::read_image(BS_TRY(repo.read_image(from))), "images/{}", from);
    MergeReport mr = BS_TRY(merge_etc(old_tree, deploy_dir(s, from) + "/etc", new_tree, objects, tmp + "/etc"));
    res.etc_kept = std::move(mr.kept);
    res.etc_removed = std::move(mr.removed);
  } else {
    BS_TRY(checkout(new_tree, "/etc", objects, tmp + "/etc"));
  }
  if (!sys::path_exists(s.root + "/state/os/default/var")) BS_TRY(checkout(new_tree, "/var", objects, s.root + "/state/os/default/var"));
  if (!have_state) {
    BS_TRY(sys::make_symlink("../../os/default/var", tmp + "/var"));
    store::ImageRecord rec = BS_TRY(store::find_image(repo, o.image_ref)).second;
    BS_TRY(sys::write_file_atomic(tmp + "/" + res.digest + ".origin",
                                  as_bytes(format_origin(o.source, res.digest, rec.manifest_digest))));
  }
  BS_TRY(store::pin_deployment(repo, res.digest, o.source));

  // --- 3. ESP: the UKI, then the entry set. Make room first if the ESP is
  // short: the deployments that will be pruned go before the new UKI lands.
  step("installing the UKI and the boot entries");
  std::set<std::string> live = {res.digest};
  if (keep) live.insert(keep->digest);
  if (s.booted) live.insert(*s.booted);
  struct statvfs vfs;
  if (::statvfs(s.esp.c_str(), &vfs) == 0 &&
      static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize < o.uki.size() + (1u << 20)) {
    std::vector<boot::Deployment> remain;
    for (auto& k : ours)
      if (live.count(k.digest) && remain.size() < 2) remain.push_back(entry_from(k));
    if (!remain.empty() && remain.size() < ours.size()) BS_TRY(boot::replace_entries(s.esp, remain));
    for (auto& e : ours)
      if (!live.count(e.digest)) BS_TRY(sys::remove_tree(uki_file(s, e.digest)));
  }
  BS_TRY(sys::mkdir_p(sys::dirname_of(uki_file(s, res.digest))));
  BS_TRY_CTX(sys::write_file_atomic(uki_file(s, res.digest), o.uki), "installing the UKI (is the ESP full?)");
  if (!have_state) {
    BS_TRY(sys::rename_path(tmp, dep));
    BS_TRY(sys::sync_dir(sys::dirname_of(dep)));
  }
  std::vector<boot::Deployment> set = {entry_for(res.digest, in)};
  if (keep) set.push_back(entry_from(*keep));
  BS_TRY(boot::replace_entries(s.esp, set));

  // --- 4. Prune what no entry (and not the booted system) uses.
  step("pruning old deployments");
  res.pruned = BS_TRY(prune_unused(s, repo, live, false));
  return res;
}

Result<std::vector<std::string>> prune_unused(const Sysroot& s, store::Repository& repo,
                                              const std::set<std::string>& live, bool dry_run) {
  std::vector<std::string> pruned;
  auto note = [&](const std::string& d) {
    if (std::find(pruned.begin(), pruned.end(), d) == pruned.end()) pruned.push_back(d);
  };
  for (const std::string& name : BS_TRY(sys::list_names(s.esp + "/" + std::string(boot::kUkiDir)))) {
    auto d = boot::digest_of_uki_path("/" + std::string(boot::kUkiDir) + "/" + name);
    if (!d || live.count(*d)) continue;
    if (!dry_run) BS_TRY(sys::remove_tree(uki_file(s, *d)));
    note(*d);
  }
  for (const std::string& name : BS_TRY(sys::list_names(s.root + "/state/deploy"))) {
    if (!is_digest(name) || live.count(name)) continue;
    if (!dry_run) {
      BS_TRY(sys::remove_tree(deploy_dir(s, name)));
      BS_TRY(store::unpin_deployment(repo, name));
    }
    note(name);
  }
  return pruned;
}

Result<std::vector<std::string>> prune_deployments(const Sysroot& s, store::Repository& repo, bool dry_run) {
  std::set<std::string> live;
  for (auto& e : BS_TRY(boot::read_entries(s.esp)))
    if (!e.digest.empty()) live.insert(e.digest);
  if (s.booted) live.insert(*s.booted);
  if (live.empty()) return input_error("{}: no boot entries; refusing to prune every deployment", s.esp);
  return prune_unused(s, repo, live, dry_run);
}

Result<std::pair<std::string, std::string>> rollback(const Sysroot& s) {
  std::vector<boot::EntryInfo> ours;
  for (auto& e : BS_TRY(boot::read_entries(s.esp)))
    if (!e.digest.empty()) ours.push_back(e);
  if (ours.size() < 2) return input_error("{}: no rollback deployment (only {} boot entr{})", s.esp, ours.size(), ours.size() == 1 ? "y" : "ies");
  const boot::EntryInfo& next = ours[1];
  if (!sys::path_exists(uki_file(s, next.digest))) return check_error("rollback deployment {}: its UKI is missing", next.digest.substr(0, 16));
  if (!sys::path_exists(s.root + "/composefs/images/" + next.digest))
    return check_error("rollback deployment {}: composefs/images/{} is missing, it would not boot", next.digest.substr(0, 16), next.digest);
  if (!sys::path_exists(deploy_dir(s, next.digest))) return check_error("rollback deployment {}: state/deploy is missing", next.digest.substr(0, 16));
  BS_TRY(boot::replace_entries(s.esp, {entry_from(ours[1]), entry_from(ours[0])}));
  return std::make_pair(ours[1].digest, ours[0].digest);
}

}  // namespace bootseal::deploy
