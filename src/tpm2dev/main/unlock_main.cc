// bootseal-unlock: opens the encrypted root in the initramfs (run by
// bootseal-setup-root when the signed cmdline carries bootseal.luks=UUID).
// usage: bootseal-unlock DEVICE [NAME] [--tcti T] [--signature F] [--no-measure]
// Exit 0: /dev/mapper/NAME is open (and PCR 15 / PCR 11 extended); 1: refused
// (the reason on stderr, one line).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <string>

#include "tpm2dev/boot_unlock.h"

using namespace bootseal;

int main(int argc, char** argv) {
  tpm2dev::BootUnlockOptions o;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--tcti" && i + 1 < argc) o.tcti = argv[++i];
    else if (a == "--signature" && i + 1 < argc) o.signature_path = argv[++i];
    else if (a == "--no-measure") o.measure = false;
    else if (a == "--no-enter-initrd") o.enter_initrd = false;
    else if (a == "--help" || a == "-h") {
      std::printf("usage: bootseal-unlock DEVICE [NAME] [--tcti T] [--signature F] [--no-measure] [--no-enter-initrd]\n"
                  "Opens a LUKS2 volume with its systemd-tpm2 token (else asks for the recovery key\n"
                  "on the console, three tries) as /dev/mapper/NAME (default root). See docs/tpm.md.\n");
      return 0;
    } else pos.push_back(a);
  }
  if (pos.empty() || pos.size() > 2) {
    std::fprintf(stderr, "bootseal-unlock: usage: bootseal-unlock DEVICE [NAME]\n");
    return 2;
  }
  o.device = pos[0];
  if (pos.size() == 2) o.name = pos[1];
  tpm2dev::luks_initrd_mode();
  o.say = [](const std::string& s) {
    std::fprintf(stderr, "%s\n", s.c_str());
    std::fflush(stderr);
  };
  o.ask = [](const std::string& prompt) -> std::optional<std::string> {
    std::fprintf(stderr, "%s", prompt.c_str());
    std::fflush(stderr);
    std::string line;
    if (!std::getline(std::cin, line)) return std::nullopt;
    return line;
  };
  o.now_us = [] {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
  };
  auto r = tpm2dev::boot_unlock(o);
  if (!r.ok()) {
    std::fprintf(stderr, "bootseal-unlock: FAILED: %s\n", r.error().message().c_str());
    return 1;
  }
  std::fprintf(stderr,
               "bootseal-unlock: opened %s as /dev/mapper/%s with %s (keyslot %d) in %.1f ms "
               "(TPM %.1f ms, dm-crypt %.1f ms, PCR 15 + PCR 11 leave-initrd %.1f ms%s; CPU time of this process, "
               "loading included: %.1f ms)\n",
               o.device.c_str(), o.name.c_str(), r->how.c_str(), r->keyslot, r->total_us / 1000.0, r->tpm_us / 1000.0,
               r->activate_us / 1000.0, r->measure_us / 1000.0, r->measured ? "" : ", NOT measured: no TPM",
               1000.0 * static_cast<double>(std::clock()) / CLOCKS_PER_SEC);
  return 0;
}
