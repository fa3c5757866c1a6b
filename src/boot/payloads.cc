#include "boot/payloads.h"

#include <cstdlib>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sys/tree.h"

namespace bootseal::boot {
namespace {

constexpr const char* kSystemEfiDir = "/usr/lib/systemd/boot/efi";

bool is_file(const std::string& p) { return sys::is_regular_file(p); }

}  // namespace

std::string payloads_dir() {
  const char* p = std::getenv("BOOTSEAL_PAYLOADS");
  return p && *p ? p : kDefaultPayloads;
}

std::string systemd_boot_name(Arch a) { return fmt::format("systemd-boot{}.efi", arch_info(a).efi); }
std::string linux_stub_name(Arch a) { return fmt::format("linux{}.efi.stub", arch_info(a).efi); }
std::string addon_stub_name(Arch a) { return fmt::format("addon{}.efi.stub", arch_info(a).efi); }

Result<std::string> find_systemd_efi(std::string_view file, const std::string& given, std::string_view hint) {
  if (!given.empty()) {
    if (!is_file(given)) return input_error("{} {} does not exist", hint, given);
    return given;
  }
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("BOOTSEAL_STUB"); env && *env && file == kLinuxStub) candidates.emplace_back(env);
  bool arm64 = file.find(arch_info(Arch::kArm64).efi) != std::string_view::npos;
  candidates.push_back(fmt::format("{}/{}sdboot{}/{}", payloads_dir(), arm64 ? "arm64/" : "", kSystemEfiDir, file));
  candidates.push_back(fmt::format("{}/{}", kSystemEfiDir, file));
  for (const auto& c : candidates)
    if (is_file(c)) return c;
  return input_error("missing {}: none of {} exists; install systemd-boot-efi or pass {}", file,
                     fmt::join(candidates, ", "), hint);
}

}  // namespace bootseal::boot
