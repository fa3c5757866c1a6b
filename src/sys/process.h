// Child processes: spawn with fork+exec (own process group, killed with us via
// PR_SET_PDEATHSIG), wait with or without blocking, capture output, and signal-safe
// termination flags for commands that must clean up their children on SIGINT/SIGTERM.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "sys/file.h"

namespace bootseal::sys {

struct SpawnOptions {
  std::vector<std::string> argv;      // argv[0] is looked up in PATH
  std::vector<std::string> env_set;   // "NAME=value" added to (or replacing in) the environment
  std::string stdin_path = "/dev/null";  // empty: inherit
  int stdout_fd = -1;                 // -1: inherit; otherwise dup'ed onto 1
  int stderr_fd = -1;                 // -1: inherit; otherwise dup'ed onto 2
  bool stdout_pipe = false;           // Process::stdout_fd() reads the child's stdout
  bool stdin_pipe = false;            // Process::stdin_fd() writes the child's stdin (instead of stdin_path)
  bool new_process_group = true;      // so a terminal's Ctrl-C reaches only us
  std::string cwd;                    // empty: inherit
};

class Process {
 public:
  static Result<Process> spawn(const SpawnOptions& opts);
  Process() = default;
  Process(Process&& o) noexcept;
  Process& operator=(Process&& o) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  // Kills (SIGKILL) and reaps the child if it still runs.
  ~Process();

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !status_; }
  const std::string& name() const { return name_; }
  // The read end of the child's stdout when SpawnOptions::stdout_pipe was set.
  int stdout_fd() const { return out_.get(); }
  Fd take_stdout() { return std::move(out_); }
  // The write end of the child's stdin when SpawnOptions::stdin_pipe was set.
  int stdin_fd() const { return in_.get(); }

  // Non-blocking: the wait status once the child has exited.
  std::optional<int> try_wait();
  // Blocks until exit; returns the raw wait status.
  int wait();
  // Sends a signal to the child (and its process group if it has its own).
  void signal(int sig);
  // SIGTERM, up to `grace_ms` for it to exit, then SIGKILL; reaps it.
  void terminate(int grace_ms = 2000);

 private:
  pid_t pid_ = -1;
  bool own_group_ = false;
  std::optional<int> status_;
  std::string name_;
  Fd out_, in_;
};

// "exited with status 3" / "killed by signal 9".
std::string describe_wait_status(int status);
bool exited_ok(int status);

// Runs a command to completion; its stdout is returned; an error (naming the
// command and quoting the tail of its stderr) if it fails or exits non-zero.
Result<std::string> run_capture(const std::vector<std::string>& argv, const std::vector<std::string>& env_set = {});
// Runs a command, stdout and stderr inherited (or stdout to `stdout_fd`).
Status run(const std::vector<std::string>& argv, int stdout_fd = -1);

// With echo on (the CLI's -v), every spawned command is printed on stderr as
// "+ cmd args" (shell-quoted) before it runs: one place, so every caller gets it.
void set_command_echo(bool on);
bool command_echo();

// A shell-quoted rendering of argv for "-v" echo: "+ qemu-system-x86_64 -machine ...".
std::string shell_join(const std::vector<std::string>& argv);
// Finds an executable in PATH (or returns it unchanged if it has a '/'); nullopt if absent.
std::optional<std::string> find_program(const std::string& name);

// Installs SIGINT/SIGTERM/SIGHUP handlers that record the signal (and write a byte
// to a self-pipe) instead of dying, so the caller can clean up its children.
// termination_fd() becomes readable once a signal arrived. SIGPIPE is ignored.
Status install_termination_handlers();
int termination_signal();  // 0 if none yet
int termination_fd();
// Waits up to `timeout_ms` for `fd` to become readable, or for a termination
// signal, then reads once into buf: the bytes read (> 0); 0 at end of file (or a
// read error other than EINTR/EAGAIN); -1 when nothing arrived in time (or a
// signal came first: see termination_signal()). A poll failure is an error.
Result<long> read_or_wait(int fd, char* buf, size_t len, int timeout_ms);

// Whether KVM is usable: /dev/kvm opens read-write, answers KVM_GET_API_VERSION and
// creates a VM; with need_smm, the VM also supports SMM (KVM_CAP_X86_SMM).
bool kvm_usable(bool need_smm = false);

}  // namespace bootseal::sys
