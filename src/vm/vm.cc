#include "vm/vm.h"

#include <chrono>
#include <cstdio>

#include "sys/file.h"
#include "sys/process.h"
#include "sys/tree.h"

namespace bootseal::vm {
namespace {

constexpr const char* kCodeSecboot = "OVMF_CODE_4M.secboot.fd";
constexpr const char* kCodePlain = "OVMF_CODE_4M.fd";
constexpr const char* kVarsEmpty = "OVMF_VARS_4M.fd";
constexpr const char* kAavmfCode = "AAVMF_CODE.fd";       // the only code build; Secure Boot capable
constexpr const char* kAavmfVarsEmpty = "AAVMF_VARS.fd";   // 64 MiB of zeros (setup mode)
constexpr const char* kAavmfVarsMs = "AAVMF_VARS.ms.fd";   // a formatted store (emptied before enrolling)
constexpr uint64_t kDetectBytes = 64ull << 20;
constexpr size_t kMaxLine = 64 * 1024;  // a console line longer than this is matched and dropped

// Removes the temporary work directory (unless asked to keep it) on every path.
struct WorkDir {
  std::string path;
  bool remove = true;
  ~WorkDir() {
    if (remove && !path.empty()) (void)sys::remove_tree(path);
  }
};

// AAVMF: virt-fw-vars cannot open the all-zero AAVMF_VARS.fd, so keys are enrolled
// into AAVMF_VARS.ms.fd after every variable in it is deleted (Debian's and
// Microsoft's keys, boot entries, certdb, ...), with Timeout 0 (ArmVirtQemu counts
// down the template's 5 s otherwise).
Result<std::string> prepare_aavmf_vars(const VmConfig& c, const std::string& work) {
  std::string vars = work + "/vars.fd";
  if (c.enroll_keydir.empty()) {
    std::string from = c.vars.empty() ? c.aavmf_dir + "/" + kAavmfVarsEmpty : c.vars;
    BS_TRY_CTX(sys::copy_file(from, vars, 0644), "variable store");
    return vars;
  }
  std::string base = c.vars.empty() ? c.aavmf_dir + "/" + kAavmfVarsMs : c.vars;
  if (!sys::path_exists(base)) return unsupported_error("{} is missing (Debian package qemu-efi-aarch64)", base);
  for (const char* k : {"PK.crt", "KEK.crt", "db.crt"})
    if (!sys::path_exists(c.enroll_keydir + "/" + k))
      return input_error("--enroll {}: {} is missing (need PK.crt, KEK.crt and db.crt, PEM)", c.enroll_keydir, k);
  std::vector<std::string> list = {"virt-fw-vars", "-i", base, "-p"};
  std::string printed = BS_TRY_CTX(sys::run_capture(list), "listing the variables of {}", base);
  std::vector<std::string> argv = {"virt-fw-vars", "-l", "warning", "-i", base, "-o", vars};
  for (size_t pos = 0; pos < printed.size();) {
    size_t nl = printed.find('\n', pos);
    std::string line = printed.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? printed.size() : nl + 1;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    while (!name.empty() && name.back() == ' ') name.pop_back();
    if (name.empty() || name.find(' ') != std::string::npos) continue;
    argv.insert(argv.end(), {"-d", name});
  }
  std::string json = work + "/timeout0.json";
  BS_TRY(sys::write_file_atomic(json, as_bytes(std::string_view(
      R"({ "version": 2, "variables": [ { "name": "Timeout", "guid": "8be4df61-93ca-11d2-aa0d-00e098032b8c", )"
      R"("attr": 7, "data": "0000" } ] })"))));
  argv.insert(argv.end(), {"--set-json", json, "--set-pk", c.owner_guid, c.enroll_keydir + "/PK.crt", "--add-kek",
                           c.owner_guid, c.enroll_keydir + "/KEK.crt", "--add-db", c.owner_guid,
                           c.enroll_keydir + "/db.crt", "--sb"});
  BS_TRY_CTX(sys::run_capture(argv), "enrolling keys from {}", c.enroll_keydir);
  return vars;
}

Result<std::string> prepare_vars(const VmConfig& c, const std::string& work) {
  std::string vars = work + "/vars.fd";
  if (!c.enroll_keydir.empty()) {
    std::string base = c.vars.empty() ? c.ovmf_dir + "/" + kVarsEmpty : c.vars;
    for (const char* k : {"PK.crt", "KEK.crt", "db.crt"})
      if (!sys::path_exists(c.enroll_keydir + "/" + k))
        return input_error("--enroll {}: {} is missing (need PK.crt, KEK.crt and db.crt, PEM)", c.enroll_keydir, k);
    std::vector<std::string> argv = {"virt-fw-vars", "-i", base, "-o", vars,
                                     "--set-pk", c.owner_guid, c.enroll_keydir + "/PK.crt",
                                     "--add-kek", c.owner_guid, c.enroll_keydir + "/KEK.crt",
                                     "--add-db", c.owner_guid, c.enroll_keydir + "/db.crt", "--sb"};
    BS_TRY_CTX(sys::run_capture(argv), "enrolling keys from {}", c.enroll_keydir);
    return vars;
  }
  std::string from = c.vars.empty() ? c.ovmf_dir + "/" + kVarsEmpty : c.vars;
  BS_TRY_CTX(sys::copy_file(from, vars, 0644), "variable store");
  return vars;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::string_view verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kExpected: return "expected";
    case Verdict::kFailOn: return "fail-on";
    case Verdict::kTimeout: return "timeout";
    case Verdict::kExited: return "exited";
    case Verdict::kInterrupted: return "interrupted";
  }
  return "?";
}

std::string strip_terminal_codes(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); i++) {
    char c = s[i];
    if (c == '\x1b') {
      if (i + 1 < s.size() && s[i + 1] == '[') {
        size_t j = i + 2;
        // parameter and intermediate bytes 0x20-0x3f, then one final byte 0x40-0x7e
        while (j < s.size() && static_cast<unsigned char>(s[j]) >= 0x20 && static_cast<unsigned char>(s[j]) <= 0x3f) j++;
        i = j < s.size() ? j : s.size();
      } else {
        i++;  // "ESC x"
      }
      continue;
    }
    if (c == '\r' || c == '\0') continue;
    out += c;
  }
  return out;
}

