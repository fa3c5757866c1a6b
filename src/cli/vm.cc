// bootseal vm run: boot a disk image under QEMU + OVMF (Secure Boot) + swtpm and
// decide from the serial console (src/vm/vm.h, docs/vm.md).
#include <cstdio>

#include "cli/command.h"
#include "sys/process.h"
#include "vm/vm.h"

namespace bootseal::cli {
namespace {

std::vector<std::string> send_on_args;

Status run_cmd(vm::VmConfig c, const Globals& g) {
  c.verbose = g.verbose > 0;
  for (const std::string& a : send_on_args) {
    auto sep = a.find("=>");
    if (sep == std::string::npos || sep == 0)
      return input_error("--send-on '{}': expected TEXT=>LINE (type LINE when TEXT appears)", a);
    c.send_on.emplace_back(a.substr(0, sep), a.substr(sep + 2));
  }
  if (g.quiet || g.json) c.echo_serial = false;
  if (c.secure_boot && c.enroll_keydir.empty() && c.vars.empty())
    warn("--secure-boot without --enroll or --vars: the firmware starts in setup mode and enforces nothing "
         "(unless the disk enrolls keys itself)");
  auto r = BS_TRY_CTX(vm::run(c), "vm run");
  std::string what;
  Status st;
  switch (r.verdict) {
    case vm::Verdict::kExpected:
      what = fmt::format("found '{}'", r.matched);
      break;
    case vm::Verdict::kFailOn:
      what = fmt::format("refusal text '{}' appeared", r.matched);
      st = check_error("vm run: {} after {:.1f} s: {}", what, r.elapsed_s, r.matched_line);
      break;
    case vm::Verdict::kTimeout:
      what = "timeout";
      st = check_error("vm run: timed out after {:.0f} s without {}", c.timeout_s,
                       c.expect.empty() ? std::string("the guest powering off")
                                        : fmt::format("any of the expected texts ('{}'{})", c.expect[0],
                                                      c.expect.size() > 1 ? ", ..." : ""));
      break;
    case vm::Verdict::kInterrupted:
      what = "interrupted";
      st = check_error("vm run: interrupted by signal {}; QEMU and swtpm were stopped", sys::termination_signal());
      break;
    case vm::Verdict::kExited:
      what = fmt::format("QEMU {}", sys::describe_wait_status(r.qemu_status));
      if (!c.expect.empty())
        st = check_error("vm run: QEMU {} after {:.1f} s before any expected text appeared",
                         sys::describe_wait_status(r.qemu_status), r.elapsed_s);
      else if (!sys::exited_ok(r.qemu_status))
        st = check_error("vm run: QEMU {} after {:.1f} s", sys::describe_wait_status(r.qemu_status), r.elapsed_s);
      break;
  }
  if (g.json) {
    print_json({{"verdict", vm::verdict_name(r.verdict)}, {"matched", r.matched}, {"line", r.matched_line},
                {"elapsed_s", r.elapsed_s}, {"accel", r.accel}, {"ok", st.ok()}});
  } else {  // the verdict, even with -q (-q silences the console echo)
    std::fprintf(stderr, "vm: %s after %.1f s (%s)\n", what.c_str(), r.elapsed_s, r.accel.c_str());
  }
  return st;
}

void setup(CLI::App& root, Context& ctx) {
  CLI::App* v = group(root, "vm", "Boot disk images under QEMU with OVMF Secure Boot and swtpm");
  static vm::VmConfig c;
  CLI::App* r = v->add_subcommand("run", "Boot DISK and stop at the first --expect (exit 0) or --fail-on (exit 1) "
                                         "text on the serial console, or at the timeout (exit 1)");
  json_output(r);
  r->add_option("DISK", c.disk, "Raw disk image (GPT with an ESP)")->required();
  r->add_flag("--secure-boot", c.secure_boot, "Secure Boot firmware (OVMF_CODE_4M.secboot.fd, SMM)");
  r->add_option("--vars", c.vars, "Start from this OVMF variable store (a copy is used)");
  r->add_option("--enroll", c.enroll_keydir, "Enroll PK.crt, KEK.crt and db.crt from this directory "
                                             "(virt-fw-vars --sb)");
  r->add_option("--owner-guid", c.owner_guid, "Owner GUID of enrolled keys")->capture_default_str();
  r->add_flag("--tpm", c.tpm, "Attach swtpm as a TPM 2.0 (tpm-crb)");
  r->add_option("--tpm-state", c.tpm_state, "Keep swtpm state in this directory (default: fresh per run)");
  r->add_option("--timeout", c.timeout_s, "Hard timeout in seconds")->capture_default_str();
  r->add_option("--serial-log", c.serial_log, "Write the raw serial console to this file");
  r->add_option("--expect", c.expect, "Stop with success when this text appears (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  r->add_option("--fail-on", c.fail_on, "Stop with failure when this text appears (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  r->add_option("--send-on", send_on_args, "TEXT=>LINE: when TEXT appears on the console, type LINE and Enter "
                                          "(each once, in order; repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  r->add_option("--extra-disk", c.extra_disks, "Another raw virtio disk (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  r->add_option("--accel", c.accel, "auto (KVM if /dev/kvm works), kvm or tcg")->capture_default_str()->check(CLI::IsMember({"auto", "kvm", "tcg"}));
  r->add_option("--memory", c.memory_mb, "Guest memory in MiB")->capture_default_str();
  r->add_option("--smp", c.smp, "Guest CPUs")->capture_default_str();
  static bool no_reboot = false;
  r->add_flag("--no-reboot", no_reboot, "End the run when the guest resets (QEMU -no-reboot)");
  r->add_option("--ovmf-dir", c.ovmf_dir, "Where the OVMF firmware files are")->capture_default_str();
  r->add_option("--arch", c.arch, "auto (from the disk's EFI/BOOT/BOOT<arch>.EFI), x86_64 or aarch64 "
                                  "(qemu-system-aarch64 -M virt, AAVMF, tpm-tis-device)")->capture_default_str();
  r->add_option("--aavmf-dir", c.aavmf_dir, "Where the AAVMF firmware files are (aarch64)")->capture_default_str();
  r->add_option("--work-dir", c.workdir, "Keep the variable store and TPM socket here");
  r->add_flag("--keep-work-dir", c.keep_workdir, "Do not remove the temporary work directory");
  hidden_alias(r, "--workdir", c.workdir);
  hidden_alias(r, "--keep-workdir,--keep-work", c.keep_workdir);
  r->callback([&ctx] {
    c.allow_reboot = !no_reboot;
    ctx.action = [&ctx] { return run_cmd(c, ctx.globals); };
  });
}

}  // namespace

BOOTSEAL_VERB(80, setup);

}  // namespace bootseal::cli
