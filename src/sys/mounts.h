// Mounts, loop devices and the switch into a new root (for bootseal-setup-root).
#pragma once

#include <string>
#include <vector>

#include "base/error.h"

namespace bootseal::sys {

// mount(2) flags by name: the values of <sys/mount.h> (checked in mounts.cc), so
// code that only describes mounts (setup-root's plan) needs no system header.
inline constexpr unsigned long kMountReadOnly = 1;  // MS_RDONLY
inline constexpr unsigned long kMountNoSuid = 2;    // MS_NOSUID
inline constexpr unsigned long kMountNoDev = 4;     // MS_NODEV
inline constexpr unsigned long kMountBind = 4096;   // MS_BIND
inline constexpr unsigned long kMountMove = 8192;   // MS_MOVE

// mount(2); the error names source, target and type.
Status mount_fs(const std::string& source, const std::string& target, const std::string& fstype,
                unsigned long flags, const std::string& data);
// Attaches `file` read-only to a free loop device (LOOP_CTL_GET_FREE + LOOP_CONFIGURE,
// falling back to LOOP_SET_FD); returns "/dev/loopN".
Result<std::string> attach_loop_readonly(const std::string& file);
// chdir(newroot); mount(newroot, "/", MS_MOVE); chroot("."); chdir("/").

Status switch_root(const std::string& newroot);
// execv; returns only on failure.
Status exec_program(const std::string& path, const std::vector<std::string>& argv);
// fork + execv + waitpid, the child inheriting stdio (the console): its exit status,
// 128+N if killed by signal N.
Result<int> run_program(const std::string& path, const std::vector<std::string>& argv);
// reboot(2) with RB_POWER_OFF / RB_AUTOBOOT after sync; returns only on failure.
Status power_off();
Status reboot_now();

}  // namespace bootseal::sys
