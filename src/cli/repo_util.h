// Shared by the repo and image verbs: --repo/--require-verity/--no-wait
// options, opening the repository, and loading a tree from a source or ref.
#pragma once

#include <string>

#include "cli/command.h"
#include "fstree/tree.h"
#include "oci/transform.h"
#include "store/import.h"
#include "store/repository.h"

namespace bootseal::cli {

struct RepoFlags {
  std::string repo;
  bool require_verity = false;
  bool no_wait = false;
};
void add_repo_flags(CLI::App* c, RepoFlags& f);

// docker:// options, as skopeo names them: --creds, --authfile, --cert-dir,
// --tls-verify, --retry-times.
struct RegistryFlags {
  std::string creds, authfile, cert_dir;
  bool tls_verify = true;
  int retries = 3;
};
void add_registry_flags(CLI::App* c, RegistryFlags& f);
registry::Options registry_options(const RegistryFlags& f, const Globals& g, bool progress);

// The physical root of a running sealed system: /sysroot, when it holds
// composefs/meta.json and the kernel was booted with a composefs karg
// (composefs= or composefs.digest=, parsed as composefs-rs does).
inline constexpr const char* kBootedSysroot = "/sysroot";
std::optional<std::string> booted_digest();
std::optional<std::string> booted_repo_root();
// --repo, else $BOOTSEAL_REPO, else the booted system's repository
// (booted_repo_root), else /var/lib/bootseal/repo.
std::string repo_root(const std::string& flag);
Result<store::Repository> open_repo(const RepoFlags& f, bool exclusive = false);

Result<crypto::HashAlg> parse_hash(const std::string& s);
Result<uint32_t> parse_format(const std::string& s);
Result<oci::XattrMode> parse_xattrs(const std::string& s);

// A tree from SOURCE (any transport, directories scanned) or, if SOURCE is
// not one, a reference or image digest in the repository. Regular files
// carry digests in `hash`. `label` describes where it came from.
struct LoadedTree {
  fstree::Tree tree;
  std::string label;
  oci::ReadFileFn read;  // external file contents (the SELinux policy) for the boot transform
};
Result<LoadedTree> load_tree(const std::string& source, const RepoFlags& rf, const store::ImageOptions& o,
                             const registry::Options& ro = {});

// Imports SOURCE (any transport; directories are scanned) into `repo` in the
// repository's pinned format and hash (`o` gives platform and xattr mode) and
// sets `ref` if not empty.
Result<store::ImportResult> import_source(store::Repository& repo, const std::string& source, store::ImageOptions o,
                                          const std::string& ref, bool progress, store::ImportStats* stats,
                                          const registry::Options& ro = {});

// Scans a directory as composefs-rs reads one (lstat data with nsec, all
// xattrs, hardlinks by inode, files of 64 bytes or less inline only).
Result<fstree::Tree> scan_root(const std::string& dir, crypto::HashAlg hash, bool progress);


}  // namespace bootseal::cli
