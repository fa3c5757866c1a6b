// Whether a passphrase or PIN can be asked for interactively.
#pragma once

namespace bootseal::sys {

// True if the process has a controlling terminal (/dev/tty opens).
bool has_terminal();

}  // namespace bootseal::sys
