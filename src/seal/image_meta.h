// The pure parts of `bootseal seal`: bootc's kargs.d files, the command-line
// policy, the UKI layer's tar, and the sealed image's config and manifest
// derived from the source's (docs/seal.md). No I/O.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/arch.h"
#include "base/bytes.h"
#include "base/error.h"

namespace bootseal::seal {

// One usr/lib/bootc/kargs.d/*.toml file, as bootc reads it: a TOML table with
// `kargs = ["…", …]` and optional `match-architectures = ["x86_64", "aarch64", …]`
// (Rust's std::env::consts::ARCH names); unknown keys are refused. Returns the
// kargs when the file applies to `arch`, else nothing. `file` names it in errors.
Result<std::vector<std::string>> parse_kargs_d(std::string_view toml, std::string_view file, Arch arch);

// The string arrays of a small TOML table (key = ["…", '…', …], comments,
// multi-line arrays): the subset kargs.d files and --policy files use.
Result<std::map<std::string, std::vector<std::string>>> parse_toml_string_arrays(std::string_view toml,
                                                                                  std::string_view file);

// Required and forbidden kernel arguments. A required "K" needs a token K or
// K=anything; "K=V" needs the last K token to have value V (the kernel's rule:
// the last one wins). A denied "K" forbids every K token; "K=V" forbids K=V.
struct KargPolicy {
  struct Rule {
    std::string arg;     // as given
    std::string origin;  // "--require-karg", "--policy FILE", …
  };
  std::vector<Rule> require, deny;
};

// --policy FILE: `require = [...]` and `deny = [...]` (TOML string arrays).
Status parse_policy(std::string_view toml, std::string_view file, KargPolicy& into);

// The first violation, as one line naming the argument and the rule's origin.
Status check_policy(std::string_view cmdline, const KargPolicy& p);

// One ustar header block (uid/gid 0, no names; type '0' file, '5' directory;
// paths over 100 bytes split into prefix/name).
Result<std::array<char, 512>> tar_header(const std::string& path, char type, uint32_t mode, uint64_t size, int64_t mtime);

// A file and the directories leading to it, for a one-file tar layer.
struct TarDir {
  std::string path;  // "boot/EFI" (no trailing slash)
  uint32_t mode = 0755;
  int64_t mtime = 0;
};
// A POSIX ustar archive (uid/gid 0, no user names) with `dirs` then the file
// `path` (mode 0644) holding `content`, and the end-of-archive blocks:
// byte-for-byte the same for the same inputs.
Result<Bytes> one_file_tar(const std::vector<TarDir>& dirs, const std::string& path, ByteSpan content, int64_t mtime);

// The sealed image's metadata, derived from the source's bytes.
struct SealedMeta {
  Bytes config, manifest;  // new JSON documents
};
struct SealInputs {
  ByteSpan manifest, config;  // the source's, as stored
  std::string layer_digest;   // "sha256:…" of the UKI layer (uncompressed tar: also its diff_id)
  uint64_t layer_size = 0;
  std::string layer_comment;  // history entry's created_by
  std::map<std::string, std::string> layer_annotations;
  std::map<std::string, std::string> manifest_annotations;
  std::map<std::string, std::string> config_annotations;  // on the config descriptor
  std::map<std::string, std::string> labels;              // added to config.Labels
};
// The config with the layer's diff_id, a history entry (dated as the source's
// `created`, so the output depends only on its inputs) and the labels; the
// manifest as an OCI image manifest (Docker schema 2 media types mapped to
// OCI's) with the new config, the layer on top and the annotations.
// `config_annotations_for` computes annotations over the new config's bytes.
Result<SealedMeta> derive_sealed_meta(const SealInputs& in,
                                      const std::function<std::map<std::string, std::string>(ByteSpan)>& config_annotations_for = {});

// OCI media type for a Docker schema 2 one (and OCI's unchanged).
std::string oci_media_type(std::string_view t);

// The annotation keys of composefs-rs's OCI sealing spec
// (crates/composefs-oci/src/sealing_spec.rs): "composefs.merged.bootable.erofs.v<N>.fsverity-sha512-12"
// (the boot digest) and "composefs.config.fsverity-sha512-12".
std::string bootable_annotation(unsigned erofs_version, std::string_view hash = "sha512");
std::string config_annotation(std::string_view hash = "sha512");

}  // namespace bootseal::seal
