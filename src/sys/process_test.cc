#include "sys/process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace bootseal::sys {
namespace {

TEST(Process, CaptureAndFailure) {
  EXPECT_EQ(*run_capture({"sh", "-c", "echo hi; echo err >&2"}), "hi\n");
  auto r = run_capture({"sh", "-c", "echo boom >&2; exit 3"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("exited with status 3"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("boom"), std::string::npos);
  auto nf = run_capture({"no-such-program-bootseal"});
  ASSERT_FALSE(nf.ok());
  EXPECT_EQ(nf.error().kind(), ErrorKind::kUnsupported);
  EXPECT_TRUE(run({"true"}).ok());
  EXPECT_FALSE(run({"false"}).ok());
}

TEST(Process, TerminateKillsTheGroup) {
  SpawnOptions o;
  o.argv = {"sh", "-c", "sleep 30 & sleep 30; wait"};
  Process p = *Process::spawn(o);
  EXPECT_TRUE(p.running());
  EXPECT_FALSE(p.try_wait().has_value());
  p.terminate(500);
  EXPECT_FALSE(p.running());
  // The grandchildren (the sleeps) were in the same group: none is left alive
  // (a zombie waiting for its new parent to reap it counts as gone).
  // Killed processes can take a while to exit on a loaded machine: poll up to 10 s.
  int alive = 1;
  for (int i = 0; i < 500 && alive; i++) {
    alive = 0;
    for (int pid = 2; pid < 65536; pid++)
      if (::getpgid(pid) == p.pid()) {
        auto st = read_text_file(fmt::format("/proc/{}/stat", pid));
        if (st.ok() && st->find(") Z ") == std::string::npos && st->find(") X ") == std::string::npos) alive++;
      }
    if (alive) usleep(20000);
  }
  EXPECT_EQ(alive, 0);
}

TEST(Process, ShellJoin) {
  EXPECT_EQ(shell_join({"qemu", "-drive", "file=a b", "it's"}), "qemu -drive 'file=a b' 'it'\\''s'");
}

}  // namespace
}  // namespace bootseal::sys

namespace bootseal::sys {
namespace {
TEST(Process, KvmProbeDoesNotCrash) {
  // Whatever the machine, the probe answers (and prints what it decided).
  bool k = kvm_usable(false), s = kvm_usable(true);
  std::printf("kvm usable: %d, with SMM: %d\n", k, s);
  EXPECT_TRUE(k || !s);
}
}  // namespace
}  // namespace bootseal::sys
