// Whether a standard stream is a terminal (progress output is for terminals only).
#pragma once

namespace bootseal::sys {
bool stderr_is_terminal();
}  // namespace bootseal::sys