bool ConsoleMatcher::check(const std::string& cleaned) {
  for (auto& f : fail_on_)
    if (!f.empty() && cleaned.find(f) != std::string::npos) {
      done_ = true;
      verdict_ = Verdict::kFailOn;
      text_ = f;
      line_out_ = cleaned;
      return true;
    }
  for (auto& e : expect_)
    if (!e.empty() && cleaned.find(e) != std::string::npos) {
      done_ = true;
      verdict_ = Verdict::kExpected;
      text_ = e;
      line_out_ = cleaned;
      return true;
    }
  return false;
}

bool ConsoleMatcher::feed(std::string_view chunk) {
  if (done_) return true;
  for (size_t i = 0; i < chunk.size();) {
    size_t nl = chunk.find('\n', i);
    size_t end = nl == std::string_view::npos ? chunk.size() : nl;
    raw_line_.append(chunk.substr(i, end - i));
    bool complete = nl != std::string_view::npos || raw_line_.size() > kMaxLine;
    if (check(strip_terminal_codes(raw_line_))) return true;
    if (complete) raw_line_.clear();
    i = nl == std::string_view::npos ? chunk.size() : nl + 1;
  }
  return false;
}

std::optional<Arch> detect_disk_arch(ByteSpan head) {
  std::string_view s = as_string(head);
  size_t a = s.find("BOOTAA64EFI"), x = s.find("BOOTX64 EFI");
  if (a == std::string_view::npos && x == std::string_view::npos) return std::nullopt;
  return a < x ? Arch::kArm64 : Arch::kX86_64;
}

Result<Arch> resolve_arch(const VmConfig& c) {
  if (c.arch != "auto") return BS_TRY_CTX(parse_arch(c.arch), "--arch");
  Bytes head = BS_TRY_CTX(sys::read_file_prefix(c.disk, kDetectBytes), "disk");
  return detect_disk_arch(head).value_or(Arch::kX86_64);
}

