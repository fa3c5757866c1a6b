// flock(2)-based advisory locks on an open file or directory.
#pragma once

#include <string>

#include "sys/file.h"

namespace bootseal::sys {

class FileLock {
 public:
  enum class Mode { kShared, kExclusive };
  // Locks `path` (opened read-only, a directory is fine). With wait=false a
  // held lock is an error ("... is locked by another process") instead of a wait.
  static Result<FileLock> acquire(const std::string& path, Mode mode, bool wait);
  FileLock() = default;
  FileLock(FileLock&&) noexcept = default;
  FileLock& operator=(FileLock&&) noexcept = default;
  bool held() const { return fd_.valid(); }

 private:
  Fd fd_;  // closing releases the lock
};

}  // namespace bootseal::sys
