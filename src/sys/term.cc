#include "sys/term.h"

#include <unistd.h>

namespace bootseal::sys {

bool is_terminal(int fd) { return ::isatty(fd) == 1; }

}  // namespace bootseal::sys
