// bootseal seal: import, boot digests, cmdline policy, signed UKI, sealed
// image written or pushed (src/seal/image_seal.h, docs/seal.md).
#include <cstdio>

#include "cli/command.h"
#include "cli/repo_util.h"
#include "seal/image_seal.h"
#include "sys/file.h"
#include "sys/tty.h"

namespace bootseal::cli {
namespace {

struct SealCliOptions {
  seal::ImageSealOptions s;
  RegistryFlags reg;
  std::string cmdline;
  std::vector<std::string> require, deny;
  std::string policy_file, erofs_version;
};

Status seal_cmd(SealCliOptions& c, const Globals& g, bool cmdline_given) {
  if (cmdline_given) c.s.cmdline = c.cmdline;
  for (auto& r : c.require) {
    if (r.empty() || r[0] == '=') return input_error("--require-karg \"{}\": expected K or K=V", r);
    c.s.policy.require.push_back({r, "--require-karg"});
  }
  for (auto& d : c.deny) {
    if (d.empty() || d[0] == '=') return input_error("--deny-karg \"{}\": expected K or K=V", d);
    c.s.policy.deny.push_back({d, "--deny-karg"});
  }
  if (!c.policy_file.empty()) {
    std::string text = BS_TRY_CTX(sys::read_text_file(c.policy_file), "--policy");
    BS_TRY(seal::parse_policy(text, c.policy_file, c.s.policy));
  }
  if (c.erofs_version == "v1")
    c.s.erofs_versions = {1};
  else if (c.erofs_version == "v2")
    c.s.erofs_versions = {2};
  bool show = !g.json && !g.quiet;
  c.s.step = [show](const std::string& s) {
    if (show) std::fprintf(stderr, "bootseal: %s\n", s.c_str());
  };
  c.s.source_registry = registry_options(c.reg, g, show && sys::stderr_is_terminal());
  c.s.dest_registry = registry_options(c.reg, g, false);
  seal::ImageSealResult r = BS_TRY_CTX(seal::seal_image(c.s), "seal {}", c.s.source);
  if (g.json) {
    print_json({{"output", r.output},
                {"arch", r.arch},
                {"kernel", r.kernel_version},
                {"cmdline", r.cmdline},
                {"digest_v1", r.digest_v1},
                {"digest_v2", r.digest_v2},
                {"reimported_digest", r.reimported_digest},
                {"kargs_files", r.kargs_files},
                {"uki", {{"path", r.uki_path}, {"sha256", r.uki_sha256}, {"bytes", r.uki_bytes},
                         {"signed", r.uki_signed}, {"pcrsig", r.pcrsig}}},
                {"uki_file", c.s.uki_out},
                {"layer_digest", r.layer_digest},
                {"config_digest", r.config_digest},
                {"manifest_digest", r.manifest_digest},
                {"manifest_size", r.manifest_size},
                {"blobs_copied", r.blobs_copied}});
  } else {
    fmt::print("sealed:    {}\n", r.output);
    fmt::print("manifest:  {}\n", r.manifest_digest);
    if (!r.digest_v1.empty()) fmt::print("digest v1: {}\n", r.digest_v1);
    if (!r.digest_v2.empty()) fmt::print("digest v2: {}\n", r.digest_v2);
    fmt::print("kernel:    {} ({})\n", r.kernel_version, r.arch);
    fmt::print("cmdline:   {}\n", r.cmdline);
    fmt::print("UKI:       {} ({:.1f} MiB, {}{}), sha256 {}\n", r.uki_path, r.uki_bytes / 1048576.0,
               r.uki_signed ? "signed" : "unsigned", r.pcrsig ? ", .pcrsig" : "", r.uki_sha256);
  }
  return {};
}

void setup(CLI::App& root, Context& ctx) {
  static SealCliOptions o;
  CLI::App* c = root.add_subcommand(
      "seal", "Seal an OCI image: boot digests, cmdline policy, signed UKI in a new top layer, written or pushed");
  json_output(c);
  add_registry_flags(c, o.reg);
  c->add_option("SOURCE", o.s.source, "oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker://HOST/NAME[:TAG|@DIGEST]")->required();
  c->add_option("--output,-o", o.s.output, "oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker://HOST/NAME[:TAG]")->required();
  c->add_option("--keys", o.s.keys_dir, "Key set directory (bootseal keys generate): db.key signs the UKI");
  c->add_option("--key-passphrase-file", o.s.key_passphrase_file,
                "Passphrase of an encrypted PEM db.key or --pcr-key (first line; else asked on the terminal)");
  c->add_option("--pcr-key", o.s.pcr_key, "Private key (PEM or signer spec) for a signed PCR 11 policy (.pcrsig, .pcrpkey)");
  c->add_option("--cmdline", o.cmdline, "Kernel arguments after the digest and kargs.d ones (default: \"console=ttyS0 "
                                        "systemd.firstboot=off panic=-1 no_timer_check\"; arm64: console=ttyAMA0)");
  c->add_flag("--kargs-from-image", o.s.kargs_from_image, "Add the kargs of the image's usr/lib/bootc/kargs.d/*.toml (bootc's format)");
  c->add_option("--require-karg", o.require, "Refuse to seal unless the cmdline has K (K=V: with the value V); repeatable");
  c->add_option("--deny-karg", o.deny, "Refuse to seal if the cmdline has K (K=V: with the value V); repeatable");
  c->add_option("--policy", o.policy_file, "TOML file with require = [\"K[=V]\", ...] and deny = [...]");
  c->add_option("--erofs-version", o.erofs_version, "Carry only this digest: v1 (composefs.digest=v1-sha512-12:) or v2 "
                                                    "(composefs=); default: both")
      ->check(CLI::IsMember({"v1", "v2"}));
  c->add_option("--arch", o.s.arch, "x86-64 or arm64 (default: the OCI config's; picks the image from an index)");
  c->add_flag("--unsigned", o.s.unsigned_uki, "Leave the UKI unsigned (for an offline signer: bootseal sign)");
  c->add_option("--repo", o.s.repo, "Import into this repository (default: a temporary one)");
  c->add_option("--kernel", o.s.kernel, "Kernel file instead of the image's /usr/lib/modules/<kver>/vmlinuz");
  c->add_option("--initrd", o.s.initrd, "Initrd file instead of the image's /usr/lib/modules/<kver>/initramfs.img");
  c->add_flag("--build-initrd", o.s.build_initrd, "Build bootseal's initrd (setup-root, busybox, the image's modules) "
                                                  "instead of using the image's initramfs.img");
  c->add_option("--stub", o.s.stub, "systemd-stub to build the UKI on");
  c->add_option("--setup-root", o.s.setup_root, "bootseal-setup-root binary (--build-initrd)");
  c->add_option("--busybox", o.s.busybox, "Static busybox (--build-initrd)");
  c->add_option("--uki-name", o.s.uki_name, "UKI file name in the image: /boot/EFI/Linux/NAME.efi (default: the kernel version)");
  c->add_option("--uki-out", o.s.uki_out, "Also write the UKI to this file");
  c->add_option("--uki", o.s.uki_in, "Put this UKI (e.g. --unsigned, then signed offline) into the image instead of "
                                     "building one: its cmdline must carry the image's digests and pass the policy");
  c->callback([&ctx, c] {
    bool given = c->count("--cmdline") > 0;
    ctx.action = [&ctx, given] { return seal_cmd(o, ctx.globals, given); };
  });
}

}  // namespace

BOOTSEAL_VERB(62, setup);

}  // namespace bootseal::cli
