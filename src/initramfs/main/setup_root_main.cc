// bootseal-setup-root: run from the initramfs /init after the kernel modules are
// loaded. Verifies and mounts the sealed composefs root, then execs its init.
// On failure: one console line naming the step, then halt (default), an emergency
// shell or a reboot, as bootseal.on-failure= says. Never boots an unverified root.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "initramfs/real_ops.h"
#include "initramfs/trace_ops.h"
#include "sys/file.h"
#include "sys/mounts.h"

using namespace bootseal;

namespace {

void ensure_api_mounts() {
  struct stat st;
  if (::stat("/proc/cmdline", &st) != 0) {
    (void)sys::mkdir_p("/proc");
    (void)sys::mount_fs("proc", "/proc", "proc", 0, "");
  }
  if (::stat("/sys/class", &st) != 0) {
    (void)sys::mkdir_p("/sys");
    (void)sys::mount_fs("sysfs", "/sys", "sysfs", 0, "");
  }
  if (::stat("/dev/null", &st) != 0 || ::stat("/dev/tty", &st) != 0) {
    (void)sys::mkdir_p("/dev");
    (void)sys::mount_fs("devtmpfs", "/dev", "devtmpfs", 0, "");
  }
}

[[noreturn]] void give_up(const std::string& action) {
  std::fprintf(stderr, "bootseal-setup-root: the sealed root was NOT mounted; %s\n",
               action == "shell" ? "starting an emergency shell" : action == "reboot" ? "rebooting" : "powering off");
  std::fflush(stderr);
  if (action == "shell") {
    (void)sys::exec_program("/bin/sh", {"sh"});
  } else if (action == "reboot") {
    (void)sys::reboot_now();
  } else {
    ::sleep(1);
    (void)sys::power_off();
  }
  for (;;) ::pause();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::printf(
        "usage: bootseal-setup-root\n"
        "Run as the initramfs's last step (PID 1). Reads /proc/cmdline: composefs=<hex> or\n"
        "composefs.digest=v1|v2-sha256|sha512-12:<hex> ('?' needs composefs.insecure=1), root=,\n"
        "rootfstype=, bootseal.etc=bind|overlay|transient|none, bootseal.on-failure=halt|shell|reboot,\n"
        "bootseal.verity-enable=auto|0, bootseal.rootwait=SECONDS, bootseal.trace=1, init=.\n"
        "See docs/vm.md.\n");
    return 0;
  }
  initramfs::RealOps ops;
  const uint64_t main_t0 = ops.now_us();
  ensure_api_mounts();
  initramfs::TraceOps tracer(ops);
  std::string cmdline;  // for the failure action and tracing; setup_root reads its own
  if (auto c = ops.read_text("/proc/cmdline"); c.ok()) cmdline = *c;
  const bool trace = bls::cmdline_flag(cmdline, initramfs::kKargTrace);
  initramfs::SetupReport rep = initramfs::setup_root(trace ? static_cast<initramfs::SystemOps&>(tracer) : ops);
  if (!rep.step.empty()) {
    std::fprintf(stderr, "bootseal-setup-root: FAILED at %s: %s\n", rep.step.c_str(), rep.error.c_str());
    give_up(initramfs::failure_action(cmdline));
  }
  // The figure the boot tests check: from main() to the exec of init, without the
  // first-boot verity pass (printing these lines comes after it).
  const uint64_t to_exec_us = ops.now_us() - main_t0 - rep.verity_us;
  std::fprintf(stderr,
               "bootseal-setup-root: sealed root %s verified and mounted from %s in %.1f ms "
               "(start to exec of init without a verity pass; of which waiting for the root device %.1f ms; "
               "verity pass: %zu files, %.1f MB, %.1f ms); exec %s\n",
               rep.digest_hex.c_str(), rep.root_device.c_str(), static_cast<double>(to_exec_us) / 1000.0,
               static_cast<double>(rep.root_wait_us) / 1000.0, rep.verity_enabled,
               static_cast<double>(rep.verity_bytes) / 1e6, static_cast<double>(rep.verity_us) / 1000.0,
               rep.init.c_str());
  std::string steps;
  for (auto& [name, us] : rep.timings) steps += fmt::format(" {}={:.1f}", name, static_cast<double>(us) / 1000.0);
  std::fprintf(stderr, "bootseal-setup-root: step times (ms):%s\n", steps.c_str());
  if (trace) {
    std::fprintf(stderr, "bootseal-setup-root: trace main() to exec: %.1f ms\n",
                 static_cast<double>(ops.now_us() - main_t0) / 1000.0);
    if (auto up = ops.read_text("/proc/uptime"); up.ok())
      std::fprintf(stderr, "bootseal-setup-root: trace uptime %s", up->c_str());
  }
  if (trace)
    for (const std::string& l : tracer.lines()) std::fprintf(stderr, "bootseal-setup-root: trace %s\n", l.c_str());
  std::fflush(stderr);
  Status s = ops.exec_init(rep.init);
  std::fprintf(stderr, "bootseal-setup-root: FAILED at exec init: %s\n", s.error().message().c_str());
  give_up(initramfs::failure_action(cmdline));
}
