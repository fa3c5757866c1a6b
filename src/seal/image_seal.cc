#include "seal/image_seal.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "authenticode/authenticode.h"
#include "base/hex.h"
#include "bls/karg.h"
#include "boot/payloads.h"
#include "composefs/image.h"
#include "crypto/hash.h"
#include "crypto/pem.h"
#include "fsverity/fsverity.h"
#include "keys/keyset.h"
#include "measure/measure.h"
#include "oci/transport.h"
#include "seal/seal.h"
#include "store/import.h"
#include "store/meta.h"
#include "store/repository.h"
#include "store/source.h"
#include "sys/file.h"
#include "sys/fsops.h"
#include "sys/tree.h"
#include "tpm2/pcrsig.h"
#include "uki/build.h"
#include "uki/uki.h"

namespace bootseal::seal {
namespace {

using nlohmann::json;

constexpr const char* kKargsDir = "/usr/lib/bootc/kargs.d";
constexpr const char* kLayoutFile = "{\"imageLayoutVersion\":\"1.0.0\"}";

std::string sha512_fsverity(ByteSpan data) {
  fsverity::Params p;
  p.alg = crypto::HashAlg::kSha512;
  return to_hex(fsverity::digest_buffer(data, p));
}

struct TempDir {
  std::string dir;
  ~TempDir() {
    if (!dir.empty()) (void)sys::remove_tree(dir);
  }
};

// The kargs of the image's usr/lib/bootc/kargs.d/*.toml, in file name order (bootc's).
Result<std::vector<std::string>> image_kargs(const fstree::Tree& tree, const std::string& objects, Arch arch,
                                             std::vector<std::string>* files) {
  std::vector<std::string> out;
  fstree::NodePtr d = fstree::lookup(tree, kKargsDir);
  if (!d || !d->is_dir()) return out;
  std::vector<std::string> names;
  for (const auto& e : d->children)
    if (e.name.size() > 5 && e.name.ends_with(".toml") && e.node->is_reg()) names.push_back(e.name);
  std::sort(names.begin(), names.end());
  for (auto& n : names) {
    std::string path = std::string(kKargsDir) + "/" + n;
    Bytes text = BS_TRY(image_file(tree, objects, path));
    auto k = BS_TRY(parse_kargs_d(as_string(text), "image " + path, arch));
    BS_TRY(bls::refuse_composefs_kargs(fmt::format("{}", fmt::join(k, " ")), path));
    out.insert(out.end(), k.begin(), k.end());
    files->push_back(path);
  }
  return out;
}

// Writes a blob file (content-addressed: an existing one of the right size is kept).
Status write_blob(const std::string& layout, const std::string& digest_str, ByteSpan data) {
  oci::Digest d = BS_TRY(oci::parse_digest(digest_str));
  std::string dir = layout + "/blobs/" + d.algorithm;
  BS_TRY(sys::mkdir_p(dir));
  return sys::write_file_atomic(dir + "/" + d.hex, data);
}

// Tars an OCI layout directory (oci-layout, index.json, blobs/<alg>/<hex>) into `out`.
Status write_archive(const std::string& layout, const std::string& out) {
  sys::AtomicFile f = BS_TRY(sys::AtomicFile::create(out));
  auto put_header = [&](const std::string& path, char type, uint32_t mode, uint64_t size) -> Status {
    auto h = BS_TRY(tar_header(path, type, mode, size, 0));
    return f.write(ByteSpan(reinterpret_cast<const uint8_t*>(h.data()), h.size()));
  };
  static const uint8_t zeros[1024] = {};
  auto put_file = [&](const std::string& rel) -> Status {
    std::string p = layout + "/" + rel;
    sys::Fd fd = BS_TRY(sys::open_regular(p));
    uint64_t size = static_cast<uint64_t>(BS_TRY(sys::fstat_fd(fd.get(), p)).st_size);
    BS_TRY(put_header(rel, '0', 0644, size));
    std::vector<uint8_t> buf(1 << 20);
    uint64_t off = 0;
    while (off < size) {
      size_t n = BS_TRY(sys::pread_full(fd.get(), buf.data(), std::min<uint64_t>(buf.size(), size - off), off, p));
      if (n == 0) return input_error("{}: file shrank while archiving", p);
      BS_TRY(f.write(ByteSpan(buf.data(), n)));
      off += n;
    }
    if (size % 512) BS_TRY(f.write(ByteSpan(zeros, 512 - size % 512)));
    return {};
  };
  BS_TRY(put_file("oci-layout"));
  BS_TRY(put_file("index.json"));
  BS_TRY(put_header("blobs/", '5', 0755, 0));
  std::vector<std::string> algs = BS_TRY(sys::list_dir_names(layout + "/blobs"));
  std::sort(algs.begin(), algs.end());
  for (auto& a : algs) {
    BS_TRY(put_header("blobs/" + a + "/", '5', 0755, 0));
    std::vector<std::string> names = BS_TRY(sys::list_dir_names(layout + "/blobs/" + a));
    std::sort(names.begin(), names.end());
    for (auto& n : names) BS_TRY(put_file("blobs/" + a + "/" + n));
  }
  BS_TRY(f.write(ByteSpan(zeros, 1024)));
  return f.commit();
}

// index.json with `desc` under `tag` (an entry of that name is replaced).
Result<Bytes> updated_index(const std::string& layout, const json& desc) {
  json idx = {{"schemaVersion", 2}, {"mediaType", oci::kMediaTypeIndex}, {"manifests", json::array()}};
  std::string p = layout + "/index.json";
  if (sys::path_exists(p)) {
    Bytes b = BS_TRY(sys::read_file(p));
    idx = json::parse(b.begin(), b.end(), nullptr, false);
    if (idx.is_discarded() || !idx.is_object() || !idx.contains("manifests") || !idx["manifests"].is_array())
      return input_error("{}: not an OCI image index", p);
  }
  std::string tag = desc["annotations"][oci::kAnnotationRefName].get<std::string>();
  json kept = json::array();
  for (auto& m : idx["manifests"]) {
    bool same = m.is_object() && m.contains("annotations") && m["annotations"].is_object() &&
                m["annotations"].value(oci::kAnnotationRefName, "") == tag;
    if (!same) kept.push_back(m);
  }
  kept.push_back(desc);
  idx["manifests"] = kept;
  std::string t = idx.dump();
  return Bytes(t.begin(), t.end());
}

}  // namespace

Result<ImageSealResult> seal_image(const ImageSealOptions& o) {
  auto step = [&](const std::string& s) {
    if (o.step) o.step(s);
  };
  ImageSealResult res;
  // --- Names, keys and options: checked before anything is read or written.
  const std::string source = BS_TRY(oci::absolute_source_name(o.source, BS_TRY(sys::absolute_path("."))));
  oci::SourceName src_name = BS_TRY(oci::parse_source_name(source));
  if (src_name.transport != oci::Transport::kOciLayout && src_name.transport != oci::Transport::kOciArchive &&
      src_name.transport != oci::Transport::kDocker)
    return unsupported_error("seal {}: the source must be an OCI image (oci:DIR[:TAG], oci-archive:FILE[:TAG] or "
                             "docker://…): its layers are kept as they are in the sealed image",
                             o.source);
  oci::SourceName out_name = BS_TRY_CTX(oci::parse_source_name(o.output), "--output");
  if (out_name.transport != oci::Transport::kOciLayout && out_name.transport != oci::Transport::kOciArchive &&
      out_name.transport != oci::Transport::kDocker)
    return input_error("--output {}: expected oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker://HOST/NAME[:TAG]", o.output);
  const std::string out_tag = out_name.transport == oci::Transport::kDocker ? out_name.docker->tag.value_or("latest")
                                                                            : out_name.tag.value_or("latest");
  if (out_name.transport == oci::Transport::kDocker && out_name.docker->digest)
    return input_error("--output {}: name a tag, not a digest (the sealed manifest is new)", o.output);
  std::unique_ptr<crypto::Signer> signer;
  std::optional<crypto::Certificate> cert;
  if (!o.unsigned_uki && o.uki_in.empty()) {
    if (o.keys_dir.empty()) return input_error("--keys DIR is needed to sign the UKI (or --unsigned for an offline signer)");
    for (const char* f : {"db.key", "db.crt"})
      BS_TRY_CTX(find_file(fmt::format("{} in the key set", f), {o.keys_dir + "/" + f}),
                 "--keys {} (make one with `bootseal keys generate --dir {}`)", o.keys_dir, o.keys_dir);
    signer = BS_TRY(keys::load_signer(o.keys_dir + "/db.key", o.key_passphrase_file));
    cert = BS_TRY(keys::load_certificate(o.keys_dir + "/db.crt"));
  }
  std::unique_ptr<crypto::Signer> pcr_signer;
  if (!o.pcr_key.empty()) pcr_signer = BS_TRY_CTX(keys::load_signer(o.pcr_key, o.key_passphrase_file), "--pcr-key");
  if (o.cmdline) BS_TRY(bls::refuse_composefs_kargs(*o.cmdline, "--cmdline"));
  if (o.erofs_versions.empty()) return input_error("--erofs-version: at least one of v1, v2");
  if (o.build_initrd && !o.initrd.empty()) return input_error("--initrd and --build-initrd exclude each other");
  if (!o.uki_name.empty() && (o.uki_name.find('/') != std::string::npos || o.uki_name.starts_with(".")))
    return input_error("--uki-name {}: a file name without '/'", o.uki_name);
  std::optional<Arch> want_arch;
  if (!o.arch.empty()) want_arch = BS_TRY_CTX(parse_arch(o.arch), "--arch");

  // --- Import into the repository (given, or temporary).
  TempDir temp_repo;
  std::optional<store::Repository> repo;
  if (o.repo.empty()) {
    temp_repo.dir = BS_TRY(sys::make_temp_dir("bootseal-seal-repo-"));
    repo.emplace(BS_TRY(store::Repository::init(temp_repo.dir, store::new_meta(crypto::HashAlg::kSha512, 1), {})));
  } else {
    repo.emplace(BS_TRY_CTX(store::Repository::open(o.repo, {}), "--repo {}", o.repo));
  }
  if (repo->algorithm() != crypto::HashAlg::kSha512)
    return input_error("--repo {}: a SHA-256 repository; the boot digest bootc's initramfs checks is SHA-512", o.repo);
  step(fmt::format("importing {}", o.source));
  store::ImageOptions io;
  io.hash = repo->algorithm();
  io.format = repo->meta().erofs_default;
  if (want_arch) io.platform = {std::string(arch_info(*want_arch).oci), "linux", ""};
  auto src = BS_TRY(store::open_source(src_name, source, o.source_registry));
  store::ImportStats stats;
  store::MergedImage merged = BS_TRY_CTX(store::merge_image(*src, io, &*repo, &stats), "import {}", o.source);
  store::ImportResult imp = BS_TRY_CTX(store::commit_image(*repo, merged, io, ""), "import {}", o.source);
  const store::ResolvedImage& meta = merged.meta;
  if (meta.manifest_bytes.empty() || meta.config_bytes.empty())
    return internal_error("{}: the source kept no manifest bytes", o.source);

  // --- Architecture: the OCI config's, --arch must agree.
  Arch arch = Arch::kX86_64;
  if (!meta.config.architecture.empty()) {
    arch = BS_TRY_CTX(arch_from_oci(meta.config.architecture, meta.config.variant), "{}", o.source);
    if (want_arch && *want_arch != arch)
      return input_error("--arch {}: {} is {} (its OCI config says {})", o.arch, o.source, arch_name(arch),
                         meta.config.architecture);
  } else if (want_arch) {
    arch = *want_arch;
  }
  res.arch = std::string(arch_name(arch));

  // --- The boot digests, as the device computes them.
  step("computing the boot digests (V1 and V2 EROFS, SHA-512)");
  const fstree::Tree& tree = merged.tree;
  fstree::Tree boot_tree =
      BS_TRY_CTX(store::transform_tree(tree, store::Transforms::kBoot, io.xattrs, nullptr, store::repo_reader(*repo)),
                 "{}", o.source);
  std::string v1 = sha512_fsverity(BS_TRY(store::make_image(boot_tree, 1)));
  std::string v2 = sha512_fsverity(BS_TRY(store::make_image(boot_tree, 2)));
  std::string imported = imp.image.starts_with("images/") ? imp.image.substr(7) : imp.image;
  if (imported != (io.format == 2 ? v2 : v1))
    return internal_error("the imported image {} is not the boot digest computed for it", imported);
  bool want_v1 = std::count(o.erofs_versions.begin(), o.erofs_versions.end(), 1u) > 0;
  bool want_v2 = std::count(o.erofs_versions.begin(), o.erofs_versions.end(), 2u) > 0;
  if (want_v1) res.digest_v1 = v1;
  if (want_v2) res.digest_v2 = v2;

  // --- Kernel, initrd, os-release from the image (or given).
  const std::string objects = repo->path() + "/objects";
  res.kernel_version = BS_TRY_CTX(find_kernel_version(tree), "{}", o.source);
  const std::string modpath = "/usr/lib/modules/" + res.kernel_version;
  Bytes kernel = o.kernel.empty() ? BS_TRY(image_file(tree, objects, modpath + "/vmlinuz"))
                                  : BS_TRY_CTX(sys::read_file(o.kernel), "--kernel");
  if (auto ka = uki::pe_arch(kernel); ka.ok() && *ka != arch)
    return input_error("{}: the kernel {} is {}, the image is {}", o.source, o.kernel.empty() ? modpath + "/vmlinuz" : o.kernel,
                       arch_name(*ka), arch_name(arch));
  std::string stub = BS_TRY(boot::find_systemd_efi(boot::linux_stub_name(arch), o.stub, "--stub"));
  Bytes stub_bytes = BS_TRY(sys::read_file(stub));
  BS_TRY_CTX(uki::check_kernel_for_stub(kernel, stub_bytes), "{}/vmlinuz with stub {}", modpath, stub);
  Bytes os_release = BS_TRY(image_file(tree, objects, "/usr/lib/os-release"));

  // --- The command line, and the policy: before anything is built or signed.
  std::vector<std::string> kargs;
  if (want_v1) kargs.push_back(bls::format_digest_karg(bls::KargVersion::kV1, bls::KargHash::kSha512, BS_TRY(from_hex(v1))));
  if (want_v2) kargs.push_back(bls::format_legacy_karg(BS_TRY(from_hex(v2))));
  if (o.kargs_from_image) {
    auto k = BS_TRY(image_kargs(tree, objects, arch, &res.kargs_files));
    kargs.insert(kargs.end(), k.begin(), k.end());
  }
  kargs.push_back(o.cmdline ? *o.cmdline : default_cmdline(arch));
  std::string cmdline;
  for (auto& k : kargs)
    if (!k.empty()) cmdline += (cmdline.empty() ? "" : " ") + k;
  res.cmdline = cmdline;
  if (o.uki_in.empty()) BS_TRY(check_policy(cmdline, o.policy));

  // --- initrd.
  Bytes initrd;
  TempDir work;
  work.dir = BS_TRY(sys::make_temp_dir("bootseal-seal-"));
  Bytes given_uki;
  if (!o.uki_in.empty()) {
    // A UKI built and signed elsewhere: it must seal this image and pass the policy.
    given_uki = BS_TRY_CTX(sys::read_file(o.uki_in), "--uki");
    uki::Inspection in = BS_TRY_CTX(uki::inspect(given_uki), "--uki {}", o.uki_in);
    if (!in.is_uki || !in.cmdline) return input_error("--uki {}: not a UKI with a .cmdline", o.uki_in);
    for (auto [want, ver] : {std::pair{want_v1, 1u}, std::pair{want_v2, 2u}}) {
      if (!want) continue;
      std::string k = ver == 1 ? bls::format_digest_karg(bls::KargVersion::kV1, bls::KargHash::kSha512, BS_TRY(from_hex(v1)))
                               : bls::format_legacy_karg(BS_TRY(from_hex(v2)));
      auto toks = bls::split_cmdline(*in.cmdline);
      if (std::find(toks.begin(), toks.end(), std::string_view(k)) == toks.end())
        return input_error("--uki {}: its command line lacks {}: it does not seal this image (--erofs-version picks "
                           "the digests expected)", o.uki_in, k);
    }
    BS_TRY(check_policy(*in.cmdline, o.policy));
    if (!o.unsigned_uki && !in.signed_)
      return input_error("--uki {}: the UKI is not signed (sign it with `bootseal sign`, or pass --unsigned)", o.uki_in);
    res.cmdline = *in.cmdline;
  } else if (!o.initrd.empty()) {
    initrd = BS_TRY_CTX(sys::read_file(o.initrd), "--initrd");
  } else if (o.build_initrd) {
    step(fmt::format("building the initrd (kernel {})", res.kernel_version));
    std::vector<std::string> sr = setup_root_candidates(arch);
    sr.insert(sr.begin(), o.setup_root);
    std::string setup_root = BS_TRY(find_file(fmt::format("bootseal-setup-root for {}", arch_name(arch)), sr));
    std::string busybox = o.busybox;
    if (busybox.empty())
      busybox = arch == Arch::kArm64 ? boot::payloads_dir() + "/arm64/busybox/bin/busybox" : "/bin/busybox";
    BS_TRY(find_file(fmt::format("busybox (busybox-static for {})", arch_name(arch)), {busybox}));
    initrd = BS_TRY(build_image_initrd(tree, objects, res.kernel_version, arch, setup_root, busybox, work.dir));
  } else {
    auto in = image_file(tree, objects, modpath + "/initramfs.img");
    if (!in.ok())
      return input_error("{}: the image has no {}/initramfs.img (bootc images ship their initramfs there): give "
                         "--initrd FILE, or --build-initrd for bootseal's own",
                         o.source, modpath);
    initrd = std::move(*in);
  }

  // --- The UKI, signed (and its PCR policy).
  Bytes uki_image;
  if (!given_uki.empty()) {
    uki_image = std::move(given_uki);
    uki::Inspection gi = BS_TRY(uki::inspect(uki_image));
    res.uki_signed = gi.signed_;
    res.pcrsig = std::any_of(gi.sections.begin(), gi.sections.end(),
                             [](const uki::SectionInfo& x) { return x.name == ".pcrsig"; });
  } else {
  step(o.unsigned_uki ? "building the UKI (unsigned)" : "building and signing the UKI");
  uki::BuildInputs ui;
  ui.stub = stub_bytes;
  ui.linux_image = std::move(kernel);
  ui.initrds.push_back(std::move(initrd));
  ui.cmdline = cmdline;
  ui.os_release = std::string(as_string(os_release));
  ui.uname = res.kernel_version;
  if (pcr_signer) ui.pcrpkey = crypto::public_key_pem(pcr_signer->public_key_der());
  std::vector<std::string> warnings;
  std::vector<uki::NamedSection> secs = BS_TRY_CTX(uki::build_sections(ui, &warnings), "{}", stub);
  std::optional<std::string> pcrsig;
  if (pcr_signer) {
    measure::SectionMap m;
    for (auto& s : secs)
      if (std::find(uki::kMeasuredSections.begin(), uki::kMeasuredSections.end(), s.name) != uki::kMeasuredSections.end())
        m.emplace(s.name, s.content.data);
    tpm2::PcrSigDocument doc = BS_TRY_CTX(
        measure::sign(m, measure::default_banks(), measure::default_phase_paths(), *pcr_signer), "--pcr-key");
    pcrsig = tpm2::to_json(doc, tpm2::JsonStyle::kPython);
    res.pcrsig = true;
  }
  uki_image = BS_TRY_CTX(uki::assemble_uki(stub_bytes, std::move(secs), pcrsig, true), "{}", stub);
  if (signer) uki_image = BS_TRY_CTX(authenticode::sign(uki_image, *signer, *cert, {}), "signing the UKI");
  res.uki_signed = signer != nullptr;
  }
  res.uki_bytes = uki_image.size();
  res.uki_sha256 = to_hex(crypto::digest(crypto::HashAlg::kSha256, uki_image));

  // --- The UKI layer: /boot exists (the boot transform needs it); the directories
  // below it are added only when missing, so /boot's own entry stays the image's.
  std::string name = (o.uki_name.empty() ? res.kernel_version : o.uki_name) + ".efi";
  res.uki_path = "/boot/EFI/Linux/" + name;
  int64_t mtime = 0;
  if (fstree::NodePtr usr = fstree::lookup(tree, "/usr")) mtime = usr->mtime_sec;
  std::vector<TarDir> dirs;
  for (const char* d : {"boot/EFI", "boot/EFI/Linux"}) {
    fstree::NodePtr n = fstree::lookup(tree, std::string("/") + d);
    if (n && !n->is_dir()) return input_error("{}: /{} in the image is not a directory", o.source, d);
    if (!n) dirs.push_back({d, 0755, mtime});
  }
  Bytes layer = BS_TRY(one_file_tar(dirs, "boot/EFI/Linux/" + name, uki_image, mtime));
  res.layer_digest = "sha256:" + to_hex(crypto::digest(crypto::HashAlg::kSha256, layer));

  SealInputs si;
  si.manifest = meta.manifest_bytes;
  si.config = meta.config_bytes;
  si.layer_digest = res.layer_digest;
  si.layer_size = layer.size();
  si.layer_comment = fmt::format("bootseal seal: UKI {} ({})", res.uki_path, cmdline);
  si.layer_annotations["org.opencontainers.image.title"] = res.uki_path;
  if (want_v1) si.manifest_annotations[bootable_annotation(1)] = v1;
  if (want_v2) si.manifest_annotations[bootable_annotation(2)] = v2;
  if (meta.manifest_digest) si.manifest_annotations["org.opencontainers.image.base.digest"] = meta.manifest_digest->str();
  si.labels["containers.bootc"] = "1";
  SealedMeta sm = BS_TRY(derive_sealed_meta(
      si, [](ByteSpan cfg) { return std::map<std::string, std::string>{{config_annotation(), sha512_fsverity(cfg)}}; }));
  res.config_digest = "sha256:" + to_hex(crypto::digest(crypto::HashAlg::kSha256, sm.config));
  res.manifest_digest = "sha256:" + to_hex(crypto::digest(crypto::HashAlg::kSha256, sm.manifest));
  res.manifest_size = sm.manifest.size();

  // --- The layout: written in place for oci:DIR (index.json last), else staged.
  std::string layout = out_name.transport == oci::Transport::kOciLayout ? out_name.path : work.dir + "/layout";
  step(fmt::format("writing the sealed image ({} layers + the UKI layer)", meta.layers.size()));
  BS_TRY(sys::mkdir_p(layout + "/blobs/sha256"));
  for (const auto& l : meta.layers) {
    std::string p = layout + "/blobs/" + l.digest.algorithm + "/" + l.digest.hex;
    BS_TRY(sys::mkdir_p(sys::dirname_of(p)));
    if (sys::path_exists(p)) {
      // Content-addressed: an intact copy is kept (checked, as every blob read).
      Bytes have_hash;
      crypto::Hasher h(l.digest.algorithm == "sha512" ? crypto::HashAlg::kSha512 : crypto::HashAlg::kSha256);
      sys::Fd fd = BS_TRY(sys::open_regular(p));
      std::vector<uint8_t> buf(1 << 20);
      uint64_t off = 0;
      for (;;) {
        size_t n = BS_TRY(sys::pread_full(fd.get(), buf.data(), buf.size(), off, p));
        if (n == 0) break;
        h.update(ByteSpan(buf.data(), n));
        off += n;
      }
      if (to_hex(h.finish()) == l.digest.hex) continue;
    }
    sys::AtomicFile f = BS_TRY(sys::AtomicFile::create(p));
    BS_TRY(src->read_blob(l, [&f](ByteSpan d) { return f.write(d); }));
    BS_TRY(f.commit());
    res.blobs_copied++;
  }
  BS_TRY(write_blob(layout, res.layer_digest, layer));
  BS_TRY(write_blob(layout, res.config_digest, sm.config));
  BS_TRY(write_blob(layout, res.manifest_digest, sm.manifest));
  if (!sys::path_exists(layout + "/oci-layout")) BS_TRY(sys::write_file_atomic(layout + "/oci-layout", as_bytes(kLayoutFile)));
  json desc = {{"mediaType", oci::kMediaTypeManifest},
               {"digest", res.manifest_digest},
               {"size", sm.manifest.size()},
               {"platform", {{"architecture", arch_info(arch).oci}, {"os", meta.config.os.empty() ? "linux" : meta.config.os}}},
               {"annotations", {{oci::kAnnotationRefName, out_tag}}}};
  if (!meta.config.variant.empty()) desc["platform"]["variant"] = meta.config.variant;
  Bytes index = BS_TRY(updated_index(layout, desc));

  // --- Proof: the sealed image, imported as a device would, has the digest its UKI carries.
  std::string staged_index = work.dir + "/index.json";
  if (out_name.transport == oci::Transport::kOciLayout) {
    // Check from a private view of the layout: index.json is written only after the check.
    BS_TRY(sys::mkdir_p(work.dir + "/check"));
    BS_TRY(sys::write_file_atomic(work.dir + "/check/index.json", index));
    BS_TRY(sys::write_file_atomic(work.dir + "/check/oci-layout", as_bytes(kLayoutFile)));
    BS_TRY(sys::make_symlink(BS_TRY(sys::absolute_path(layout)) + "/blobs", work.dir + "/check/blobs"));
  } else {
    BS_TRY(sys::write_file_atomic(layout + "/index.json", index));
  }
  {
    step("importing the sealed image again (the digest must not change)");
    std::string check_dir = out_name.transport == oci::Transport::kOciLayout ? work.dir + "/check" : layout;
    oci::SourceName cn{oci::Transport::kOciLayout, check_dir, out_tag, std::nullopt};
    auto cs = BS_TRY(store::open_source(cn, "oci:" + check_dir + ":" + out_tag));
    store::ImageOptions ro = io;
    ro.platform = {std::string(arch_info(arch).oci), "linux", ""};
    store::MergedImage again = BS_TRY_CTX(store::merge_image(*cs, ro, &*repo, nullptr), "re-importing the sealed image");
    fstree::Tree t2 = BS_TRY(store::transform_tree(again.tree, store::Transforms::kBoot, io.xattrs, nullptr,
                                                   store::repo_reader(*repo)));
    res.reimported_digest = sha512_fsverity(BS_TRY(store::make_image(t2, 1)));
    if (res.reimported_digest != v1)
      return internal_error("the sealed image's boot digest is {}, not {}: the UKI layer changed what the device sees",
                            res.reimported_digest, v1);
    if (!fstree::lookup(again.tree, res.uki_path)) return internal_error("the sealed image has no {}", res.uki_path);
  }

  // --- Output.
  switch (out_name.transport) {
    case oci::Transport::kOciLayout:
      BS_TRY(sys::write_file_atomic(layout + "/index.json", index));
      res.output = "oci:" + out_name.path + ":" + out_tag;
      break;
    case oci::Transport::kOciArchive:
      step(fmt::format("writing {}", out_name.path));
      BS_TRY(write_archive(layout, out_name.path));
      res.output = "oci-archive:" + out_name.path;
      break;
    default: {
      step(fmt::format("pushing to {}", out_name.docker->str()));
      auto client = BS_TRY(registry::Client::connect(*out_name.docker, o.dest_registry, /*push=*/true));
      store::PushOptions po;
      po.tag = out_name.docker->manifest_ref();
      oci::SourceName ln{oci::Transport::kOciLayout, layout, out_tag, std::nullopt};
      auto pr = BS_TRY_CTX(store::push_layout(ln, *client, po), "push to {}", o.output);
      if (pr.manifest_digest.str() != res.manifest_digest)
        return internal_error("pushed manifest {} is not {}", pr.manifest_digest.str(), res.manifest_digest);
      res.output = "docker://" + out_name.docker->str();
      break;
    }
  }
  if (!o.uki_out.empty()) BS_TRY(sys::write_file_atomic(o.uki_out, uki_image));
  return res;
}

}  // namespace bootseal::seal
