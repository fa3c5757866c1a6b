#include "sys/mounts.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sys/file.h"

namespace bootseal::sys {

static_assert(kMountReadOnly == MS_RDONLY && kMountNoSuid == MS_NOSUID && kMountNoDev == MS_NODEV &&
              kMountBind == MS_BIND && kMountMove == MS_MOVE);

Status mount_fs(const std::string& source, const std::string& target, const std::string& fstype, unsigned long flags,
                const std::string& data) {
  if (::mount(source.c_str(), target.c_str(), fstype.empty() ? nullptr : fstype.c_str(), flags,
              data.empty() ? nullptr : data.c_str()) != 0)
    return sys_error(fmt::format("mount {} on {}{}{}", source, target, fstype.empty() ? "" : " type ", fstype));
  return {};
}

Result<std::string> attach_loop_readonly(const std::string& file) {
  Fd ctl = BS_TRY(open_file("/dev/loop-control", O_RDWR));
  Fd backing = BS_TRY(open_file(file, O_RDONLY));
  for (int attempt = 0; attempt < 8; attempt++) {
    int n = ::ioctl(ctl.get(), LOOP_CTL_GET_FREE);
    if (n < 0) return sys_error("LOOP_CTL_GET_FREE");
    std::string dev = fmt::format("/dev/loop{}", n);
    auto lfd = open_file(dev, O_RDWR);
    if (!lfd.ok()) return std::move(lfd).error();
    struct loop_config cfg;
    std::memset(&cfg, 0, sizeof cfg);
    cfg.fd = static_cast<uint32_t>(backing.get());
    cfg.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
    if (::ioctl(lfd->get(), LOOP_CONFIGURE, &cfg) == 0) return dev;
    if (errno == EBUSY) continue;  // raced with another user
    if (errno != EINVAL && errno != ENOTTY) return sys_error(fmt::format("LOOP_CONFIGURE {}", dev));
    // Older kernels: LOOP_SET_FD then LOOP_SET_STATUS64.
    if (::ioctl(lfd->get(), LOOP_SET_FD, backing.get()) != 0) {
      if (errno == EBUSY) continue;
      return sys_error(fmt::format("LOOP_SET_FD {}", dev));
    }
    struct loop_info64 info;
    std::memset(&info, 0, sizeof info);
    info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
    ::ioctl(lfd->get(), LOOP_SET_STATUS64, &info);
    return dev;
  }
  return Error(ErrorKind::kIo, "no free loop device");
}

Status switch_root(const std::string& newroot) {
  if (::chdir(newroot.c_str()) != 0) return sys_error(fmt::format("chdir {}", newroot));
  if (::mount(newroot.c_str(), "/", nullptr, MS_MOVE, nullptr) != 0)
    return sys_error(fmt::format("move {} to /", newroot));
  if (::chroot(".") != 0) return sys_error("chroot");
  if (::chdir("/") != 0) return sys_error("chdir /");
  return {};
}

Status exec_program(const std::string& path, const std::vector<std::string>& argv) {
  std::vector<char*> a;
  for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  ::execv(path.c_str(), a.data());
  return sys_error(fmt::format("exec {}", path));
}

Result<int> run_program(const std::string& path, const std::vector<std::string>& argv) {
  std::vector<char*> a;
  for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return sys_error(fmt::format("fork for {}", path));
  if (pid == 0) {
    ::execv(path.c_str(), a.data());
    ::_exit(127);
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return sys_error(fmt::format("waiting for {}", path));
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  return 128 + WTERMSIG(st);
}

Status power_off() {
  ::sync();
  ::reboot(RB_POWER_OFF);
  return sys_error("reboot(RB_POWER_OFF)");
}

Status reboot_now() {
  ::sync();
  ::reboot(RB_AUTOBOOT);
  return sys_error("reboot(RB_AUTOBOOT)");
}

}  // namespace bootseal::sys
