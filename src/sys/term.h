#pragma once
// Terminal facts the CLI decides on (progress lines only on a terminal; no image
// written to one).
namespace bootseal::sys {

// True if fd refers to a terminal (isatty).
bool is_terminal(int fd);

}  // namespace bootseal::sys
