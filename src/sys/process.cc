#include "sys/process.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

extern char** environ;

namespace bootseal::sys {

Process::Process(Process&& o) noexcept
    : pid_(o.pid_), own_group_(o.own_group_), status_(o.status_), name_(std::move(o.name_)), out_(std::move(o.out_)) {
  o.pid_ = -1;
}

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    if (running()) terminate(0);
    pid_ = o.pid_;
    own_group_ = o.own_group_;
    status_ = o.status_;
    name_ = std::move(o.name_);
    out_ = std::move(o.out_);
    o.pid_ = -1;
  }
  return *this;
}

Process::~Process() {
  if (running()) terminate(0);
}

std::optional<std::string> find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? std::optional(name) : std::nullopt;
  const char* path = ::getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find(':', i);
    if (j == std::string::npos) j = p.size();
    std::string dir = j > i ? p.substr(i, j - i) : std::string(".");
    std::string cand = fmt::format("{}/{}", dir, name);
    if (::access(cand.c_str(), X_OK) == 0) return cand;
    i = j + 1;
  }
  return std::nullopt;
}

namespace {
std::atomic<bool> g_echo{false};
}  // namespace

void set_command_echo(bool on) { g_echo = on; }
bool command_echo() { return g_echo; }

Result<Process> Process::spawn(const SpawnOptions& opts) {
  if (opts.argv.empty()) return internal_error("spawn: empty argv");
  if (g_echo) std::fprintf(stderr, "+ %s%s\n", opts.cwd.empty() ? "" : ("cd " + shell_join({opts.cwd}) + " && ").c_str(),
                           shell_join(opts.argv).c_str());
  auto exe = find_program(opts.argv[0]);
  if (!exe) return unsupported_error("{}: command not found (is its package installed? see tools/setup)", opts.argv[0]);
  // Everything the child needs is prepared before fork (only async-signal-safe calls after).
  std::vector<char*> argv;
  for (auto& a : opts.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> envs;
  for (char** e = environ; *e; e++) {
    std::string_view kv(*e);
    bool replaced = false;
    for (auto& s : opts.env_set) {
      size_t eq = s.find('=');
      if (kv.substr(0, eq + 1) == std::string_view(s).substr(0, eq + 1)) replaced = true;
    }
    if (!replaced) envs.emplace_back(kv);
  }
  for (auto& s : opts.env_set) envs.push_back(s);
  std::vector<char*> envp;
  for (auto& s : envs) envp.push_back(s.data());
  envp.push_back(nullptr);

  Fd in;
  Fd in_wr;
  if (opts.stdin_pipe) {
    int ifd[2];
    if (::pipe2(ifd, O_CLOEXEC) != 0) return sys_error("pipe");
    in = Fd(ifd[0]);
    in_wr = Fd(ifd[1]);
  } else if (!opts.stdin_path.empty()) {
    in = BS_TRY(open_file(opts.stdin_path, O_RDONLY));
  }
  int pfd[2] = {-1, -1};
  if (opts.stdout_pipe && ::pipe2(pfd, O_CLOEXEC) != 0) return sys_error("pipe");
  Fd rd(pfd[0]), wr(pfd[1]);
  // Error channel: the child writes errno if exec fails.
  int efd[2];
  if (::pipe2(efd, O_CLOEXEC) != 0) return sys_error("pipe");
  Fd erd(efd[0]), ewr(efd[1]);
  pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork");
  if (pid == 0) {
    if (opts.new_process_group) ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    // Default signal dispositions and an empty mask for the child.
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD}) ::sigaction(s, &sa, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (in.valid()) ::dup2(in.get(), 0);
    if (wr.valid()) ::dup2(wr.get(), 1);
    else if (opts.stdout_fd >= 0) ::dup2(opts.stdout_fd, 1);
    if (opts.stderr_fd >= 0) ::dup2(opts.stderr_fd, 2);
    if (!opts.cwd.empty() && ::chdir(opts.cwd.c_str()) != 0) {
      int e = errno;
      (void)!::write(ewr.get(), &e, sizeof e);
      ::_exit(127);
    }
    ::execve(exe->c_str(), argv.data(), envp.data());
    int e = errno;
    (void)!::write(ewr.get(), &e, sizeof e);
    ::_exit(127);
  }
  ewr.reset();
  wr.reset();
  in.reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(erd.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  Process p;
  p.pid_ = pid;
  p.own_group_ = opts.new_process_group;
  p.name_ = opts.argv[0];
  p.out_ = std::move(rd);
  p.in_ = std::move(in_wr);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    p.wait();
    return sys_error(fmt::format("exec {}", opts.argv[0]), child_errno);
  }
  return p;
}

