// bootseal initrd build|list: a small deterministic initramfs (cpio newc) with
// busybox, an /init, kernel modules with their dependencies, and extra files.
#include <cstdio>
#include <cstdlib>

#include "boot/payloads.h"
#include "cli/command.h"
#include "cpio/cpio.h"
#include "initramfs/initrd.h"
#include "sys/file.h"
#include "sys/tree.h"

namespace bootseal::cli {
namespace {

// An --arch value that is no architecture is a usage error (exit 2).
inline Result<Arch> arch_option(const std::string& s) {
  auto a = parse_arch(s);
  if (!a.ok()) return usage_error("--arch: {}", a.error().message());
  return a;
}

struct BuildOptions {
  initramfs::InitrdOptions o;
  std::vector<std::string> add;
  std::vector<std::string> modules;
  bool no_modules = false;
  bool keep_compressed = false;
  std::string output, arch, busybox;
};

Status build_cmd(BuildOptions& b, const Globals& g) {
  initramfs::InitrdOptions o = b.o;
  for (auto& a : b.add) {
    // PATH (an existing file, symlink or directory: the same path in the archive) or SRC:DST.
    size_t c = a.find(':');
    if (c == std::string::npos || sys::path_exists(a)) {
      o.add.emplace_back(a, "");
      continue;
    }
    if (c == 0 || c + 1 == a.size()) return usage_error("--add '{}': expected PATH or SRC:DST", a);
    o.add.emplace_back(a.substr(0, c), a.substr(c + 1));
  }
  if (!b.modules.empty()) o.modules = b.modules;
  if (b.no_modules) o.modules.clear();
  if (o.modules_dir.empty() && !o.modules.empty())
    return usage_error("--kernel-modules-from is required (or --no-modules)");
  o.decompress_modules = !b.keep_compressed;
  o.verbose = g.verbose > 0;
  // --arch: busybox and setup-root must be executables for it; the default busybox
  // is then the fetched busybox-static:arm64 for arm64.
  if (!b.arch.empty()) o.arch = BS_TRY(arch_option(b.arch));
  if (!b.busybox.empty())
    o.busybox = b.busybox;
  else if (o.arch == Arch::kArm64)
    o.busybox = boot::payloads_dir() + "/arm64/busybox/bin/busybox";
  if (const char* sde = std::getenv("SOURCE_DATE_EPOCH"); sde && o.mtime == 0) o.mtime = static_cast<uint32_t>(std::strtoul(sde, nullptr, 10));
  auto r = BS_TRY_CTX(initramfs::build_initrd(o), "initrd build");
  BS_TRY(sys::write_file_atomic(b.output, r.archive, 0644));
  if (g.json) {
    print_json({{"output", b.output}, {"size", r.archive.size()}, {"uncompressed_size", r.uncompressed_size},
                {"members", r.members}, {"kernel", r.kver}, {"modules", r.modules}});
  } else if (!g.quiet) {
    std::fprintf(stderr, "%s: %zu bytes (%zu uncompressed), %zu members, %zu kernel modules%s%s\n", b.output.c_str(),
                 r.archive.size(), r.uncompressed_size, r.members, r.modules.size(), r.kver.empty() ? "" : " for ",
                 r.kver.c_str());
  }
  return {};
}

Status list_cmd(const std::string& file, const Globals& g) {
  Bytes data = BS_TRY(sys::read_file(file));
  if (data.size() >= 4 && data[0] == 0x28 && data[1] == 0xb5 && data[2] == 0x2f && data[3] == 0xfd)
    return unsupported_error("{}: zstd-compressed; decompress it first (zstd -dc)", file);
  if (data.size() >= 6 && data[0] == 0xfd && data[1] == '7' && data[2] == 'z')
    return unsupported_error("{}: xz-compressed; decompress it first (xz -dc)", file);
  auto entries = BS_TRY_CTX(cpio::read_archive(data), "{}", file);
  nlohmann::json out = nlohmann::json::array();
  for (auto& e : entries) {
    if (g.json) {
      out.push_back({{"path", e.path}, {"mode", fmt::format("{:o}", e.mode)}, {"uid", e.uid}, {"gid", e.gid},
                     {"size", e.data.size()}, {"mtime", e.mtime}});
    } else {
      std::printf("%07o %u:%u %10zu %s%s%s\n", e.mode, e.uid, e.gid, e.data.size(), e.path.c_str(),
                  (e.mode & cpio::kTypeMask) == cpio::kTypeLnk ? " -> " : "",
                  (e.mode & cpio::kTypeMask) == cpio::kTypeLnk ? std::string(as_string(e.data)).c_str() : "");
    }
  }
  if (g.json) print_json(out);
  return {};
}

void setup(CLI::App& root, Context& ctx) {
  CLI::App* i = group(root, "initrd", "Build and inspect initramfs images (cpio newc)");

  static BuildOptions b;
  CLI::App* c = i->add_subcommand("build", "Build a deterministic initramfs: busybox, /init, kernel modules with "
                                            "their dependencies, extra files");
  json_output(c);
  c->add_option("--kernel-modules-from", b.o.modules_dir,
                "lib/modules/<kver> (with modules.dep), or a root holding lib/modules/<kver>");
  c->add_option("--module", b.modules, "Kernel module to include with its dependencies (repeatable; default: "
                                        "virtio_blk ext4 loop erofs overlay)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  c->add_flag("--no-modules", b.no_modules, "Include no kernel modules");
  c->add_flag("--keep-compressed", b.keep_compressed, "Keep .ko.xz/.ko.zst as they are (default: unpack on the host)");
  c->add_option("--init", b.o.init_file, "Script or binary to use as /init (default: the built-in generic init)");
  c->add_option("--setup-root", b.o.setup_root, "bootseal-setup-root (static) to install as "
                                                "/usr/bin/bootseal-setup-root; the generic /init runs it");
  c->add_option("--unlock", b.o.unlock, "bootseal-unlock to install as /usr/lib/bootseal/bootseal-unlock with its "
                                        "shared-library closure (and dm_mod dm_crypt xts): setup-root opens an "
                                        "encrypted root (bootseal.luks=) with it");
  c->add_option("--add", b.add, "Extra file, symlink or directory (with its contents): PATH (at the same path in the archive) or SRC:DST (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  c->add_option("--busybox", b.busybox, "Statically linked busybox (default: /bin/busybox; with --arch arm64: the "
                                       "fetched busybox-static:arm64)");
  c->add_option("--arch", b.arch, "Target x86-64 or arm64: busybox and --setup-root must be built for it");
  c->add_option("--compress", b.o.compress, "none, zstd or xz")->capture_default_str()->check(CLI::IsMember({"none", "zstd", "xz"}));
  c->add_option("-o,--output", b.output, "Output file")->required();
  c->callback([&ctx] { ctx.action = [&ctx] { return build_cmd(b, ctx.globals); }; });

  static std::string lfile;
  CLI::App* l = i->add_subcommand("list", "List the members of an uncompressed cpio newc archive");
  json_output(l);
  l->add_option("FILE", lfile, "Archive")->required();
  l->callback([&ctx] { ctx.action = [&ctx] { return list_cmd(lfile, ctx.globals); }; });
}

}  // namespace

BOOTSEAL_VERB(70, setup);

}  // namespace bootseal::cli
