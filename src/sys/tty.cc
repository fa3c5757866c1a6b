#include "sys/tty.h"

#include <unistd.h>

namespace bootseal::sys {
bool stderr_is_terminal() { return ::isatty(2) == 1; }
}  // namespace bootseal::sys
