// A QEMU + OVMF (+ swtpm) boot harness for sealed disk images: Secure Boot firmware
// with a writable variable store (keys enrolled with virt-fw-vars), a TPM 2.0, the
// serial console streamed to the terminal and a log and matched against expected and
// refusal texts, a hard timeout, and every child process cleaned up on every path.
// Facts it is built on: docs/vm.md (measured harness facts). Docs: docs/vm.md.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/arch.h"
#include "base/bytes.h"
#include "base/error.h"

namespace bootseal::vm {

// The default owner GUID of enrolled keys (any fixed GUID works; this one is ours).
inline constexpr std::string_view kDefaultOwnerGuid = "7c5bd4b8-2f5e-4a36-9a5f-b0075ea1b001";

struct VmConfig {
  std::string disk;                      // raw disk image, first boot device
  std::vector<std::string> extra_disks;  // more raw virtio-blk disks
  bool secure_boot = false;              // OVMF_CODE_4M.secboot.fd (+ SMM)
  std::string vars;                      // a variable store to start from (copied)
  std::string enroll_keydir;             // PK.crt KEK.crt db.crt, enrolled with virt-fw-vars --sb
  std::string owner_guid = std::string(kDefaultOwnerGuid);
  bool tpm = false;                      // swtpm as TPM 2.0 on tpm-crb
  std::string tpm_state;                 // persistent swtpm state dir (default: fresh per run)
  double timeout_s = 180;
  std::string serial_log;                // raw serial output (also streamed)
  std::vector<std::string> expect;       // stop with success at the first one seen
  std::vector<std::string> fail_on;      // stop with failure at the first one seen
  // When a console line contains `first`, `second` and a newline are typed on the serial
  // console (each pair once, in order: e.g. answering a recovery-key prompt).
  std::vector<std::pair<std::string, std::string>> send_on;
  std::string accel = "auto";            // auto | kvm | tcg
  unsigned memory_mb = 1024;
  unsigned smp = 2;
  bool allow_reboot = true;              // false: -no-reboot (a guest reset ends the run)
  std::string ovmf_dir = "/usr/share/OVMF";
  // auto (from the disk's loader: EFI/BOOT/BOOTAA64.EFI or BOOTX64.EFI), x86_64 or
  // aarch64. aarch64: qemu-system-aarch64 -M virt (TCG, -cpu cortex-a57), AAVMF
  // (aavmf_dir), tpm-tis-device, no SMM.
  std::string arch = "auto";
  std::string aavmf_dir = "/usr/share/AAVMF";
  std::string workdir;                   // default: a fresh temporary directory, removed afterwards
  bool keep_workdir = false;
  bool echo_serial = true;               // stream the console to stdout
  bool verbose = false;                  // (commands are echoed by sys::Process under -v)
};

enum class Verdict {
  kExpected,   // an --expect text appeared
  kFailOn,     // a --fail-on text appeared
  kTimeout,    // the hard timeout passed
  kExited,     // QEMU ended by itself (guest powered off, or an error)
  kInterrupted,  // SIGINT/SIGTERM/SIGHUP
};

struct VmResult {
  Verdict verdict = Verdict::kExited;
  std::string matched;       // the text that matched, if any
  std::string matched_line;  // the (cleaned) console line it was in
  double elapsed_s = 0;      // from QEMU start
  int qemu_status = -1;      // raw wait status if QEMU ended by itself
  std::string accel;         // what was used: kvm or tcg
  std::vector<std::string> qemu_argv;
};

// Removes terminal control sequences (CSI "ESC [ ... final", e.g. OVMF's ESC[=3h,
// ESC[2J, colour codes; other "ESC x" pairs) and carriage returns, so text can be matched.
std::string strip_terminal_codes(std::string_view s);

// Incremental line matcher over a byte stream (pure, for tests): feed chunks; it
// reports the first expect/fail-on text seen in the cleaned text of any line
// (including the current unterminated one). Fail-on wins over expect in the same line.
class ConsoleMatcher {
 public:
  ConsoleMatcher(std::vector<std::string> expect, std::vector<std::string> fail_on)
      : expect_(std::move(expect)), fail_on_(std::move(fail_on)) {}
  // Returns true once a match was found (then verdict()/matched() are set).
  bool feed(std::string_view chunk);
  bool matched() const { return done_; }
  Verdict verdict() const { return verdict_; }
  const std::string& text() const { return text_; }
  const std::string& line() const { return line_out_; }

 private:
  bool check(const std::string& cleaned);
  std::vector<std::string> expect_, fail_on_;
  std::string raw_line_;  // bytes of the current line (uncleaned: sequences may span chunks)
  bool done_ = false;
  Verdict verdict_ = Verdict::kExited;
  std::string text_, line_out_;
};

// The architecture of a disk's boot loader, from the FAT 8.3 directory entry names
// "BOOTAA64EFI" / "BOOTX64 EFI" (EFI/BOOT/BOOT<arch>.EFI) in the first bytes of the
// disk (the ESP's directories come early); nullopt if neither is there.
std::optional<Arch> detect_disk_arch(ByteSpan disk_head);
// The config's architecture: `arch`, or detected from the disk.
Result<Arch> resolve_arch(const VmConfig& c);

// The QEMU command line for a config (paths inside `workdir`), for -v and tests.
std::vector<std::string> qemu_command(const VmConfig& c, const std::string& workdir, const std::string& vars_path,
                                      const std::string& tpm_socket, bool kvm, Arch arch = Arch::kX86_64);

// Runs the VM to a verdict. Errors only for setup problems (missing firmware, tools,
// keys, disk); a boot that fails is a VmResult with that verdict.
Result<VmResult> run(const VmConfig& c);

std::string_view verdict_name(Verdict v);

}  // namespace bootseal::vm
