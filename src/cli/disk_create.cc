// bootseal disk create: a sealed, Secure Boot-signed GPT disk image from an
// image in the repository (see src/seal/).

#include <cstdio>
#include <optional>

#include "bls/karg.h"
#include "cli/command.h"
#include "cli/repo_util.h"
#include "cli/size.h"
#include "oci/transport.h"
#include "seal/seal.h"
#include "store/meta.h"
#include "store/repository.h"
#include "sys/file.h"
#include "sys/tree.h"

namespace bootseal::cli {
namespace {

struct CreateOptions {
  seal::DiskOptions d;
  std::string repo, size, esp_size;
  bool no_pcr15 = false;
};

// True if REF names an image source in transport syntax (oci:DIR[:TAG],
// oci-archive:FILE, docker-archive:FILE, dir:PATH) rather than a repository image.
bool is_transport_ref(const std::string& ref) {
  for (const char* t : {"oci:", "oci-archive:", "docker-archive:", "dir:"})
    if (ref.rfind(t, 0) == 0) return true;
  return false;
}

Status create(CreateOptions& o, const Globals& g) {
  o.d.repo = repo_root(o.repo);
  o.d.pcr15 = !o.no_pcr15;
  BS_TRY(bls::refuse_composefs_kargs(o.d.cmdline_extra, "--cmdline"));  // before any import
  o.d.disk_size = BS_TRY(parse_size(o.size, "--size"));
  o.d.esp_size = BS_TRY(parse_size(o.esp_size, "--esp-size"));
  bool show = !g.json && !g.quiet;
  o.d.step = [show](const std::string& s) {
    if (show) std::fprintf(stderr, "bootseal: %s\n", s.c_str());
  };
  // --image oci:DIR:TAG (any transport): imported first, into the repository if
  // there is one (--repo, $BOOTSEAL_REPO or the default that exists), else into a
  // temporary repository that goes away with the scratch files.
  struct TempRepo {
    std::string dir;
    ~TempRepo() {
      if (!dir.empty()) (void)sys::remove_tree(dir);
    }
  } temp;
  if (is_transport_ref(o.d.image)) {
    BS_TRY(oci::parse_source_name(o.d.image));
    std::optional<store::Repository> repo;
    if (o.repo.empty() && !sys::path_exists(o.d.repo + "/composefs/meta.json")) {
      temp.dir = BS_TRY(sys::make_temp_dir("bootseal-disk-repo-"));
      o.d.repo = temp.dir;
      repo.emplace(BS_TRY(store::Repository::init(temp.dir, store::new_meta(crypto::HashAlg::kSha512, 1), {})));
    } else {
      repo.emplace(BS_TRY_CTX(store::Repository::open(o.d.repo, {}), "--repo {}", o.d.repo));
    }
    o.d.step(fmt::format("importing {} into {}", o.d.image, temp.dir.empty() ? o.d.repo : "a temporary repository"));
    store::ImportResult imp =
        BS_TRY(import_source(*repo, o.d.image, store::ImageOptions{}, "", /*progress=*/false, nullptr));
    o.d.image = imp.image.rfind("images/", 0) == 0 ? imp.image.substr(7) : imp.image;
  }
  seal::DiskResult r = BS_TRY_CTX(seal::create_disk(o.d), "disk create {}", o.d.output);
  if (g.json) {
    nlohmann::json j = {{"output", o.d.output},
                {"digest", r.digest},
                {"arch", std::string(arch_name(r.arch))},
                {"kernel", r.kernel_version},
                {"cmdline", r.cmdline},
                {"uki", r.uki_path},
                {"uki_bytes", r.uki_bytes},
                {"initrd_bytes", r.initrd_bytes},
                {"esp_bytes", r.esp_bytes},
                {"root_bytes", r.root_bytes},
                {"disk_bytes", r.disk_bytes},
                {"objects", r.objects},
                {"object_bytes", r.object_bytes},
                {"encrypted", o.d.encrypt}};
    if (o.d.encrypt) {
      j["luks_uuid"] = r.luks_uuid;
      j["tpm_keyslot"] = r.tpm_keyslot;
      j["recovery_keyslot"] = r.recovery_keyslot;
      j["policy_hash"] = r.policy_hash;
      if (!r.recovery_key.empty()) j["recovery_key"] = r.recovery_key;
    }
    print_json(j);
  } else {
    fmt::print("disk:      {} ({} MiB)\n", o.d.output, r.disk_bytes >> 20);
    fmt::print("digest:    {}\n", r.digest);
    fmt::print("kernel:    {} ({})\n", r.kernel_version, arch_name(r.arch));
    fmt::print("cmdline:   {}\n", r.cmdline);
    fmt::print("UKI:       {:.1f} MiB, signed; initrd {:.1f} MiB; a copy of the ESP's UKI written to {}\n",
               r.uki_bytes / 1048576.0, r.initrd_bytes / 1048576.0, r.uki_path);
    fmt::print("ESP:       {} MiB FAT32; root: {} MiB ext4 (verity), {} objects, {:.1f} MiB\n", r.esp_bytes >> 20,
               r.root_bytes >> 20, r.objects, r.object_bytes / 1048576.0);
    if (o.d.encrypt) {
      fmt::print("encrypted: LUKS2 {} (aes-xts-plain64); TPM keyslot {} (signed PCR 11{}), recovery keyslot {}\n",
                 r.luks_uuid, r.tpm_keyslot, o.d.pcr15 ? " + PCR 15" : "", r.recovery_keyslot);
      if (!r.recovery_key.empty())
        fmt::print("recovery key (shown once, write it down): {}\n", r.recovery_key);
      else
        fmt::print("recovery key: written to {} (mode 0600)\n", o.d.recovery_key_file);
    }
  }
  return {};
}

void setup(CLI::App& root, Context& ctx) {
  CLI::App* d = group(root, "disk", "Bootable disk images (GPT, ESP, ext4 root with fs-verity)");
  static CreateOptions o;
  CLI::App* c = d->add_subcommand("create", "Seal an image into a Secure Boot-signed, bootable GPT disk image");
  json_output(c);
  c->add_option("--image", o.d.image, "Image: a reference, digest or digest prefix in the repository, or a source to import first "
                "(oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE, dir:PATH)")->required();
  c->add_option("--keys", o.d.keys_dir,
                "Key set directory (bootseal keys generate); its db.key may hold a 'pkcs11:' URI line for a key in a token")
      ->required();
  c->add_option("--key-passphrase-file", o.d.key_passphrase_file, "Passphrase of an encrypted PEM db.key (first line)");
  c->add_option("--output,-o", o.d.output, "Disk image to write")->required();
  c->add_option("--repo", o.repo, "Repository root (default $BOOTSEAL_REPO, else the booted system's, else /var/lib/bootseal/repo)");
  c->add_option("--size", o.size, "Total disk size (e.g. 4G); default: just big enough");
  c->add_option("--esp-size", o.esp_size, "ESP size (default: room for two UKIs, at least 64M; arm64: 128M)");
  c->add_option("--root-fs", o.d.root_fs, "Root filesystem type")->capture_default_str()->check(CLI::IsMember({"ext4"}));
  c->add_option("--cmdline", o.d.cmdline_extra, "Kernel arguments after composefs=<digest> (default: \"console=ttyS0 "
                                                "systemd.firstboot=off panic=-1 no_timer_check\"; arm64: console=ttyAMA0, "
                                                "without no_timer_check)");
  c->add_option("--arch", o.d.arch, "x86-64 or arm64: must match the image's OCI config; for a directory import, "
                                    "default: the kernel's PE Machine");
  c->add_option("--stub", o.d.stub, "systemd-stub to build the UKI on");
  c->add_option("--systemd-boot", o.d.sdboot, "systemd-boot<x64|aa64>.efi to install (signed with the db key)");
  c->add_option("--setup-root", o.d.setup_root, "bootseal-setup-root binary for the initrd");
  c->add_option("--busybox", o.d.busybox, "Statically linked busybox for the initrd (default: /bin/busybox; arm64: "
                                          "the fetched busybox-static:arm64)");
  c->add_option("--secure-boot-enroll", o.d.secure_boot_enroll,
                "loader.conf secure-boot-enroll: if-safe (enroll by itself only in a VM), force (also on real hardware: "
                "option ROMs not signed by db stop loading, docs/secure-boot.md), manual (menu entry) or off")
      ->check(CLI::IsMember({"if-safe", "force", "manual", "off"}))
      ->capture_default_str();
  c->add_option("--image-uki", o.d.image_uki, "The image's own sealed UKI (/boot/EFI/Linux/*.efi, bootseal seal): auto "
                                              "(install it when it seals the image), require, or never (build one)")
      ->check(CLI::IsMember({"auto", "require", "never"}))
      ->capture_default_str();
  c->add_flag("--encrypt", o.d.encrypt, "LUKS2 root opened in the initrd by the TPM (signed PCR 11 for the initrd "
                                       "phase + PCR 15 = 0) or the recovery key (docs/tpm.md)");
  c->add_option("--recovery-key-file", o.d.recovery_key_file, "With --encrypt: write the recovery key here (mode 0600) "
                                                              "instead of printing it once");
  c->add_option("--tpm2-device", o.d.tpm2_device, "With --encrypt: seal on this TPM (device:/dev/tpmrm0, swtpm:host=,port=)");
  c->add_option("--tpm2-srk-public-key", o.d.srk_public_key, "With --encrypt: seal offline for the TPM whose SRK "
                                                             "public key this is (bootseal tpm srk-public-key)");
  c->add_option("--pcr-key", o.d.pcr_key, "PCR signing key (PEM, RSA): the UKI gets .pcrpkey and .pcrsig "
                                          "(PCR 11 for enter-initrd)");
  c->add_flag("--no-pcr15", o.no_pcr15, "With --encrypt: do not bind PCR 15 = its initial value");
  c->add_option("--unlock", o.d.unlock, "bootseal-unlock binary for the initrd (an encrypted root)");
  c->add_option("--work-dir", o.d.work_dir, "Scratch directory (default: a temporary one)");
  c->add_flag("--keep-work-dir", o.d.keep_work, "Keep the scratch directory");
  hidden_alias(c, "--workdir", o.d.work_dir);
  hidden_alias(c, "--keep-work,--keep-workdir", o.d.keep_work);
  c->callback([&ctx] { ctx.action = [&ctx] { return create(o, ctx.globals); }; });
}

}  // namespace

BOOTSEAL_VERB(61, setup);

}  // namespace bootseal::cli
