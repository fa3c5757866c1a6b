// CLI plumbing shared by the verbs: global options, the verb registry, output
// helpers and the mapping from errors to exit codes (docs/cli.md).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.h"

namespace bootseal::cli {

// Exit codes, documented in docs/cli.md.
inline constexpr int kExitOk = 0;
inline constexpr int kExitCheckFailed = 1;  // a verification or check found a problem
inline constexpr int kExitUsage = 2;        // bad command line
inline constexpr int kExitInput = 3;        // bad input file or I/O failure
inline constexpr int kExitUnsupported = 4;  // kernel/filesystem/tool lacks a feature
inline constexpr int kExitInternal = 70;    // a bug

struct Globals {
  bool json = false;
  bool quiet = false;
  int verbose = 0;
  unsigned threads = 0;
};

// What a leaf subcommand runs once parsing succeeded.
using Action = std::function<Status()>;

struct Context {
  Globals globals;
  Action action;
};

// A verb adds its subcommand(s) to the root app and sets ctx.action in callbacks.
using VerbSetup = void (*)(CLI::App& root, Context& ctx);

struct VerbRegistry {
  static std::vector<std::pair<int, VerbSetup>>& all();
  VerbRegistry(int order, VerbSetup fn) { all().emplace_back(order, fn); }
};

// BOOTSEAL_VERB(order, fn): registers fn; `order` sorts --help's verb list.
#define BOOTSEAL_VERB(order, fn) static ::bootseal::cli::VerbRegistry bootseal_verb_##fn(order, fn)

// Returns the existing group subcommand `name` or creates it (for verbs that
// share a group such as "composefs").
CLI::App* group(CLI::App& root, const std::string& name, const std::string& description);

// Prints a JSON document to stdout (pretty, newline-terminated), bytes made safe
// as json_safe does.
void print_json(const nlohmann::json& j);
// Non-UTF-8 strings rewritten by the rule of docs/cli.md ("Bytes in JSON"), and the
// text of the result (never throws).
nlohmann::json json_safe(const nlohmann::json& j);
std::string json_text(const nlohmann::json& j, int indent = -1);

// Warnings go to stderr as "bootseal: warning: ...".
void warn(const std::string& message);

int exit_code_for(const Error& e);

}  // namespace bootseal::cli
