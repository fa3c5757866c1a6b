// bootseal image import|ls|digest|diff: OCI images into the repository, and
// the boot digest builder and device must agree on (docs/formats/oci.md).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

#include "base/hex.h"
#include "base/text.h"
#include "bls/karg.h"
#include "cli/command.h"
#include "cli/repo_util.h"
#include "composefs/image.h"
#include "deploy/lifecycle.h"
#include "fstree/dumpfile.h"
#include "fsverity/fsverity.h"
#include "oci/transport.h"
#include "store/import.h"
#include "sys/file.h"
#include "sys/tty.h"
#include "uki/uki.h"

namespace bootseal::cli {
namespace {

struct ImportOptions {
  RepoFlags rf;
  RegistryFlags reg;
  bool pull = false;
  std::string ref;
  std::string platform;
  std::string xattrs = "allowlist";
  std::string source;
};

Result<store::ImageOptions> image_options(const std::string& platform, const std::string& xattrs) {
  store::ImageOptions o;
  if (!platform.empty()) o.platform = BS_TRY(oci::parse_platform(platform));
  o.xattrs = BS_TRY(parse_xattrs(xattrs));
  return o;
}

Status import_cmd(const ImportOptions& io, const Globals& g) {
  auto t0 = std::chrono::steady_clock::now();
  store::ImageOptions o = BS_TRY(image_options(io.platform, io.xattrs));
  if (io.pull && !io.source.starts_with("docker://"))
    return usage_error("image pull: \"{}\" is not a registry reference (docker://HOST/NAME[:TAG|@DIGEST]); use image import",
                       io.source);
  auto repo = BS_TRY(open_repo(io.rf));
  store::ImportStats stats;
  bool progress = !g.quiet && !g.json;
  auto res = BS_TRY(import_source(repo, io.source, o, io.ref, progress, &stats,
                                  registry_options(io.reg, g, progress && sys::stderr_is_terminal())));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (g.json) {
    print_json({{"image", res.image}, {"ref", io.ref}, {"manifest_digest", res.record.manifest_digest},
                {"layers_read", stats.layers_read}, {"layers_reused", stats.layers_reused},
                {"files", stats.files}, {"bytes", stats.bytes}, {"objects_written", repo.objects_written()},
                {"objects_deduplicated", repo.objects_deduplicated()}, {"objects_cloned", repo.objects_cloned()},
                {"seconds", secs}});
  } else {
    std::printf("%s\n", res.image.c_str());
    if (g.verbose)
      std::fprintf(stderr, "%llu layers read, %llu reused, %llu files, %llu bytes, %llu objects written, %llu deduplicated, %.2f s\n",
                   static_cast<unsigned long long>(stats.layers_read), static_cast<unsigned long long>(stats.layers_reused),
                   static_cast<unsigned long long>(stats.files), static_cast<unsigned long long>(stats.bytes),
                   static_cast<unsigned long long>(repo.objects_written()),
                   static_cast<unsigned long long>(repo.objects_deduplicated()), secs);
  }
  return {};
}

// One row per image (an image imported from several sources, or under several
// references, has several import records): its references and sources as columns.
Status ls_cmd(const RepoFlags& rf, const Globals& g) {
  auto repo = BS_TRY(open_repo(rf));
  std::map<std::string, std::vector<std::string>> by_stream;
  for (auto& [ref, stream] : BS_TRY(repo.list_refs())) by_stream[stream].push_back(ref);
  struct Row {
    store::ImageRecord r;
    std::vector<std::string> refs, sources, manifests;
  };
  std::vector<Row> rows;
  std::map<std::string, size_t> by_image;
  auto add_unique = [](std::vector<std::string>& v, const std::string& x) {
    if (!x.empty() && std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
  };
  for (auto& s : BS_TRY(repo.list_streams())) {
    if (!s.starts_with(store::kImageStreamPrefix)) continue;
    auto found = store::find_image(repo, s.substr(strlen(store::kImageStreamPrefix)));
    if (!found.ok()) continue;
    auto& r = found->second;
    auto [it, fresh] = by_image.emplace(r.image, rows.size());
    if (fresh) rows.push_back(Row{r, {}, {}, {}});
    Row& row = rows[it->second];
    for (auto& x : by_stream[s]) add_unique(row.refs, x);
    add_unique(row.sources, r.source);
    add_unique(row.manifests, r.manifest_digest);
  }
  nlohmann::json out = nlohmann::json::array();
  if (!g.json)
    std::printf("%-24s %-20s %-8s %-25s %-12s %-19s %s\n", "REFERENCE", "IMAGE", "ARCH", "CREATED", "VERSION", "MANIFEST",
                "SOURCES");
  for (auto& row : rows) {
    const auto& r = row.r;
    std::sort(row.refs.begin(), row.refs.end());
    if (g.json) {
      out.push_back({{"refs", row.refs}, {"image", r.image}, {"manifest_digest", r.manifest_digest},
                     {"manifest_digests", row.manifests}, {"config_digest", r.config_digest},
                     {"architecture", r.architecture}, {"created", r.created}, {"version", r.version},
                     {"source", r.source}, {"sources", row.sources}, {"format", r.format}, {"hash", r.hash},
                     {"transforms", r.transforms}});
    } else {
      std::string refstr, srcstr;
      for (auto& x : row.refs) refstr += (refstr.empty() ? "" : ",") + x;
      for (auto& x : row.sources) srcstr += (srcstr.empty() ? "" : ", ") + utf8_or_latin1(x);
      std::printf("%-24s %-20s %-8s %-25s %-12s %-19s %s\n", refstr.empty() ? "<none>" : refstr.c_str(),
                  r.image.substr(0, 20).c_str(), r.architecture.empty() ? "-" : r.architecture.c_str(),
                  r.created.empty() ? "-" : r.created.substr(0, 25).c_str(), r.version.empty() ? "-" : r.version.c_str(),
                  r.manifest_digest.empty() ? "-" : r.manifest_digest.substr(0, 19).c_str(), srcstr.empty() ? "-" : srcstr.c_str());
    }
  }
  if (g.json) print_json(out);
  return {};
}

struct DigestOptions {
  RepoFlags rf;
  RegistryFlags reg;
  std::string source;
  std::string dumpfile;
  std::string image_out;
  std::string format = "v1";
  std::string hash = "sha512";
  std::string xattrs = "allowlist";
  std::string platform;
};

Status digest_cmd(const DigestOptions& d, const Globals& g) {
  store::ImageOptions o = BS_TRY(image_options(d.platform, d.xattrs));
  o.hash = BS_TRY(parse_hash(d.hash));
  o.format = BS_TRY(parse_format(d.format));
  LoadedTree lt = BS_TRY(load_tree(d.source, d.rf, o, registry_options(d.reg, g, false)));
  // The rule `image import` follows (docs/formats/oci.md): the OCI transform when
  // /usr exists, the boot transform when /boot and /sysroot exist too.
  std::vector<std::string> applied;
  fstree::Tree t = BS_TRY_CTX(store::transform_tree(lt.tree, store::Transforms::kAuto, o.xattrs, &applied, lt.read), "{}", lt.label);
  if (std::find(applied.begin(), applied.end(), "boot") == applied.end() && !g.quiet)
    warn(fmt::format("{}: no /usr, /boot or /sysroot directory: boot transform not applied (as `image import` does); "
                     "bootc computes no boot digest for such a tree", lt.label));
  if (!d.dumpfile.empty()) BS_TRY(sys::write_file_atomic(d.dumpfile, as_bytes(fstree::print_dumpfile(t))));
  Bytes image = BS_TRY_CTX(store::make_image(t, o.format), "{}", lt.label);
  if (!d.image_out.empty()) BS_TRY(sys::write_file_atomic(d.image_out, image));
  fsverity::Params p;
  p.alg = o.hash;
  std::string hex = to_hex(fsverity::digest_buffer(image, p));
  if (g.json)
    print_json({{"digest", hex}, {"format", fmt::format("v{}", o.format)}, {"hash", d.hash}, {"xattrs", d.xattrs},
                {"transforms", applied},
                {"karg", "composefs=" + hex},
                {"karg_self_describing", fmt::format("composefs.digest=v{}-{}-12:{}", o.format, d.hash, hex)}});
  else
    std::printf("%s\n", hex.c_str());
  return {};
}

struct MatchOptions {
  RepoFlags rf;
  std::string uki;
  std::string source;
  std::string platform;
};

// Tries {allowlist, keep-user} x {V1, V2}, as composefs-rs's
// find_matching_boot_image does, with the karg's hash.
Status match_uki_cmd(const MatchOptions& m, const Globals& g) {
  bls::ComposefsKarg k = BS_TRY(deploy::uki_karg(BS_TRY(sys::read_file(m.uki)), m.uki));
  std::string want = to_hex(k.digest);
  store::ImageOptions o = BS_TRY(image_options(m.platform, "allowlist"));
  o.hash = k.hash == bls::KargHash::kSha512 ? crypto::HashAlg::kSha512 : crypto::HashAlg::kSha256;
  std::string hash_name(bls::karg_hash_name(k.hash));
  LoadedTree lt = BS_TRY(load_tree(m.source, m.rf, o));
  nlohmann::json tried = nlohmann::json::array();
  std::optional<nlohmann::json> match;
  for (auto [xname, xmode] : {std::pair{"allowlist", oci::XattrMode::kAllowlist}, std::pair{"keep-user", oci::XattrMode::kKeepUser}}) {
    fstree::Tree t = BS_TRY_CTX(store::transform_tree(lt.tree, store::Transforms::kAuto, xmode, nullptr, lt.read), "{}", lt.label);
    for (uint32_t format : {1u, 2u}) {
      Bytes image = BS_TRY_CTX(store::make_image(t, format), "{}", lt.label);
      fsverity::Params p;
      p.alg = o.hash;
      std::string hex = to_hex(fsverity::digest_buffer(image, p));
      nlohmann::json c = {{"format", fmt::format("v{}", format)}, {"xattrs", xname}, {"hash", hash_name}, {"digest", hex}};
      tried.push_back(c);
      if (hex == want && !match) match = c;
    }
  }
  if (g.json) {
    print_json({{"uki", m.uki}, {"source", lt.label}, {"karg_digest", want},
                {"karg_version", k.version == bls::KargVersion::kV1 ? "v1" : "v2"}, {"hash", hash_name},
                {"match", match ? *match : nlohmann::json(nullptr)}, {"tried", tried}});
  } else if (match) {
    std::printf("match: format %s, xattrs %s, hash %s: %s\n", (*match)["format"].get<std::string>().c_str(),
                (*match)["xattrs"].get<std::string>().c_str(), hash_name.c_str(), want.c_str());
  } else {
    std::printf("no match for %s digest %s\n", hash_name.c_str(), want.c_str());
    for (auto& c : tried)
      std::printf("  %s %-9s %s\n", c["format"].get<std::string>().c_str(), c["xattrs"].get<std::string>().c_str(),
                  c["digest"].get<std::string>().c_str());
  }
  if (!match) return check_error("{}: no format/xattr mode of {} reproduces the UKI's composefs digest", m.uki, lt.label);
  return {};
}

struct DiffOptions {
  RepoFlags rf;
  std::string a, b;
  std::string hash = "sha512";
  std::string xattrs = "allowlist";
  std::string platform;
  bool raw = false;
  size_t max = 20;
};

std::map<std::string, std::string> lines_by_path(const fstree::Tree& t) {
  std::map<std::string, std::string> out;
  std::string dump = fstree::print_dumpfile(t);
  size_t pos = 0;
  while (pos < dump.size()) {
    size_t end = dump.find('\n', pos);
    if (end == std::string::npos) end = dump.size();
    std::string line = dump.substr(pos, end - pos);
    out[line.substr(0, line.find(' '))] = line;
    pos = end + 1;
  }
  return out;
}

Status diff_cmd(const DiffOptions& d, const Globals& g) {
  store::ImageOptions o = BS_TRY(image_options(d.platform, d.xattrs));
  o.hash = BS_TRY(parse_hash(d.hash));
  LoadedTree a = BS_TRY(load_tree(d.a, d.rf, o));
  LoadedTree b = BS_TRY(load_tree(d.b, d.rf, o));
  auto prep = [&](const LoadedTree& t) -> Result<fstree::Tree> {
    return store::transform_tree(t.tree, d.raw ? store::Transforms::kNone : store::Transforms::kAuto, o.xattrs, nullptr,
                                 t.read);
  };
  auto la = lines_by_path(BS_TRY(prep(a))), lb = lines_by_path(BS_TRY(prep(b)));
  std::vector<std::string> diffs;
  nlohmann::json out = nlohmann::json::array();
  size_t count = 0;
  auto ia = la.begin();
  auto ib = lb.begin();
  while (ia != la.end() || ib != lb.end()) {
    std::optional<std::string> left, right;
    std::string path;
    if (ib == lb.end() || (ia != la.end() && ia->first < ib->first)) {
      path = ia->first;
      left = ia->second;
      ++ia;
    } else if (ia == la.end() || ib->first < ia->first) {
      path = ib->first;
      right = ib->second;
      ++ib;
    } else {
      path = ia->first;
      if (ia->second != ib->second) {
        left = ia->second;
        right = ib->second;
      }
      ++ia;
      ++ib;
    }
    if (!left && !right) continue;
    count++;
    if (count > d.max) continue;
    if (g.json) {
      out.push_back({{"path", path}, {"a", left ? nlohmann::json(*left) : nlohmann::json(nullptr)},
                     {"b", right ? nlohmann::json(*right) : nlohmann::json(nullptr)}});
    } else {
      if (left) std::printf("- %s\n", left->c_str());
      if (right) std::printf("+ %s\n", right->c_str());
    }
  }
  if (g.json) print_json(out);
  if (count > d.max && !g.json) std::printf("... %zu more differing paths\n", count - d.max);
  if (count) return check_error("{} and {} differ in {} paths", a.label, b.label, count);
  if (!g.json) std::printf("no differences\n");  // the verdict, even with -q
  return {};
}

struct PushCliOptions {
  RegistryFlags reg;
  std::string source, dest, mount_from;
  uint64_t chunk = 0;
};

Status push_cmd(const PushCliOptions& p, const Globals& g) {
  oci::SourceName src = BS_TRY(oci::parse_source_name(p.source));
  if (src.transport != oci::Transport::kOciLayout && src.transport != oci::Transport::kOciArchive)
    return unsupported_error("image push: \"{}\": the source must be oci:DIR[:TAG] or oci-archive:FILE[:TAG] (images in "
                             "the repository keep no layer blobs to push)", p.source);
  oci::SourceName dst = BS_TRY(oci::parse_source_name(p.dest));
  if (dst.transport != oci::Transport::kDocker)
    return usage_error("image push: \"{}\": the destination must be docker://HOST/NAME[:TAG]", p.dest);
  auto t0 = std::chrono::steady_clock::now();
  auto client = BS_TRY(registry::Client::connect(*dst.docker, registry_options(p.reg, g, false), /*push=*/true));
  store::PushOptions po;
  po.tag = dst.docker->manifest_ref();
  po.mount_from = p.mount_from;
  po.chunk = p.chunk;
  auto r = BS_TRY_CTX(store::push_layout(src, *client, po), "push {} to {}", p.source, p.dest);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (g.json)
    print_json({{"manifest_digest", r.manifest_digest.str()}, {"media_type", r.media_type},
                {"destination", dst.docker->str()}, {"blobs_uploaded", r.blobs_uploaded},
                {"blobs_existing", r.blobs_existing}, {"blobs_mounted", r.blobs_mounted},
                {"bytes_uploaded", r.bytes_uploaded}, {"seconds", secs}});
  else
    std::printf("%s\n", r.manifest_digest.str().c_str());
  return {};
}

void setup(CLI::App& root, Context& ctx) {
  CLI::App* im = group(root, "image", "OCI images: import into the repository, boot digests, differences");

  static ImportOptions imp;
  static ImportOptions pul;
  for (auto* io : {&imp, &pul}) {
    bool pull = io == &pul;
    io->pull = pull;
    CLI::App* i = pull ? im->add_subcommand("pull", "Pull an image from a registry (docker://HOST[:PORT]/NAME[:TAG|@DIGEST]) into the repository")
                       : im->add_subcommand("import", "Import an image (docker://REF, oci:DIR[:TAG], oci-archive:FILE[:TAG], "
                                                      "docker-archive:FILE, dir:PATH)");
    json_output(i);
    add_repo_flags(i, io->rf);
    add_registry_flags(i, io->reg);
    i->add_option("--ref", io->ref, "Name the imported image (a GC root)");
    i->add_option("--platform", io->platform, "OS/ARCH[/VARIANT] to pick from a multi-arch index (default: this host)");
    i->add_option("--xattrs", io->xattrs, "Xattrs kept in the image: allowlist (security.capability) or keep-user")
        ->capture_default_str()->check(CLI::IsMember({"allowlist", "keep-user"}));
    i->add_option("SOURCE", io->source, pull ? "Registry reference" : "Image source")->required();
    i->callback([&ctx, io] { ctx.action = [&ctx, io] { return import_cmd(*io, ctx.globals); }; });
  }

  static PushCliOptions push;
  CLI::App* pu = im->add_subcommand("push", "Copy an OCI layout (oci:DIR[:TAG], oci-archive:FILE[:TAG]) to a registry, bytes unchanged");
  json_output(pu);
  add_registry_flags(pu, push.reg);
  pu->add_option("--mount-from", push.mount_from, "Mount blobs from this repository of the same registry when it has them");
  pu->add_option("--chunk-size", push.chunk, "Upload blobs in PATCH chunks of this many bytes (default: one PUT)");
  pu->add_option("SOURCE", push.source, "oci:DIR[:TAG] or oci-archive:FILE[:TAG]")->required();
  pu->add_option("DEST", push.dest, "docker://HOST[:PORT]/NAME[:TAG]")->required();
  pu->callback([&ctx] { ctx.action = [&ctx] { return push_cmd(push, ctx.globals); }; });

  static RepoFlags ls_rf;
  CLI::App* l = im->add_subcommand("ls", "List imported images: reference, image digest, architecture, created, version");
  json_output(l);
  add_repo_flags(l, ls_rf);
  l->callback([&ctx] { ctx.action = [&ctx] { return ls_cmd(ls_rf, ctx.globals); }; });

  static DigestOptions dig;
  CLI::App* d = im->add_subcommand("digest", "Print the boot digest (composefs image fs-verity digest) of an image or tree");
  json_output(d);
  add_repo_flags(d, dig.rf);
  add_registry_flags(d, dig.reg);
  d->add_option("--dumpfile", dig.dumpfile, "Write the dumpfile of the tree that was hashed");
  d->add_option("--image", dig.image_out, "Write the EROFS image that was hashed");
  d->add_option("--format", dig.format, "EROFS format: v1 (bootc >= 1.16.4) or v2")->capture_default_str()->check(CLI::IsMember({"v1", "v2"}));
  d->add_option("--hash", dig.hash, "fs-verity algorithm: sha512 (bootc) or sha256 (mkcomposefs)")->capture_default_str()->check(CLI::IsMember({"sha256", "sha512"}));
  hidden_alias(d, "--hash-alg", dig.hash)->check(CLI::IsMember({"sha256", "sha512"}));
  d->add_option("--xattrs", dig.xattrs, "allowlist (security.capability only) or keep-user")->capture_default_str()->check(CLI::IsMember({"allowlist", "keep-user"}));
  d->add_option("--platform", dig.platform, "OS/ARCH[/VARIANT] to pick from a multi-arch index");
  d->add_option("SOURCE", dig.source, "Image source, directory, or reference/image digest in the repository")->required();
  d->callback([&ctx] { ctx.action = [&ctx] { return digest_cmd(dig, ctx.globals); }; });

  static MatchOptions mu;
  CLI::App* mk = im->add_subcommand("match-uki", "Find which EROFS format and xattr mode reproduce a UKI's composefs digest");
  json_output(mk);
  add_repo_flags(mk, mu.rf);
  mk->add_option("--platform", mu.platform, "OS/ARCH[/VARIANT] to pick from a multi-arch index");
  mk->add_option("UKI", mu.uki, "The unified kernel image (its .cmdline has composefs=)")->required();
  mk->add_option("SOURCE", mu.source, "Image source, directory, or reference/image digest in the repository")->required();
  mk->callback([&ctx] { ctx.action = [&ctx] { return match_uki_cmd(mu, ctx.globals); }; });

  static DiffOptions df;
  CLI::App* f = im->add_subcommand("diff", "Print the first differing paths between two images or trees");
  json_output(f);
  add_repo_flags(f, df.rf);
  f->add_option("--hash", df.hash, "Object digest algorithm for sources: sha512 or sha256")->capture_default_str()->check(CLI::IsMember({"sha256", "sha512"}));
  hidden_alias(f, "--hash-alg", df.hash)->check(CLI::IsMember({"sha256", "sha512"}));
  f->add_option("--xattrs", df.xattrs, "allowlist or keep-user")->capture_default_str()->check(CLI::IsMember({"allowlist", "keep-user"}));
  f->add_option("--platform", df.platform, "OS/ARCH[/VARIANT] to pick from multi-arch indexes");
  f->add_flag("--raw", df.raw, "Compare the merged trees without the OCI/boot transforms");
  f->add_option("--max", df.max, "Differences printed at most")->capture_default_str();
  f->add_option("A", df.a, "First image, tree or reference")->required();
  f->add_option("B", df.b, "Second image, tree or reference")->required();
  f->callback([&ctx] { ctx.action = [&ctx] { return diff_cmd(df, ctx.globals); }; });
}

}  // namespace

BOOTSEAL_VERB(41, setup);

}  // namespace bootseal::cli
