#include "seal/seal.h"

#include <algorithm>
#include <set>

#include "authenticode/authenticode.h"
#include "base/hex.h"
#include "bls/karg.h"
#include "bls/os_release.h"
#include "boot/payloads.h"
#include "boot/esp.h"
#include "composefs/image.h"
#include "deploy/checkout.h"
#include "deploy/lifecycle.h"
#include "disk/disk.h"
#include "fstree/tree.h"
#include "initramfs/initrd.h"
#include "keys/keyset.h"
#include "store/import.h"
#include "store/repository.h"
#include "sys/file.h"
#include "sys/fsops.h"
#include "sys/space.h"
#include "sys/tree.h"
#include "uki/build.h"
#include "uki/uki.h"
#include "crypto/key.h"
#include "crypto/pem.h"
#include "measure/measure.h"
#include "tpm2/pcrsig.h"
#include "tpm2dev/encrypt.h"

namespace bootseal::seal {
namespace {


bool is_file(const std::string& p) { return sys::is_regular_file(p); }

// Links (or, across filesystems, copies) every object the tree references.
Result<std::pair<uint64_t, uint64_t>> stage_objects(const fstree::Tree& tree, const std::string& from,
                                                    const std::string& to) {
  std::set<std::string> payloads;
  fstree::walk(tree, [&](const std::string&, const fstree::Entry*, const fstree::Node& n) {
    if (n.is_reg() && n.payload && n.content.empty() && n.size > 0) payloads.insert(*n.payload);
    return true;
  });
  uint64_t bytes = 0;
  std::set<std::string> dirs;
  for (const std::string& p : payloads) {
    std::string dst = to + "/" + p;
    std::string d = sys::dirname_of(dst);
    if (dirs.insert(d).second) BS_TRY(sys::mkdir_p(d));
    std::string src = from + "/" + p;
    Result<uint64_t> size = sys::file_size(src);
    if (!size) return input_error("object {} is missing from the repository", p);
    bytes += *size;
    if (!sys::make_hardlink(src, dst).ok()) BS_TRY(sys::copy_new_file(src, dst, 0644));
  }
  return std::make_pair(static_cast<uint64_t>(payloads.size()), bytes);
}

}  // namespace

// Reads a regular file of the image: inline content or its object.
Result<Bytes> image_file(const fstree::Tree& tree, const std::string& objects, std::string path) {
  for (int hops = 0; hops < 8; hops++) {
    fstree::NodePtr n = fstree::lookup(tree, path);
    if (!n) return input_error("the image has no {}", path);
    if (n->is_symlink()) {
      std::string target = n->payload.value_or("");
      path = !target.empty() && target[0] == '/' ? target : sys::dirname_of(path) + "/" + target;
      continue;
    }
    if (!n->is_reg()) return input_error("{} in the image is not a regular file", path);
    if (!n->content.empty() || n->size == 0) return n->content;
    if (!n->payload) return input_error("{} in the image has neither content nor an object", path);
    return BS_TRY_CTX(sys::read_file(objects + "/" + *n->payload), "reading {} of the image", path);
  }
  return input_error("{}: too many levels of symbolic links in the image", path);
}

// The kernel the image ships: /usr/lib/modules/<kver>/vmlinuz (bootc's convention).
Result<std::string> find_kernel_version(const fstree::Tree& tree) {
  fstree::NodePtr mods = fstree::lookup(tree, "/usr/lib/modules");
  if (!mods || !mods->is_dir()) return input_error("the image has no /usr/lib/modules: it ships no kernel");
  std::vector<std::string> found;
  for (const auto& e : mods->children)
    if (e.node->is_dir() && e.node->find_child("vmlinuz")) found.push_back(e.name);
  if (found.empty()) return input_error("the image has no /usr/lib/modules/<version>/vmlinuz: it ships no kernel");
  if (found.size() > 1)
    return input_error("the image ships {} kernels ({}); exactly one is supported", found.size(), fmt::join(found, ", "));
  return found[0];
}

Result<std::string> find_file(std::string_view what, const std::vector<std::string>& candidates) {
  for (const auto& c : candidates)
    if (!c.empty() && is_file(c)) return c;
  std::vector<std::string> tried;
  for (const auto& c : candidates)
    if (!c.empty()) tried.push_back(c);
  return input_error("missing {}: none of {} exists", what, fmt::join(tried, ", "));
}

std::string default_cmdline(Arch a) {
  return fmt::format("console={} systemd.firstboot=off panic=-1{}", arch_info(a).console,
                     a == Arch::kX86_64 ? " no_timer_check" : "");
}

std::vector<std::string> setup_root_candidates(Arch a) {
  std::string dir = sys::self_dir();
  if (a == Arch::kArm64)
    return {dir + "/../../aarch64/bootseal-setup-root", dir + "/aarch64/bootseal-setup-root",
            dir + "/../libexec/bootseal/aarch64/bootseal-setup-root",
            "/usr/lib/bootseal/aarch64/bootseal-setup-root", "/usr/libexec/bootseal/aarch64/bootseal-setup-root"};
  return {dir + "/../initramfs/bootseal-setup-root", dir + "/bootseal-setup-root",
          dir + "/../libexec/bootseal/bootseal-setup-root", dir + "/../lib/bootseal/bootseal-setup-root",
          "/usr/lib/bootseal/bootseal-setup-root", "/usr/libexec/bootseal/bootseal-setup-root"};
}

Result<Bytes> build_image_initrd(const fstree::Tree& tree, const std::string& objects, const std::string& kver, Arch arch,
                                 const std::string& setup_root, const std::string& busybox, const std::string& work,
                                 const std::string& unlock) {
  std::string moddir = work + "/modules" + "/lib/modules/" + kver;
  BS_TRY(deploy::checkout(tree, "/usr/lib/modules/" + kver, objects, moddir));
  initramfs::InitrdOptions io;
  io.modules_dir = moddir;
  io.busybox = busybox;
  io.setup_root = setup_root;
  io.arch = arch;
  io.compress = "zstd";
  io.unlock = unlock;  // an encrypted root: bootseal-unlock and its library closure
  initramfs::InitrdResult initrd = BS_TRY_CTX(initramfs::build_initrd(io), "building the initrd");
  return std::move(initrd.archive);
}

std::vector<std::string> unlock_candidates() {
  return {sys::self_dir() + "/../tpm2dev/bootseal-unlock", sys::self_dir() + "/bootseal-unlock",
          sys::self_dir() + "/../libexec/bootseal/bootseal-unlock", "/usr/libexec/bootseal/bootseal-unlock",
          "/usr/lib/bootseal/bootseal-unlock"};
}

Result<SealedUki> seal_uki(const store::Repository& repo, const std::string& digest, const UkiOptions& o) {
  auto step = [&](const std::string& s) {
    if (o.step) o.step(s);
  };
  SealedUki res;
  res.digest = digest;
  Bytes image = BS_TRY(repo.read_image(digest));
  fstree::Tree tree = BS_TRY_CTX(composefs::read_image(image), "reading image {}", digest);
  const std::string objects = repo.path() + "/objects";
  res.kernel_version = BS_TRY(find_kernel_version(tree));
  const std::string modpath = "/usr/lib/modules/" + res.kernel_version;
  Bytes kernel = BS_TRY(image_file(tree, objects, modpath + "/vmlinuz"));

  // The architecture: given (--arch, the OCI config), else the kernel's PE Machine.
  std::optional<Arch> kernel_arch;
  if (auto ka = uki::pe_arch(kernel); ka.ok()) kernel_arch = *ka;
  Arch arch = Arch::kX86_64;
  if (!o.arch.empty()) {
    arch = BS_TRY(parse_arch(o.arch));
    if (kernel_arch && *kernel_arch != arch)
      return input_error("image {}: the image is {} but its kernel {}/vmlinuz is {} (PE Machine {:#06x})",
                         digest.substr(0, 12), arch_name(arch), modpath, arch_name(*kernel_arch),
                         arch_info(*kernel_arch).pe_machine);
  } else if (kernel_arch) {
    arch = *kernel_arch;
  }
  res.arch = arch;

  // The digest karg is bootseal's own: a user's composefs karg would override or
  // contradict it (composefs.digest= wins over composefs=) and seal another image.
  BS_TRY(bls::refuse_composefs_kargs(o.cmdline_extra, "--cmdline"));
  std::string stub = BS_TRY(boot::find_systemd_efi(boot::linux_stub_name(arch), o.stub, "--stub"));
  std::vector<std::string> sr_candidates = setup_root_candidates(arch);
  sr_candidates.insert(sr_candidates.begin(), o.setup_root);
  auto setup_root_found = find_file(fmt::format("bootseal-setup-root for {}", arch_name(arch)), sr_candidates);
  if (!setup_root_found.ok() && arch == Arch::kArm64)
    return input_error("{}; tools/build cross-compiles it when aarch64-linux-gnu-g++ is installed (tools/setup "
                       "installs it), or pass --setup-root",
                       setup_root_found.error().message());
  std::string setup_root = BS_TRY(std::move(setup_root_found));
  std::string busybox = o.busybox;
  if (busybox.empty())
    busybox = arch == Arch::kArm64 ? boot::payloads_dir() + "/arm64/busybox/bin/busybox" : "/bin/busybox";
  BS_TRY(find_file(fmt::format("busybox (busybox-static for {})", arch_name(arch)), {busybox}));
  for (const char* f : {"db.key", "db.crt"})
    BS_TRY_CTX(find_file(fmt::format("{} in the key set", f), {o.keys_dir + "/" + f}),
               "--keys {} (make one with `bootseal keys generate --dir {}`)", o.keys_dir, o.keys_dir);
  auto signer = BS_TRY(keys::load_signer(o.keys_dir + "/db.key", o.key_passphrase_file));
  auto cert = BS_TRY(keys::load_certificate(o.keys_dir + "/db.crt"));

  Bytes os_release = BS_TRY(image_file(tree, objects, "/usr/lib/os-release"));

  std::string work = o.work_dir.empty() ? BS_TRY(sys::make_temp_dir("bootseal-uki-")) : o.work_dir + "/uki-work";
  BS_TRY(sys::mkdir_p(work));
  struct Cleanup {
    std::string dir;
    ~Cleanup() { (void)sys::remove_tree(dir); }
  } cleanup{work};

  // --- initrd: setup-root, busybox and the image's own kernel modules.
  step(fmt::format("building the initrd (kernel {})", res.kernel_version));
  std::string unlock;
  if (!o.luks_uuid.empty()) {
    std::vector<std::string> cands = unlock_candidates();
    if (!o.unlock.empty()) cands.insert(cands.begin(), o.unlock);
    unlock = BS_TRY(find_file("bootseal-unlock (an encrypted root)", cands));
  }
  initramfs::InitrdResult initrd;
  initrd.archive = BS_TRY(build_image_initrd(tree, objects, res.kernel_version, arch, setup_root, busybox, work, unlock));
  res.initrd_bytes = initrd.archive.size();

  // --- UKI with composefs=<digest>, signed with db.
  step("building and signing the UKI");
  res.cmdline = fmt::format("composefs={} {}", digest, o.cmdline_extra.empty() ? default_cmdline(arch) : o.cmdline_extra);
  if (!o.luks_uuid.empty()) res.cmdline += " bootseal.luks=" + o.luks_uuid;
  std::optional<crypto::PrivateKey> pcr_key;
  uki::BuildInputs ui;
  if (!o.pcr_key.empty()) {
    pcr_key.emplace(BS_TRY_CTX(crypto::PrivateKey::from_pem(BS_TRY(sys::read_file(o.pcr_key)), o.pcr_key), "--pcr-key"));
    ui.pcrpkey = crypto::public_key_pem(pcr_key->public_key_der());
  }
  ui.stub = BS_TRY(sys::read_file(stub));
  ui.linux_image = std::move(kernel);
  ui.initrds.push_back(std::move(initrd.archive));
  ui.cmdline = res.cmdline;
  ui.os_release = std::string(as_string(os_release));
  ui.uname = res.kernel_version;
  uki::KernelCheck kc = BS_TRY_CTX(uki::check_kernel_for_stub(ui.linux_image, ui.stub), "{}/vmlinuz with stub {}",
                                   modpath, stub);
  (void)kc;
  Bytes uki_image;
  if (pcr_key) {
    // .pcrsig: PCR 11 (sha256) as the stub leaves it plus enter-initrd, and nothing
    // later: after bootseal-unlock extends leave-initrd, no signature matches.
    std::vector<uki::NamedSection> secs = BS_TRY_CTX(uki::build_sections(ui, nullptr), "{}", stub);
    measure::SectionMap m;
    for (auto& sct : secs)
      if (std::find(uki::kMeasuredSections.begin(), uki::kMeasuredSections.end(), sct.name) != uki::kMeasuredSections.end())
        m.emplace(sct.name, sct.content.data);
    tpm2::PcrSigDocument doc =
        BS_TRY(measure::sign(m, {crypto::HashAlg::kSha256}, {"enter-initrd"}, *pcr_key, {}));
    res.pcrsig = tpm2::to_json(doc, tpm2::JsonStyle::kPython);
    uki_image = BS_TRY_CTX(uki::assemble_uki(ui.stub, std::move(secs), res.pcrsig, true), "{}", stub);
  } else {
    uki_image = BS_TRY_CTX(uki::build(ui), "{}", stub);
  }
  res.uki = BS_TRY_CTX(authenticode::sign(uki_image, *signer, cert, {}), "signing the UKI");
  return res;
}

Result<std::optional<SealedUki>> image_uki(const store::Repository& repo, const store::ImageRecord& record,
                                           const std::string& digest, const std::string& cmdline_extra) {
  fstree::Tree merged = BS_TRY(store::stored_tree(repo, record));
  fstree::NodePtr dir = fstree::lookup(merged, "/boot/EFI/Linux");
  if (!dir || !dir->is_dir()) return std::optional<SealedUki>{};
  std::vector<std::string> ukis;
  for (const auto& e : dir->children)
    if (e.name.ends_with(".efi") && e.node->is_reg()) ukis.push_back(e.name);
  if (ukis.empty()) return std::optional<SealedUki>{};
  if (!cmdline_extra.empty())
    return input_error("--cmdline: the image carries its own sealed UKI (/boot/EFI/Linux/{}); its command line is "
                       "signed (use --image-uki never to build another)", ukis[0]);
  std::sort(ukis.begin(), ukis.end());
  std::vector<std::string> seen;
  for (const auto& n : ukis) {
    std::string path = "/boot/EFI/Linux/" + n;
    Bytes uki = BS_TRY(image_file(merged, repo.path() + "/objects", path));
    bls::ComposefsKarg k = BS_TRY(deploy::uki_karg(uki, "image " + path));
    if (to_hex(k.digest) != digest) {
      seen.push_back(fmt::format("{} seals {}", path, to_hex(k.digest).substr(0, 16)));
      continue;
    }
    uki::Inspection in = BS_TRY_CTX(uki::inspect(uki), "image {}", path);
    if (!in.signed_)
      return input_error("image {}: the UKI is not signed (sign it: `bootseal sign`, then seal with --uki or "
                         "seal again with --keys)", path);
    SealedUki s;
    s.arch = BS_TRY_CTX(uki::pe_arch(uki), "image {}", path);
    s.digest = digest;
    s.kernel_version = in.uname.value_or(n.substr(0, n.size() - 4));
    s.cmdline = in.cmdline.value_or("");
    for (auto& sec : in.sections)
      if (sec.name == ".initrd") s.initrd_bytes = sec.virtual_size;
    s.uki = std::move(uki);
    return std::optional<SealedUki>(std::move(s));
  }
  return input_error("image {}: none of its UKIs seals this image ({}): {}", digest.substr(0, 16), digest.substr(0, 16),
                     fmt::join(seen, "; "));
}

Result<DiskResult> create_disk(const DiskOptions& o) {
  auto step = [&](const std::string& s) {
    if (o.step) o.step(s);
  };
  DiskResult res;
  // --- Everything is located and checked before anything is written.
  BS_TRY(bls::refuse_composefs_kargs(o.cmdline_extra, "--cmdline"));
  for (const char* f : {"db.key", "db.crt", "PK.auth", "KEK.auth", "db.auth"})
    BS_TRY_CTX(find_file(fmt::format("{} in the key set", f), {o.keys_dir + "/" + f}),
               "--keys {} (make one with `bootseal keys generate --dir {}`)", o.keys_dir, o.keys_dir);
  if (o.root_fs != "ext4") return usage_error("--root-fs {}: only ext4 is supported", o.root_fs);
  auto signer = BS_TRY(keys::load_signer(o.keys_dir + "/db.key", o.key_passphrase_file));
  auto cert = BS_TRY(keys::load_certificate(o.keys_dir + "/db.crt"));

  step("opening the repository");
  store::Repository repo = BS_TRY(store::Repository::open(o.repo, {}));
  store::ImageRecord record = BS_TRY(store::find_image(repo, o.image)).second;
  const std::string digest = record.image.starts_with("images/") ? record.image.substr(7) : record.image;
  res.digest = digest;
  // The architecture is the image's: its OCI config's, or --arch (which must agree);
  // a directory import has none, and then the kernel's PE Machine decides (seal_uki).
  std::string arch_name_given = o.arch;
  if (!record.architecture.empty()) {
    Arch rec = BS_TRY_CTX(arch_from_oci(record.architecture, ""), "image {}", o.image);
    if (!o.arch.empty() && BS_TRY_CTX(parse_arch(o.arch), "--arch") != rec)
      return input_error("--arch {}: image {} is {} (its OCI config says {})", o.arch, o.image, arch_name(rec),
                         record.architecture);
    arch_name_given = std::string(arch_name(rec));
  } else if (!o.arch.empty()) {
    BS_TRY_CTX(parse_arch(o.arch), "--arch");
  }
  Bytes image = BS_TRY(repo.read_image(digest));
  fstree::Tree tree = BS_TRY_CTX(composefs::read_image(image), "reading image {}", digest);
  const std::string objects = repo.path() + "/objects";
  Bytes os_release = BS_TRY(image_file(tree, objects, "/usr/lib/os-release"));
  bls::OsRelease osr = bls::parse_os_release(as_string(os_release));
  // The same rule upgrade and switch use (boot::deployment_for), so one image's entry
  // has one name however it was installed.
  const boot::Deployment entry = boot::deployment_for(digest, osr);
  if (!fstree::lookup(tree, "/etc") || !fstree::lookup(tree, "/var"))
    return input_error("image {} lacks /etc or /var, which a deployment needs", digest);

  std::string work = o.work_dir;
  if (work.empty()) work = BS_TRY(sys::make_temp_dir("bootseal-disk-"));
  else BS_TRY(sys::mkdir_p(work));
  struct Cleanup {
    std::string dir;
    bool keep;
    ~Cleanup() {
      if (!keep) (void)sys::remove_tree(dir);
    }
  } cleanup{work, o.keep_work};

  UkiOptions uo = o;
  uo.work_dir = work;
  uo.arch = arch_name_given;
  std::optional<Bytes> srk_public;
  if (o.encrypt) {
    if (o.pcr_key.empty())
      return input_error("--encrypt needs --pcr-key: the TPM policy is PCR 11 signed by that key (any UKI it signs unlocks)");
    if (o.tpm2_device.empty() == o.srk_public_key.empty())
      return input_error("--encrypt needs one of --tpm2-device (seal on that TPM) or --tpm2-srk-public-key (seal offline "
                         "for the machine whose SRK that is)");
    if (!o.srk_public_key.empty()) srk_public = BS_TRY_CTX(sys::read_file(o.srk_public_key), "--tpm2-srk-public-key");
    Bytes u = crypto::random_bytes(16);
    u[6] = static_cast<uint8_t>((u[6] & 0x0f) | 0x40);
    u[8] = static_cast<uint8_t>((u[8] & 0x3f) | 0x80);
    std::string h = to_hex(u);
    res.luks_uuid = fmt::format("{}-{}-{}-{}-{}", h.substr(0, 8), h.substr(8, 4), h.substr(12, 4), h.substr(16, 4), h.substr(20));
    uo.luks_uuid = res.luks_uuid;
  } else if (!o.recovery_key_file.empty() || !o.tpm2_device.empty() || !o.srk_public_key.empty()) {
    return input_error("--recovery-key-file, --tpm2-device and --tpm2-srk-public-key go with --encrypt");
  }
  // A sealed image (bootseal seal, bootc container ukify) carries its UKI at
  // /boot/EFI/Linux/*.efi: installed as it is when its digest karg names this
  // image, as bootc installs sealed images; otherwise one is built and signed here.
  std::optional<SealedUki> from_image;
  if (o.encrypt && o.image_uki == "require")
    return input_error("--encrypt builds its own UKI (bootseal.luks=, .pcrsig, .pcrpkey): --image-uki require does not apply");
  if (o.image_uki != "never" && !o.encrypt) from_image = BS_TRY(image_uki(repo, record, digest, o.cmdline_extra));
  if (!from_image && o.image_uki == "require")
    return input_error("image {} carries no UKI at /boot/EFI/Linux/*.efi (seal it with `bootseal seal`)", o.image);
  if (from_image) step(fmt::format("installing the image's own UKI ({})", from_image->kernel_version));
  SealedUki sealed = from_image ? std::move(*from_image) : BS_TRY(seal_uki(repo, digest, uo));
  const Arch arch = sealed.arch;
  res.arch = arch;
  std::string sdboot = BS_TRY(boot::find_systemd_efi(boot::systemd_boot_name(arch), o.sdboot, "--systemd-boot"));
  if (auto sa = uki::pe_arch(BS_TRY(sys::read_file(sdboot))); !sa.ok() || *sa != arch)
    return input_error("--systemd-boot {}: {} (the image is {})", sdboot,
                       sa.ok() ? fmt::format("a {} loader", arch_name(*sa)) : sa.error().message(), arch_name(arch));
  res.kernel_version = sealed.kernel_version;
  res.cmdline = sealed.cmdline;
  res.initrd_bytes = sealed.initrd_bytes;
  Bytes uki_image = std::move(sealed.uki);
  res.uki_bytes = uki_image.size();
  Bytes sdboot_signed = BS_TRY_CTX(authenticode::sign(BS_TRY(sys::read_file(sdboot)), *signer, cert, {}),
                                   "signing {}", sdboot);

  // --- ESP: room for two UKIs (upgrade keeps the old one for rollback).
  uint64_t need_esp = round_up(2 * res.uki_bytes + 2 * sdboot_signed.size() + 1 * disk::kMiB, disk::kMiB);
  // arm64 kernels are raw Images (36-45 MB UKIs; a 64 MiB ESP holds one): the
  // default leaves room for two of the larger ones however big this one is.
  uint64_t min_default = arch == Arch::kArm64 ? kMinEspSizeArm64 : disk::kMinEspSize;
  uint64_t esp_size = o.esp_size ? o.esp_size : std::max<uint64_t>(min_default, round_up(need_esp * 5 / 4, disk::kMiB));
  if (esp_size < need_esp)
    return input_error("--esp-size {} MiB is too small: two UKIs of {} MiB plus systemd-boot need {} MiB ({})",
                       esp_size / disk::kMiB, div_round_up(res.uki_bytes, disk::kMiB), need_esp / disk::kMiB,
                       arch_name(arch));
  if (esp_size < disk::kMinEspSize) return usage_error("--esp-size: a FAT32 ESP needs at least {} MiB", disk::kMinEspSize / disk::kMiB);
  res.esp_bytes = esp_size;

  step("laying out the ESP");
  std::string uki_file = work + "/uki.efi", sdboot_file = work + "/" + boot::systemd_boot_name(arch);
  BS_TRY(sys::write_file_atomic(uki_file, uki_image));
  BS_TRY(sys::write_file_atomic(sdboot_file, sdboot_signed));
  boot::EspSpec es;
  es.sdboot_source = sdboot_file;
  es.arch = arch;
  boot::Deployment first = entry;
  first.uki_source = uki_file;
  es.deployments.push_back(std::move(first));
  es.keys_name = o.keys_name;
  es.secure_boot_enroll = o.secure_boot_enroll;
  es.pk_auth = o.keys_dir + "/PK.auth";
  es.kek_auth = o.keys_dir + "/KEK.auth";
  es.db_auth = o.keys_dir + "/db.auth";
  boot::EspPlan plan = BS_TRY(boot::plan_esp(es));
  BS_TRY(boot::write_esp_dir(plan, work + "/esp"));

  // --- Root: the repository subset this image needs, and the deployment state.
  step("staging the root filesystem");
  std::string root = work + "/root";
  std::string cfs = root + "/composefs";
  BS_TRY(sys::mkdir_p(cfs + "/images"));
  BS_TRY(sys::mkdir_p(cfs + "/streams/refs"));
  BS_TRY(sys::set_mode(cfs, 0700));
  BS_TRY(sys::copy_new_file(repo.path() + "/meta.json", cfs + "/meta.json", 0644));
  BS_TRY(sys::write_file_atomic(cfs + "/images/" + digest, image));
  auto [nobj, nbytes] = BS_TRY(stage_objects(tree, objects, cfs + "/objects"));
  res.objects = nobj;
  res.object_bytes = nbytes;
  std::string dep = root + "/state/deploy/" + digest;
  BS_TRY(deploy::checkout(tree, "/etc", objects, dep + "/etc"));
  BS_TRY(deploy::checkout(tree, "/var", objects, root + "/state/os/default/var"));
  BS_TRY(sys::make_symlink("../../os/default/var", dep + "/var"));
  BS_TRY(sys::write_file_atomic(dep + "/" + digest + ".origin",
                                as_bytes(deploy::format_origin(record.source, digest, record.manifest_digest))));
  {
    store::Repository staged = BS_TRY(store::Repository::open(root, {}));
    // The image's record (config: version label, created, architecture; the tree), so
    // `status` on the device shows what `image import` recorded. Without layer records:
    // the device's repository holds no layer blobs.
    store::ImageRecord dev = record;
    dev.layers.clear();
    Bytes dump = BS_TRY(repo.read_object(record.tree, uint64_t{1} << 31));
    dev.tree = to_hex(BS_TRY(staged.write_object(dump)));
    Bytes rec_obj = BS_TRY(staged.write_object(as_bytes(store::serialize_image_record(dev))));
    BS_TRY(staged.set_stream(std::string(store::kImageStreamPrefix) + dev.image + "-" + to_hex(rec_obj).substr(0, 16),
                             to_hex(rec_obj)));
    BS_TRY(staged.flush());
    // The deployment is a GC root of the device's repository.
    BS_TRY(store::pin_deployment(staged, digest, record.source));
  }

  // --- Filesystems and the disk.
  disk::PartitionSizes sizes = BS_TRY(disk::plan_partition_sizes(root, esp_size, o.disk_size));
  if (o.encrypt && !o.disk_size) sizes.root += tpm2dev::kLuksHeaderBytes;
  res.root_bytes = sizes.root;
  step(fmt::format("writing the ESP ({} MiB FAT32), the root ({} MiB ext4 with verity) and the GPT disk",
                   sizes.esp / disk::kMiB, sizes.root / disk::kMiB));
  std::string uuid = fmt::format("{}-{}-{}-{}-{}", digest.substr(0, 8), digest.substr(8, 4), digest.substr(12, 4),
                                 digest.substr(16, 4), digest.substr(20, 12));
  disk::AssembleSpec as{work + "/esp", root, o.output, work + "/images", sizes, o.disk_size, "bootseal-root", uuid, arch};
  if (o.encrypt) {
    as.root_header = tpm2dev::kLuksHeaderBytes;
    as.encrypt_root = [&](const std::string& plain, const std::string& out) -> Status {
      step("encrypting the root (LUKS2, aes-xts-plain64) and enrolling the TPM");
      tpm2dev::EncryptedRootOptions eo;
      eo.plain_image = plain;
      eo.output = out;
      eo.uuid = res.luks_uuid;
      if (!o.tpm2_device.empty()) eo.tpm2_device = o.tpm2_device;
      eo.srk_public = srk_public;
      Bytes kpem = BS_TRY(sys::read_file(o.pcr_key));
      auto key = BS_TRY_CTX(crypto::PrivateKey::from_pem(kpem, o.pcr_key), "--pcr-key");
      eo.public_key_pem = crypto::public_key_pem(key.public_key_der());
      if (o.pcr15) {
        eo.pcrs = {15};
        eo.pcr_values[15] = Bytes(32, 0);
      }
      if (!o.recovery_key_file.empty()) eo.recovery_key_file = o.recovery_key_file;
      tpm2dev::EncryptedRootResult er = BS_TRY(tpm2dev::make_encrypted_root(eo));
      res.recovery_key = er.recovery_key;
      res.recovery_keyslot = er.recovery_keyslot;
      res.tpm_keyslot = er.tpm_keyslot;
      res.policy_hash = er.policy_hash;
      return {};
    };
  }
  BS_TRY(disk::assemble_disk(as));
  if (Result<uint64_t> size = sys::file_size(o.output)) res.disk_bytes = *size;
  res.uki_path = o.output + ".uki.efi";
  BS_TRY(sys::write_file_atomic(res.uki_path, uki_image));
  return res;
}

}  // namespace bootseal::seal
