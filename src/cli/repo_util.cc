#include "cli/repo_util.h"


#include "base/hex.h"
#include "bls/karg.h"
#include "cli/composefs_scan.h"
#include "oci/transport.h"
#include "sys/file.h"
#include "sys/tree.h"

namespace bootseal::cli {

std::optional<std::string> booted_digest() {
  auto text = sys::read_text_file("/proc/cmdline");
  if (!text.ok()) return std::nullopt;
  for (auto h : {bls::KargHash::kSha512, bls::KargHash::kSha256}) {
    auto k = bls::parse_composefs_karg(*text, h);
    if (k.ok() && *k) return to_hex((*k)->digest);
  }
  return std::nullopt;
}

std::optional<std::string> booted_repo_root() {
  if (!sys::path_exists(std::string(kBootedSysroot) + "/composefs/meta.json")) return std::nullopt;
  if (!booted_digest()) return std::nullopt;
  return std::string(kBootedSysroot);
}

std::string repo_root(const std::string& flag) {
  if (!flag.empty()) return flag;
  return store::repo_root(flag, booted_repo_root());
}

void add_repo_flags(CLI::App* c, RepoFlags& f) {
  c->add_option("--repo", f.repo,
                "Repository root (holds composefs/); default $BOOTSEAL_REPO, else the booted system's (/sysroot on a "
                "sealed system), else /var/lib/bootseal/repo");
  c->add_flag("--require-verity", f.require_verity, "Fail when fs-verity cannot be enabled on objects and images");
  c->add_flag("--no-wait", f.no_wait, "Fail at once if another process holds the repository lock");
}

void add_registry_flags(CLI::App* c, RegistryFlags& f) {
  c->add_option("--creds", f.creds, "docker://: USER[:PASSWORD] for the registry (default: auth.json, see docs/registry.md)");
  c->add_option("--authfile", f.authfile, "docker://: the auth.json to read credentials from");
  c->add_option("--cert-dir", f.cert_dir, "docker://: directory of *.crt CA certificates (and a *.cert/*.key client pair)");
  c->add_option("--tls-verify", f.tls_verify, "docker://: verify the registry's certificate (false also allows plain HTTP)")
      ->capture_default_str();
  c->add_option("--retry-times", f.retries, "docker://: retries of a failed request or interrupted download")
      ->capture_default_str();
}

registry::Options registry_options(const RegistryFlags& f, const Globals& g, bool progress) {
  registry::Options o;
  o.creds = f.creds;
  o.authfile = f.authfile;
  o.cert_dir = f.cert_dir;
  o.tls_verify = f.tls_verify;
  o.retries = std::max(0, f.retries);
  o.verbose = g.verbose > 0;
  o.progress = progress;
  return o;
}

Result<store::Repository> open_repo(const RepoFlags& f, bool exclusive) {
  store::RepoOptions o;
  o.require_verity = f.require_verity;
  o.wait_lock = !f.no_wait;
  o.exclusive = exclusive;
  store::Repository::warn_fn = [](const std::string& m) { warn(m); };
  return store::Repository::open(repo_root(f.repo), o);
}

Result<store::ImportResult> import_source(store::Repository& repo, const std::string& given, store::ImageOptions o,
                                          const std::string& ref, bool progress, store::ImportStats* stats,
                                          const registry::Options& ro) {
  o.hash = repo.algorithm();
  o.format = repo.meta().erofs_default;
  // Records and origin files keep an absolute path: `upgrade` runs from anywhere.
  const std::string source = BS_TRY(oci::absolute_source_name(given, BS_TRY(sys::absolute_path("."))));
  oci::SourceName n = BS_TRY(oci::parse_source_name(source));
  store::MergedImage m;
  if (n.transport == oci::Transport::kDirectory) {
    m.tree = BS_TRY(scan_root(n.path, repo.algorithm(), progress));
    BS_TRY(store::store_tree_files(repo, m.tree, n.path, stats));
    m.meta.source = source;
  } else {
    auto src = BS_TRY(store::open_source(n, source, ro));
    auto merged = store::merge_image(*src, o, &repo, stats);
    if (!merged.ok()) {
      // The source's own errors name it already: say "import" once, not the name twice.
      Error e = std::move(merged).error();
      return std::move(e).context(e.message().starts_with(source) ? std::string("import") : "import " + source);
    }
    m = std::move(*merged);
  }
  return BS_TRY_CTX(store::commit_image(repo, m, o, ref), "import {}", source);
}

Result<crypto::HashAlg> parse_hash(const std::string& s) {
  if (s == "sha256") return crypto::HashAlg::kSha256;
  if (s == "sha512") return crypto::HashAlg::kSha512;
  return usage_error("--hash must be sha256 or sha512, not \"{}\"", s);
}

Result<uint32_t> parse_format(const std::string& s) {
  if (s == "v1" || s == "1") return 1u;
  if (s == "v2" || s == "2") return 2u;
  return usage_error("--format must be v1 or v2, not \"{}\"", s);
}

Result<oci::XattrMode> parse_xattrs(const std::string& s) {
  if (s == "allowlist") return oci::XattrMode::kAllowlist;
  if (s == "keep-user") return oci::XattrMode::kKeepUser;
  return usage_error("--xattrs must be allowlist or keep-user, not \"{}\"", s);
}

Result<fstree::Tree> scan_root(const std::string& dir, crypto::HashAlg hash, bool progress) {
  ScanOptions so;
  so.hardlinks = true;
  so.hash = hash;
  so.progress = progress;
  fstree::Tree t = BS_TRY(scan_directory(dir, so));
  // composefs-rs keeps files of 64 bytes or less inline only (no object).
  // xattrs in name order, as a tree from layers has them (listxattr order is
  // the filesystem's): dumpfiles and `image diff` then compare equal.
  std::function<void(fstree::Node&)> fix = [&](fstree::Node& n) {
    n.sort_xattrs();
    if (n.is_dir()) n.size = 0;  // as tar entries and composefs-rs dumpfiles
    if (n.is_reg() && n.size <= oci::kInlineContentMax) {
      n.digest.clear();
      n.payload.reset();
    }
    for (auto& c : n.children)
      if (!c.hardlink) fix(*c.node);
  };
  fix(*t.root);
  oci::finalize_links(t);
  return t;
}

static bool is_dir(const std::string& p) { return sys::is_directory(p); }
static bool exists(const std::string& p) { return sys::path_exists(p); }

Result<LoadedTree> load_tree(const std::string& source, const RepoFlags& rf, const store::ImageOptions& o,
                             const registry::Options& ro) {
  oci::SourceName n = BS_TRY(oci::parse_source_name(source));
  bool explicit_transport = source.find(':') != std::string::npos && n.transport != oci::Transport::kDirectory;
  if (n.transport == oci::Transport::kDirectory && (source.starts_with("dir:") || is_dir(n.path))) {
    if (!is_dir(n.path)) return input_error("{}: not a directory", n.path);
    return LoadedTree{BS_TRY(scan_root(n.path, o.hash, false)), n.path, store::dir_reader(n.path)};
  }
  if (explicit_transport) {
    if (n.transport != oci::Transport::kDocker && n.transport != oci::Transport::kContainersStorage && !exists(n.path))
      return input_error("{}: no such file or directory", n.path);
    auto src = BS_TRY(store::open_source(n, source, ro));
    auto m = BS_TRY(store::merge_image(*src, o, nullptr, nullptr));
    return LoadedTree{std::move(m.tree), source, store::kept_reader(std::move(m.kept_files))};
  }
  // A reference or image digest in the repository.
  auto repo = open_repo(rf);
  if (!repo.ok())
    return input_error("\"{}\" is neither an image source (docker://, oci:, oci-archive:, docker-archive:, a directory) nor usable as "
                       "a reference: {}", source, repo.error().message());
  auto [stream, rec] = BS_TRY(store::find_image(*repo, source));
  if (repo->algorithm() != o.hash)
    return input_error("{}: stored with {} object digests; --hash {} needs the original source", source,
                       crypto::hash_name(repo->algorithm()), crypto::hash_name(o.hash));
  auto shared = std::make_shared<store::Repository>(std::move(*repo));
  fstree::Tree tree = BS_TRY(store::stored_tree(*shared, rec));
  oci::ReadFileFn inner = store::repo_reader(*shared);
  oci::ReadFileFn read = [shared, inner](const std::string& p, const fstree::Node& n) { return inner(p, n); };
  return LoadedTree{std::move(tree), source, std::move(read)};
}


}  // namespace bootseal::cli
