// CLI plumbing shared by the verbs: global options, the verb registry, output
// helpers and the mapping from errors to exit codes (docs/cli.md).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <vector>

#include "base/error.h"
#include "cli/exit_codes.h"

namespace bootseal::cli {

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

// Marks a leaf subcommand as having --json output. --json on any other verb is
// refused as a usage error (exit 2), never silently ignored.
void json_output(CLI::App* c);
bool has_json_output(const CLI::App* c);

// Another spelling of an existing option: accepted, not shown by --help, the
// man pages or completions (docs/cli.md: one spelling per concept).
template <typename T>
CLI::Option* hidden_alias(CLI::App* c, const std::string& names, T& var) {
  if constexpr (std::is_same_v<T, bool>)
    return c->add_flag(names, var)->group("");
  else
    return c->add_option(names, var)->group("");
}

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