std::vector<std::string> qemu_command(const VmConfig& c, const std::string& work, const std::string& vars,
                                      const std::string& tpm_socket, bool kvm, Arch arch) {
  std::vector<std::string> a;
  auto add = [&](std::initializer_list<std::string> xs) { a.insert(a.end(), xs); };
  auto add_disks = [&] {
    add({"-drive", fmt::format("if=none,id=disk0,format=raw,file={}", c.disk), "-device",
         "virtio-blk-pci,drive=disk0,bootindex=1"});
    for (size_t i = 0; i < c.extra_disks.size(); i++)
      add({"-drive", fmt::format("if=none,id=disk{},format=raw,file={}", i + 1, c.extra_disks[i]), "-device",
           fmt::format("virtio-blk-pci,drive=disk{}", i + 1)});
  };
  if (arch == Arch::kArm64) {
    // No SMM on ARM: the same AAVMF code for Secure Boot or not (the variables decide).
    // cortex-a57: Debian's kernels use pointer authentication, whose QARMA5
    // emulation under plain -cpu max is slow.
    add({"qemu-system-aarch64", "-machine", "virt", "-accel", "tcg", "-cpu", "cortex-a57"});
    add({"-smp", std::to_string(c.smp), "-m", std::to_string(c.memory_mb)});
    add({"-drive", fmt::format("if=pflash,format=raw,unit=0,file={}/{},readonly=on", c.aavmf_dir, kAavmfCode)});
    add({"-drive", fmt::format("if=pflash,format=raw,unit=1,file={}", vars)});
    if (!tpm_socket.empty()) {
      add({"-chardev", fmt::format("socket,id=chrtpm,path={}", tpm_socket)});
      add({"-tpmdev", "emulator,id=tpm0,chardev=chrtpm", "-device", "tpm-tis-device,tpmdev=tpm0"});
    }
    add_disks();
    add({"-nic", "none", "-display", "none", "-monitor", "none", "-serial", "stdio"});
    if (!c.allow_reboot) a.push_back("-no-reboot");
    (void)work;
    return a;
  }
  a.push_back("qemu-system-x86_64");
  add({"-machine", c.secure_boot ? "q35,smm=on" : "q35"});
  if (kvm)
    add({"-accel", "kvm", "-cpu", "host"});
  else
    add({"-accel", "tcg", "-cpu", "max"});
  add({"-smp", std::to_string(c.smp), "-m", std::to_string(c.memory_mb)});
  if (c.secure_boot) add({"-global", "driver=cfi.pflash01,property=secure,value=on"});
  add({"-global", "ICH9-LPC.disable_s3=1"});
  add({"-drive", fmt::format("if=pflash,format=raw,unit=0,file={}/{},readonly=on", c.ovmf_dir,
                             c.secure_boot ? kCodeSecboot : kCodePlain)});
  add({"-drive", fmt::format("if=pflash,format=raw,unit=1,file={}", vars)});
  if (!tpm_socket.empty()) {
    add({"-chardev", fmt::format("socket,id=chrtpm,path={}", tpm_socket)});
    add({"-tpmdev", "emulator,id=tpm0,chardev=chrtpm", "-device", "tpm-crb,tpmdev=tpm0"});
  }
  add_disks();
  add({"-nic", "none", "-display", "none", "-vga", "none", "-monitor", "none", "-serial", "stdio"});
  if (!c.allow_reboot) a.push_back("-no-reboot");
  (void)work;
  return a;
}

