// The exit codes of bootseal: the one table every use reads (main's mapping,
// --help's footer, the man pages' EXIT STATUS). docs/cli.md mirrors it and
// tests/meta/exit_codes checks that it does.
#pragma once

#include <string>

namespace bootseal::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitCheckFailed = 1;  // a verification or check found a problem
inline constexpr int kExitUsage = 2;        // bad command line
inline constexpr int kExitInput = 3;        // bad input file or I/O failure
inline constexpr int kExitUnsupported = 4;  // kernel/filesystem/tool lacks a feature
inline constexpr int kExitInternal = 70;    // a bug

struct ExitCodeInfo {
  int code;
  const char* meaning;
};

// One row per code, as docs/cli.md's "Exit codes" table shows it.
inline constexpr ExitCodeInfo kExitCodes[] = {
    {kExitOk, "success"},
    {kExitCheckFailed, "a check or verification failed (valid input, negative verdict)"},
    {kExitUsage, "usage error: unknown command or option, missing argument, bad option value"},
    {kExitInput, "bad input (malformed or missing file, bad value in a file) or an I/O error"},
    {kExitUnsupported, "unsupported: the kernel, filesystem or a tool lacks a needed feature"},
    {kExitInternal, "internal error (a bug; please report)"},
};

}  // namespace bootseal::cli
