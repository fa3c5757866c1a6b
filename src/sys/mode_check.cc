// base/mode.h restates the kernel ABI's file-type bits and glibc's dev_t encoding so
// pure modules need no system header; this file proves the file-type bits agree at
// compile time (mode_test.cc checks the dev_t encoding, glibc's makedev is not
// constexpr).
#include <sys/stat.h>

#include "base/mode.h"

namespace bootseal::base {
static_assert(kIfMt == S_IFMT && kIfSock == S_IFSOCK && kIfLnk == S_IFLNK && kIfReg == S_IFREG);
static_assert(kIfBlk == S_IFBLK && kIfDir == S_IFDIR && kIfChr == S_IFCHR && kIfIfo == S_IFIFO);
}  // namespace bootseal::base