Result<VmResult> run(const VmConfig& c) {
  // Check inputs before starting anything.
  if (c.disk.empty()) return input_error("no disk image given");
  for (auto& d : std::vector<std::string>{c.disk}) {
    BS_TRY_CTX(sys::open_regular(d), "disk");
  }
  for (auto& d : c.extra_disks) BS_TRY_CTX(sys::open_regular(d), "--extra-disk");
  const Arch arch = BS_TRY(resolve_arch(c));
  if (arch == Arch::kArm64) {
    std::string code = c.aavmf_dir + "/" + kAavmfCode;
    if (!sys::path_exists(code)) return unsupported_error("{} is missing (Debian package qemu-efi-aarch64)", code);
    if (!sys::find_program("qemu-system-aarch64"))
      return unsupported_error("qemu-system-aarch64 not found (Debian package qemu-system-arm)");
  } else {
    std::string code = c.ovmf_dir + "/" + (c.secure_boot ? kCodeSecboot : kCodePlain);
    if (!sys::path_exists(code))
      return unsupported_error("{} is missing (Debian package ovmf)", code);
    if (!sys::find_program("qemu-system-x86_64"))
      return unsupported_error("qemu-system-x86_64 not found (Debian package qemu-system-x86)");
  }
  if (c.tpm && !sys::find_program("swtpm")) return unsupported_error("swtpm not found (Debian package swtpm)");
  if (!c.enroll_keydir.empty() && !sys::find_program("virt-fw-vars"))
    return unsupported_error("virt-fw-vars not found (python3-virt-firmware from bookworm-backports)");
  if (c.timeout_s <= 0) return usage_error("--timeout must be positive");

  WorkDir work;
  if (c.workdir.empty()) {
    work.path = BS_TRY(sys::make_temp_dir("bootseal-vm-"));
    work.remove = !c.keep_workdir;
  } else {
    BS_TRY(sys::mkdir_p(c.workdir));
    work.path = c.workdir;
    work.remove = false;
  }
  BS_TRY(sys::install_termination_handlers());

  VmResult res;
  std::string vars = BS_TRY(arch == Arch::kArm64 ? prepare_aavmf_vars(c, work.path) : prepare_vars(c, work.path));

  // An arm64 guest runs under TCG on this x86-64 host.
  bool kvm = arch != Arch::kArm64 && (c.accel == "kvm" || (c.accel == "auto" && sys::kvm_usable(c.secure_boot)));
  if (c.accel != "auto" && c.accel != "kvm" && c.accel != "tcg")
    return usage_error("--accel '{}': expected auto, kvm or tcg", c.accel);
  res.accel = kvm ? "kvm" : "tcg";

  // The serial log is opened (truncated) before anything starts.
  sys::Fd log;
  if (!c.serial_log.empty()) log = BS_TRY(sys::open_file(c.serial_log, O_WRONLY | O_CREAT | O_TRUNC, 0644));

  sys::Process swtpm;
  std::string tpm_socket;
  if (c.tpm) {
    std::string dir = c.tpm_state.empty() ? work.path + "/tpm" : c.tpm_state;
    BS_TRY(sys::mkdir_p(dir));
    tpm_socket = work.path + "/swtpm.sock";
    sys::SpawnOptions o;
    o.argv = {"swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + dir, "--ctrl",
              "type=unixio,path=" + tpm_socket, "--terminate"};
    swtpm = BS_TRY_CTX(sys::Process::spawn(o), "starting swtpm");
    if (!sys::wait_for_path(tpm_socket, 5000)) {
      auto st = swtpm.try_wait();
      return Error(ErrorKind::kIo, fmt::format("swtpm did not create {} within 5 s{}", tpm_socket,
                                               st ? " (" + sys::describe_wait_status(*st) + ")" : ""));
    }
  }

  res.qemu_argv = qemu_command(c, work.path, vars, tpm_socket, kvm, arch);
  sys::SpawnOptions qo;
  qo.argv = res.qemu_argv;
  qo.stdout_pipe = true;
  qo.stdin_pipe = !c.send_on.empty();
  auto t0 = std::chrono::steady_clock::now();
  sys::Process qemu = BS_TRY_CTX(sys::Process::spawn(qo), "starting QEMU");

  ConsoleMatcher m(c.expect, c.fail_on);
  size_t next_send = 0;
  std::string send_buf;  // console text since the last send (cleaned)
  int out = qemu.stdout_fd();
  char buf[16384];
  bool eof = false;
  for (;;) {
    double left = c.timeout_s - seconds_since(t0);
    if (left <= 0) {
      res.verdict = Verdict::kTimeout;
      break;
    }
    if (sys::termination_signal()) {
      res.verdict = Verdict::kInterrupted;
      break;
    }
    int ms = static_cast<int>(std::min(left * 1000.0, 250.0)) + 1;
    long r = BS_TRY(sys::read_or_wait(out, buf, sizeof buf, ms));
    if (r > 0) {
      std::string_view chunk(buf, static_cast<size_t>(r));
      if (c.echo_serial) (void)sys::write_full(1, as_bytes(chunk), "stdout");
      if (log.valid()) (void)sys::write_full(log.get(), as_bytes(chunk), c.serial_log);
      if (next_send < c.send_on.size()) {
        send_buf += strip_terminal_codes(chunk);
        if (send_buf.find(c.send_on[next_send].first) != std::string::npos) {
          std::string line = c.send_on[next_send].second + "\n";
          (void)sys::write_full(qemu.stdin_fd(), as_bytes(line), "QEMU's serial input");
          send_buf.clear();
          next_send++;
        } else if (send_buf.size() > 65536) {
          send_buf.erase(0, send_buf.size() - 4096);
        }
      }
      if (m.feed(chunk)) {
        res.verdict = m.verdict();
        res.matched = m.text();
        res.matched_line = m.line();
        break;
      }
    } else if (r == 0) {
      eof = true;
    }
    if (eof || qemu.try_wait()) {
      // QEMU ended; drain what is left of its output.
      if (!eof) continue;
      res.qemu_status = qemu.wait();
      res.verdict = Verdict::kExited;
      break;
    }
  }
  res.elapsed_s = seconds_since(t0);
  if (c.echo_serial) (void)sys::write_full(1, as_bytes(std::string_view("\n")), "stdout");
  qemu.terminate(1500);
  if (res.qemu_status < 0 && qemu.try_wait()) res.qemu_status = *qemu.try_wait();
  swtpm.terminate(1000);
  if (work.remove == false && c.workdir.empty()) std::fprintf(stderr, "vm: work directory kept: %s\n", work.path.c_str());
  return res;
}

}  // namespace bootseal::vm
