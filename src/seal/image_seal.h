// bootseal seal: the builder's pipeline in one call (docs/seal.md). An OCI
// image is imported, its boot digests computed as the device will (V1 and V2
// EROFS, SHA-512 fs-verity, bootc's transforms), the command line assembled
// from the image's kargs.d files, the options and the digest kargs, checked
// against the policy, a UKI built from the image's kernel and initrd and
// signed, and a sealed image written: the source's layers unchanged plus one
// layer holding the UKI at /boot/EFI/Linux/<name>.efi (which the boot
// transform keeps out of the digest), labelled containers.bootc=1 and
// annotated with the digests (composefs-rs's OCI sealing spec).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/error.h"
#include "registry/client.h"
#include "seal/image_meta.h"

namespace bootseal::seal {

struct ImageSealOptions {
  std::string source;    // oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker://…
  std::string output;    // oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker://…
  std::string repo;      // repository to import into; empty: a temporary one
  std::string keys_dir;  // db.key/db.crt (not needed with unsigned_uki)
  std::string pcr_key;   // signs a .pcrsig (systemd-measure's policy) when given
  std::string key_passphrase_file;  // passphrase of an encrypted PEM db.key or --pcr-key (first line)
  std::optional<std::string> cmdline;  // after the digest and kargs.d kargs; nullopt: default_cmdline(arch)
  bool kargs_from_image = false;       // usr/lib/bootc/kargs.d/*.toml
  KargPolicy policy;
  std::vector<unsigned> erofs_versions = {1, 2};  // digests carried (composefs.digest=v1-…, composefs=<v2>)
  std::string arch;                               // x86-64|arm64; default: the OCI config's
  bool unsigned_uki = false;
  std::string kernel, initrd;  // files instead of the image's vmlinuz / initramfs.img
  bool build_initrd = false;   // bootseal's own initrd (setup-root, busybox, the image's modules)
  std::string stub, setup_root, busybox;
  std::string uki_name;  // /boot/EFI/Linux/<uki_name>.efi; default: the kernel version
  std::string uki_out;   // also write the UKI to this file
  // A UKI made elsewhere (e.g. --unsigned, then signed offline with `bootseal sign`):
  // put into the image instead of building one; its cmdline must carry this
  // image's digest kargs and pass the policy.
  std::string uki_in;
  registry::Options source_registry, dest_registry;
  std::function<void(const std::string&)> step;
};

struct ImageSealResult {
  std::string arch, kernel_version, cmdline;
  std::string digest_v1, digest_v2;  // hex SHA-512 boot digests (empty when not carried)
  std::vector<std::string> kargs_files;
  std::string uki_path;  // in the image
  std::string uki_sha256;
  uint64_t uki_bytes = 0;
  bool uki_signed = false, pcrsig = false;
  std::string layer_digest, config_digest, manifest_digest;
  uint64_t manifest_size = 0;
  std::string reimported_digest;  // the sealed image imported again: equals digest_v1
  std::string output;
  uint64_t blobs_copied = 0;
};

Result<ImageSealResult> seal_image(const ImageSealOptions& o);

}  // namespace bootseal::seal