std::optional<int> Process::try_wait() {
  if (status_ || pid_ <= 0) return status_;
  int st;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) status_ = st;
  return status_;
}

int Process::wait() {
  if (status_ || pid_ <= 0) return status_.value_or(0);
  int st = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &st, 0);
  } while (r < 0 && errno == EINTR);
  status_ = st;
  return st;
}

void Process::signal(int sig) {
  if (!running()) return;
  if (own_group_) ::kill(-pid_, sig);
  ::kill(pid_, sig);
}

void Process::terminate(int grace_ms) {
  if (!running()) return;
  if (grace_ms > 0) {
    signal(SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (try_wait()) {
        // The leader is gone; make sure nothing else of its group survives.
        if (own_group_) ::kill(-pid_, SIGKILL);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  signal(SIGKILL);
  wait();
}

std::string describe_wait_status(int st) {
  if (WIFEXITED(st)) return fmt::format("exited with status {}", WEXITSTATUS(st));
  if (WIFSIGNALED(st)) return fmt::format("killed by signal {} ({})", WTERMSIG(st), ::strsignal(WTERMSIG(st)));
  return fmt::format("ended with wait status {:#x}", st);
}

bool exited_ok(int st) { return WIFEXITED(st) && WEXITSTATUS(st) == 0; }

Result<std::string> run_capture(const std::vector<std::string>& argv, const std::vector<std::string>& env_set) {
  // stderr goes to a temporary file so a failure can quote it.
  char tmpl[] = "/tmp/bootseal-stderr-XXXXXX";
  int efd = ::mkostemp(tmpl, O_CLOEXEC);
  if (efd < 0) return sys_error("mkstemp");
  ::unlink(tmpl);
  Fd err(efd);
  SpawnOptions o;
  o.argv = argv;
  o.env_set = env_set;
  o.stdout_pipe = true;
  o.stderr_fd = err.get();
  o.new_process_group = false;
  Process p = BS_TRY(Process::spawn(o));
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(p.stdout_fd(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  int st = p.wait();
  if (!exited_ok(st)) {
    std::string msg;
    off_t len = ::lseek(err.get(), 0, SEEK_END);
    off_t from = len > 2000 ? len - 2000 : 0;
    msg.resize(static_cast<size_t>(len - from));
    if (::pread(err.get(), msg.data(), msg.size(), from) < 0) msg.clear();
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return Error(ErrorKind::kIo, fmt::format("{} {}{}{}", argv[0], describe_wait_status(st), msg.empty() ? "" : ": ", msg));
  }
  return out;
}

Status run(const std::vector<std::string>& argv, int stdout_fd) {
  SpawnOptions o;
  o.argv = argv;
  o.stdout_fd = stdout_fd;
  o.new_process_group = false;
  Process p = BS_TRY(Process::spawn(o));
  int st = p.wait();
  if (!exited_ok(st)) return Error(ErrorKind::kIo, fmt::format("{} {}", argv[0], describe_wait_status(st)));
  return {};
}

std::string shell_join(const std::vector<std::string>& argv) {
  std::string out;
  for (auto& a : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                                   "_-./=:,+@%") == std::string::npos;
    if (plain) {
      out += a;
    } else {
      out += '\'';
      for (char c : a) {
        if (c == '\'') out.append("'\\''");
        else out += c;
      }
      out += '\'';
    }
  }
  return out;
}

namespace {
std::atomic<int> g_signal{0};
int g_pipe[2] = {-1, -1};
void on_signal(int sig) {
  g_signal.store(sig);
  if (g_pipe[1] >= 0) {
    char c = 1;
    (void)!::write(g_pipe[1], &c, 1);
  }
}
}  // namespace

Status install_termination_handlers() {
  if (g_pipe[0] < 0 && ::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return sys_error("pipe");
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int s : {SIGINT, SIGTERM, SIGHUP})
    if (::sigaction(s, &sa, nullptr) != 0) return sys_error("sigaction");
  // A closed stdout must not kill us before the children are cleaned up.
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ign, nullptr);
  return {};
}

int termination_signal() { return g_signal.load(); }
int termination_fd() { return g_pipe[0]; }

Result<long> read_or_wait(int fd, char* buf, size_t len, int timeout_ms) {
  struct pollfd p[2] = {{fd, POLLIN, 0}, {g_pipe[0], POLLIN, 0}};
  int n = ::poll(p, 2, timeout_ms);
  if (n < 0 && errno != EINTR) return sys_error("poll");
  if (n <= 0 || !(p[0].revents & (POLLIN | POLLHUP | POLLERR))) return -1L;
  ssize_t r = ::read(fd, buf, len);
  if (r > 0) return static_cast<long>(r);
  if (r < 0 && (errno == EINTR || errno == EAGAIN)) return -1L;
  return 0L;
}

#if defined(__x86_64__)
namespace {
// Runs a few real-mode instructions (finit; fwait; hlt) in a throw-away KVM guest:
// some nested-virtualization hosts open /dev/kvm fine but fault on the FPU, and a
// firmware boot then dies with a register dump.
bool kvm_smoke_test(int vm) {
  constexpr size_t kMem = 0x1000;
  void* mem = ::mmap(nullptr, kMem, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return false;
  const uint8_t code[] = {0x9b, 0xdb, 0xe3, 0x9b, 0xf4};  // finit; fwait; hlt
  std::memcpy(mem, code, sizeof code);
  bool ok = false;
  struct kvm_userspace_memory_region region {};
  region.slot = 0;
  region.guest_phys_addr = 0x1000;
  region.memory_size = kMem;
  region.userspace_addr = reinterpret_cast<uint64_t>(mem);
  int vcpu = -1;
  void* run = MAP_FAILED;
  int run_size = 0;
  do {
    if (::ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) break;
    vcpu = ::ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0) break;
    int kvm = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) break;
    run_size = ::ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    ::close(kvm);
    if (run_size <= 0) break;
    run = ::mmap(nullptr, static_cast<size_t>(run_size), PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED) break;
    struct kvm_sregs sregs;
    if (::ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) break;
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (::ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) break;
    struct kvm_regs regs {};
    regs.rip = 0x1000;
    regs.rflags = 0x2;
    if (::ioctl(vcpu, KVM_SET_REGS, &regs) < 0) break;
    if (::ioctl(vcpu, KVM_RUN, 0) < 0) break;
    ok = static_cast<struct kvm_run*>(run)->exit_reason == KVM_EXIT_HLT;
  } while (false);
  if (run != MAP_FAILED) ::munmap(run, static_cast<size_t>(run_size));
  if (vcpu >= 0) ::close(vcpu);
  ::munmap(mem, kMem);
  return ok;
}
}  // namespace

bool kvm_usable(bool need_smm) {
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  int v = ::ioctl(fd, KVM_GET_API_VERSION, 0);
  bool ok = v == KVM_API_VERSION;
  if (ok) {
    int vm = ::ioctl(fd, KVM_CREATE_VM, 0);
    ok = vm >= 0;
    // Secure Boot firmware needs System Management Mode (nested KVM often lacks it).
    if (ok && need_smm) ok = ::ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_X86_SMM) > 0;
    if (ok) ok = kvm_smoke_test(vm);
    if (vm >= 0) ::close(vm);
  }
  ::close(fd);
  return ok;
}
#else
// The probe is x86 real-mode code; bootseal runs its VMs on x86-64 hosts only
// (this module is also built for the arm64 setup-root, which never asks).
bool kvm_usable(bool) { return false; }
#endif

}  // namespace bootseal::sys
