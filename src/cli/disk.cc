// bootseal disk assemble: a GPT disk image from a staged ESP directory and a
// staged root directory (no mounts, no root needed). `disk create` builds the
// staged directories from a repository image and calls the same code.

#include "cli/command.h"
#include "cli/size.h"
#include "disk/disk.h"
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

struct AssembleOptions {
  std::string esp_dir, root_dir, output;
  std::string size;  // total disk size ("2G", "1500M", bytes)
  std::string esp_size = "128M";
  std::string root_label = "bootseal-root";
  std::string arch;  // empty: arm64 if the ESP has EFI/BOOT/BOOTAA64.EFI, else x86-64
};

Status assemble(const AssembleOptions& o, const Globals& g) {
  uint64_t disk_size = BS_TRY(parse_size(o.size, "--size"));
  uint64_t esp_arg = BS_TRY(parse_size(o.esp_size, "--esp-size"));
  disk::PartitionSizes sizes = BS_TRY(disk::plan_partition_sizes(o.root_dir, esp_arg, disk_size));
  std::string tmp = o.output + ".parts";
  // The root partition's type follows the architecture of the ESP's loader.
  Arch arch = Arch::kX86_64;
  if (!o.arch.empty())
    arch = BS_TRY(arch_option(o.arch));
  else if (sys::path_exists(o.esp_dir + "/EFI/BOOT/BOOTAA64.EFI"))
    arch = Arch::kArm64;
  Status st =
      disk::assemble_disk({o.esp_dir, o.root_dir, o.output, tmp, sizes, disk_size, o.root_label, "", arch});
  (void)sys::remove_tree(tmp);  // the empty staging directory, if left
  if (!st.ok()) return st;
  uint64_t esp_size = sizes.esp, root_size = sizes.root;
  if (g.json)
    print_json({{"output", o.output}, {"esp_bytes", esp_size}, {"root_bytes", root_size}});
  else if (!g.quiet)
    fmt::print("{}: GPT disk with a {} MiB ESP and a {} MiB ext4 root\n", o.output, esp_size / disk::kMiB,
               root_size / disk::kMiB);
  return {};
}

void setup(CLI::App& root, Context& ctx) {
  CLI::App* d = group(root, "disk", "Bootable disk images (GPT, ESP, ext4 root with fs-verity)");
  static AssembleOptions a;
  CLI::App* c = d->add_subcommand("assemble", "Build a GPT disk from a staged ESP and root directory");
  json_output(c);
  c->add_option("--esp", a.esp_dir, "Directory with the ESP's files")->required();
  c->add_option("--root", a.root_dir, "Directory with the root filesystem's files")->required();
  c->add_option("--output,-o", a.output, "Disk image to write")->required();
  c->add_option("--size", a.size, "Total disk size (e.g. 2G); default: just big enough");
  c->add_option("--esp-size", a.esp_size, "ESP size")->capture_default_str();
  c->add_option("--root-label", a.root_label, "ext4 label of the root")->capture_default_str();
  c->add_option("--arch", a.arch, "x86-64 or arm64: the root partition's Discoverable Partitions type (default: "
                                  "arm64 if the ESP has EFI/BOOT/BOOTAA64.EFI, else x86-64)");
  c->callback([&ctx] { ctx.action = [&ctx] { return assemble(a, ctx.globals); }; });
}

}  // namespace

Result<uint64_t> parse_size(const std::string& s, std::string_view option) {
  if (s.empty()) return uint64_t{0};
  size_t pos = 0;
  unsigned long long v = 0;
  try {
    v = std::stoull(s, &pos);
  } catch (...) {
    return usage_error("{}: '{}' is not a size (e.g. 2G, 512M)", option, s);
  }
  std::string unit = s.substr(pos);
  uint64_t mul = 1;
  if (unit == "K" || unit == "k" || unit == "KiB") mul = 1024;
  else if (unit == "M" || unit == "MiB") mul = 1024ull * 1024;
  else if (unit == "G" || unit == "GiB") mul = 1024ull * 1024 * 1024;
  else if (!unit.empty()) return usage_error("{}: unknown unit '{}' in '{}' (use K, M or G)", option, unit, s);
  return static_cast<uint64_t>(v) * mul;
}

BOOTSEAL_VERB(60, setup);

}  // namespace bootseal::cli
