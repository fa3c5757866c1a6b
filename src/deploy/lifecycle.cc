#include "deploy/lifecycle.h"

#include <algorithm>
#include <set>

#include "authenticode/authenticode.h"
#include "base/hex.h"
#include "bls/os_release.h"
#include "composefs/image.h"
#include "deploy/checkout.h"
#include "deploy/etc_merge.h"
#include "efivar/esl.h"
#include "fsverity/fsverity.h"
#include "store/import.h"
#include "sys/file.h"
#include "sys/fsops.h"
#include "sys/space.h"
#include "sys/tree.h"
#include "uki/uki.h"

namespace bootseal::deploy {
namespace {

std::string deploy_dir(const Sysroot& s, const std::string& digest) { return s.root + "/state/deploy/" + digest; }
std::string uki_file(const Sysroot& s, const std::string& digest) { return s.esp + "/" + boot::uki_path(digest); }
std::string staged_path(const Sysroot& s) { return s.root + "/" + std::string(kStagedRecord); }
std::string failed_path(const Sysroot& s) { return s.root + "/" + std::string(kFinalizeFailed); }

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
  d.tries_left = e.tries_left;  // its boot-counting state carries over
  d.tries_done = e.tries_done;
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
  if (auto staged = BS_TRY(read_staged(s))) {
    DeploymentStatus d;
    d.digest = staged->digest;
    d.role = "staged";
    d.booted = s.booted && *s.booted == d.digest;
    d.uki_present = sys::path_exists(uki_file(s, d.digest));
    d.image_present = sys::path_exists(s.root + "/composefs/images/" + d.digest);
    d.state_present = sys::path_exists(deploy_dir(s, d.digest));
    d.source = staged->source;
    d.manifest_digest = staged->manifest_digest;
    if (!d.uki_present) st.problems.push_back(fmt::format("staged deployment {}: UKI {} is missing", d.digest.substr(0, 16), boot::uki_path(d.digest)));
    if (!d.image_present) st.problems.push_back(fmt::format("staged deployment {}: composefs/images/{} is missing", d.digest.substr(0, 16), d.digest));
    st.staged = std::move(d);
  }
  if (sys::path_exists(failed_path(s))) {
    st.finalize_failed = BS_TRY(sys::read_text_file(failed_path(s)));
    while (!st.finalize_failed.empty() && st.finalize_failed.back() == '\n') st.finalize_failed.pop_back();
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

namespace {

std::vector<boot::EntryInfo> our_entries(const std::vector<boot::EntryInfo>& entries) {
  std::vector<boot::EntryInfo> ours;
  for (auto& e : entries)
    if (!e.digest.empty()) ours.push_back(e);
  return ours;
}

// The deployment kept as rollback when `digest` becomes the default: the
// booted one, else the current default (offline).
Result<std::optional<boot::EntryInfo>> kept_deployment(const Sysroot& s, const std::vector<boot::EntryInfo>& ours,
                                                       const std::string& digest) {
  std::optional<boot::EntryInfo> keep;
  for (auto& e : ours)
    if ((s.booted && e.digest == *s.booted) || (!s.booted && &e == &ours[0])) keep = e;
  if (s.booted && !keep && !ours.empty())
    return check_error("the booted deployment {} has no boot entry; refusing to change entries (see `bootseal status`)",
                       s.booted->substr(0, 16));
  if (keep && keep->digest == digest) keep.reset();  // re-deploying the rollback: no rollback left
  return keep;
}

}  // namespace

Result<std::vector<crypto::Certificate>> db_certificates(ByteSpan esl, const std::string& label) {
  std::vector<crypto::Certificate> out;
  for (const efivar::SignatureList& l : BS_TRY_CTX(efivar::parse_signature_lists(esl), "{}", label)) {
    if (!(l.SignatureType == efivar::kEfiCertX509)) continue;
    for (const efivar::SignatureEntry& e : l.Signatures)
      out.push_back(BS_TRY_CTX(crypto::Certificate::from_der(e.SignatureData, label), "{}", label));
  }
  return out;
}

Result<std::optional<StagedDeployment>> read_staged(const Sysroot& s) {
  const std::string p = staged_path(s);
  if (!sys::path_exists(p)) return std::optional<StagedDeployment>{};
  Origin o = parse_origin(BS_TRY(sys::read_text_file(p)));
  StagedDeployment d;
  d.digest = o["boot"]["digest"];
  d.image_ref = o["staged"]["image"];
  if (auto t = o["boot"]["tries"]; !t.empty()) {
    d.boot_tries = 0;
    for (char c : t) {
      if (c < '0' || c > '9' || d.boot_tries > 1000) return check_error("{}: [boot] tries '{}' is not a small number", p, t);
      d.boot_tries = d.boot_tries * 10 + (c - '0');
    }
  } else {
    d.boot_tries = 0;
  }
  d.source = o["origin"]["container-image-reference"];
  d.manifest_digest = o["image"]["manifest_digest"];
  if (!is_digest(d.digest)) return check_error("{}: [boot] digest '{}' is not a composefs digest", p, d.digest);
  if (d.image_ref.empty()) d.image_ref = d.digest;
  return std::optional<StagedDeployment>(std::move(d));
}

std::optional<Arch> esp_arch(const std::string& esp, std::string* what) {
  const bool x64 = sys::path_exists(esp + "/EFI/BOOT/BOOTX64.EFI");
  const bool aa64 = sys::path_exists(esp + "/EFI/BOOT/BOOTAA64.EFI");
  if (x64 || aa64) {
    if (what) *what = fmt::format("{}/EFI/BOOT/BOOT{}.EFI", esp, x64 ? "X64" : "AA64");
    return x64 ? Arch::kX86_64 : Arch::kArm64;
  }
  return std::nullopt;
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
  if (o.trusted.empty())
    return input_error("{}: no db certificates to check the UKI's signature against: give --db CERT", o.uki_label);
  authenticode::VerifyReport vr = BS_TRY_CTX(authenticode::verify(o.uki, o.trusted), "{}", o.uki_label);
  if (!vr.ok())
    return check_error("{}: its signature does not chain to a certificate in {} ({}): the firmware would refuse it; "
                       "nothing was changed", o.uki_label, o.trusted_label, vr.failure());
  // The architecture: the UKI's stub must be the image's and the ESP's loader's.
  Arch uki_arch = BS_TRY_CTX(uki::pe_arch(o.uki), "{}", o.uki_label);
  if (o.arch && *o.arch != uki_arch)
    return input_error("{}: the UKI is {} (PE Machine {:#06x}) but the image is {} ({}): nothing was changed", o.uki_label,
                       arch_name(uki_arch), arch_info(uki_arch).pe_machine, arch_name(*o.arch), o.arch_label);
  std::string loader;
  if (auto ea = esp_arch(s.esp, &loader); ea && *ea != uki_arch)
    return input_error("{}: the UKI is {} but this system boots {} ({}): nothing was changed", o.uki_label, arch_name(uki_arch),
                       arch_name(*ea), loader);
  std::vector<boot::EntryInfo> ours = our_entries(BS_TRY(boot::read_entries(s.esp)));
  std::optional<StagedDeployment> previous = BS_TRY(read_staged(s));
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
    if (previous) {  // the default is wanted again: a staged change is dropped
      BS_TRY(discard_staged(s, repo));
      res.replaced_staged = previous->digest;
    }
    return res;
  }
  step("checking the image boots (fs-verity digest, objects)");
  BS_TRY(check_bootable(repo, res.digest));
  std::optional<boot::EntryInfo> keep = BS_TRY(kept_deployment(s, ours, res.digest));
  res.rollback = keep ? keep->digest : "";
  store::ImageRecord rec = BS_TRY(store::find_image(repo, o.image_ref)).second;

  // --- 2. ESP: the UKI (not named by any entry yet). Make room first if the
  // ESP is short: deployments finalize would prune go now.
  step("installing the UKI");
  std::set<std::string> live = {res.digest};
  if (keep) live.insert(keep->digest);
  if (s.booted) live.insert(*s.booted);
  const bool have_uki = sys::path_exists(uki_file(s, res.digest));
  uint64_t avail = BS_TRY(sys::free_bytes(s.esp, "ESP"));
  const uint64_t need = o.uki.size() + (1u << 20);
  uint64_t reclaimable = 0;  // UKIs finalize would prune anyway
  for (auto& e : ours)
    if (!live.count(e.digest))
      if (auto sz = sys::file_size(uki_file(s, e.digest)); sz.ok()) reclaimable += *sz;
  if (!have_uki && avail + reclaimable < need)
    return input_error("{}: the ESP has {} KiB free ({} KiB more from deployments that go), the UKI needs {} KiB: "
                       "nothing was changed", s.esp, avail >> 10, reclaimable >> 10, need >> 10);
  if (!have_uki && avail < need) {
    std::vector<boot::Deployment> remain;
    for (auto& k : ours)
      if (live.count(k.digest) && remain.size() < 2) remain.push_back(entry_from(k));
    if (!remain.empty() && remain.size() < ours.size()) BS_TRY(boot::replace_entries(s.esp, remain));
    for (auto& e : ours)
      if (!live.count(e.digest)) BS_TRY(sys::remove_tree(uki_file(s, e.digest)));
  }
  BS_TRY(sys::mkdir_p(sys::dirname_of(uki_file(s, res.digest))));
  BS_TRY_CTX(sys::write_file_atomic(uki_file(s, res.digest), o.uki), "installing the UKI (is the ESP full?)");
  BS_TRY(store::pin_deployment(repo, res.digest, o.source));

  // --- 3. The staged record replaces any earlier one (whose UKI and pin go
  // unless something else uses them).
  step("writing the staged deployment");
  std::string record = format_origin(o.source, res.digest, rec.manifest_digest);
  if (o.boot_tries > 0) {
    size_t at = record.find("\n[boot]\n");
    record.insert(at + 8, fmt::format("tries={}\n", o.boot_tries));
  }
  record += fmt::format("\n[staged]\nimage={}\n", o.image_ref);
  BS_TRY(sys::write_file_atomic(staged_path(s), as_bytes(record)));
  if (sys::path_exists(failed_path(s))) BS_TRY(sys::remove_tree(failed_path(s)));
  if (previous && previous->digest != res.digest) {
    res.replaced_staged = previous->digest;
    bool used = s.booted && *s.booted == previous->digest;
    for (auto& e : ours) used |= e.digest == previous->digest;
    if (!used) {
      BS_TRY(sys::remove_tree(uki_file(s, previous->digest)));
      if (!sys::path_exists(deploy_dir(s, previous->digest))) BS_TRY(store::unpin_deployment(repo, previous->digest));
    }
  }
  return res;
}

Result<std::optional<std::string>> discard_staged(const Sysroot& s, store::Repository& repo) {
  std::optional<StagedDeployment> st = BS_TRY(read_staged(s));
  if (!st) return std::optional<std::string>{};
  bool used = s.booted && *s.booted == st->digest;
  for (auto& e : BS_TRY(boot::read_entries(s.esp))) used |= e.digest == st->digest;
  BS_TRY(sys::remove_tree(staged_path(s)));
  if (sys::path_exists(failed_path(s))) BS_TRY(sys::remove_tree(failed_path(s)));
  if (!used) {
    BS_TRY(sys::remove_tree(uki_file(s, st->digest)));
    if (!sys::path_exists(deploy_dir(s, st->digest))) BS_TRY(store::unpin_deployment(repo, st->digest));
  }
  return std::optional<std::string>(st->digest);
}

namespace {

Result<FinalizeResult> finalize_inner(const Sysroot& s, store::Repository& repo, const StagedDeployment& st) {
  FinalizeResult res;
  res.digest = st.digest;
  // --- 1. The staged UKI is still what was staged and still boots.
  const std::string uki_path = uki_file(s, st.digest);
  if (!sys::path_exists(uki_path)) return check_error("the staged UKI {} is missing", boot::uki_path(st.digest));
  Bytes uki = BS_TRY(sys::read_file(uki_path));
  bls::ComposefsKarg karg = BS_TRY(uki_karg(uki, uki_path));
  if (to_hex(karg.digest) != st.digest)
    return check_error("the staged UKI {} seals {}, not the staged digest", boot::uki_path(st.digest), to_hex(karg.digest).substr(0, 16));
  uki::Inspection in = BS_TRY_CTX(uki::inspect(uki), "{}", uki_path);
  if (!in.signed_) return check_error("the staged UKI {} is not signed", boot::uki_path(st.digest));
  BS_TRY(check_bootable(repo, st.digest));
  std::vector<boot::EntryInfo> ours = our_entries(BS_TRY(boot::read_entries(s.esp)));
  if (!ours.empty() && ours[0].digest == st.digest && sys::path_exists(deploy_dir(s, st.digest))) {
    // A finalize interrupted after the swap: the entries are final already
    // (computing them again would drop the rollback).
    res.rollback = ours.size() > 1 ? ours[1].digest : "";
    return res;
  }
  std::optional<boot::EntryInfo> keep = BS_TRY(kept_deployment(s, ours, st.digest));
  res.rollback = keep ? keep->digest : "";

  // --- 2. State: state/deploy/<digest> with /etc merged now, from the
  // running deployment's /etc as it is at this moment.
  const std::string objects = repo.path() + "/objects";
  fstree::Tree new_tree = BS_TRY_CTX(composefs::read_image(BS_TRY(repo.read_image(st.digest))), "images/{}", st.digest);
  const std::string dep = deploy_dir(s, st.digest);
  const bool have_state = sys::path_exists(dep);  // a listed deployment (e.g. the rollback): keep its state
  if (!have_state) {
    const std::string tmp = s.root + "/state/deploy/.staging-" + st.digest.substr(0, 16);
    if (sys::path_exists(tmp)) BS_TRY(sys::remove_tree(tmp));
    BS_TRY(sys::mkdir_p(tmp));
    std::string from = ours.empty() ? "" : ours[0].digest;
    if (s.booted) from = *s.booted;
    if (!from.empty() && sys::path_exists(deploy_dir(s, from) + "/etc") && repo.has_image(from)) {
      fstree::Tree old_tree = BS_TRY_CTX(composefs::read_image(BS_TRY(repo.read_image(from))), "images/{}", from);
      MergeReport mr = BS_TRY(merge_etc(old_tree, deploy_dir(s, from) + "/etc", new_tree, objects, tmp + "/etc"));
      res.etc_kept = std::move(mr.kept);
      res.etc_removed = std::move(mr.removed);
    } else {
      BS_TRY(checkout(new_tree, "/etc", objects, tmp + "/etc"));
    }
    if (!sys::path_exists(s.root + "/state/os/default/var"))
      BS_TRY(checkout(new_tree, "/var", objects, s.root + "/state/os/default/var"));
    BS_TRY(sys::make_symlink("../../os/default/var", tmp + "/var"));
    BS_TRY(sys::write_file_atomic(tmp + "/" + st.digest + ".origin",
                                  as_bytes(format_origin(st.source, st.digest, st.manifest_digest))));
    BS_TRY(sys::rename_path(tmp, dep));
    BS_TRY(sys::sync_dir(sys::dirname_of(dep)));
  }
  BS_TRY(store::pin_deployment(repo, st.digest, st.source));

  // --- 3. The entry set, swapped as one.
  boot::Deployment next = entry_for(st.digest, in);
  if (st.boot_tries > 0) next.tries_left = st.boot_tries;  // counted until blessed
  std::vector<boot::Deployment> set = {next};
  if (keep) set.push_back(entry_from(*keep));
  BS_TRY(boot::replace_entries(s.esp, set));
  return res;
}

}  // namespace

Result<FinalizeResult> finalize_staged(const Sysroot& s, store::Repository& repo) {
  std::optional<StagedDeployment> st = BS_TRY(read_staged(s));
  if (!st) {
    FinalizeResult r;
    r.nothing_staged = true;
    return r;
  }
  auto r = finalize_inner(s, repo, *st);
  if (!r.ok()) {
    // The entries were not touched (the swap is the last step that can fail):
    // say why on the next boot.
    std::string why = fmt::format("finalize of {} failed: {}\n", st->digest, r.error().message());
    Status w = sys::write_file_atomic(failed_path(s), as_bytes(why));
    (void)w;
    return r.error();
  }
  FinalizeResult res = std::move(*r);
  BS_TRY(sys::remove_tree(staged_path(s)));
  if (sys::path_exists(failed_path(s))) BS_TRY(sys::remove_tree(failed_path(s)));
  BS_TRY(sys::sync_dir(s.root + "/state"));
  // --- 4. Prune what no entry (and not the booted system) uses.
  std::set<std::string> live = {res.digest};
  if (!res.rollback.empty()) live.insert(res.rollback);
  if (s.booted) live.insert(*s.booted);
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
  if (auto st = BS_TRY(read_staged(s))) live.insert(st->digest);
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
