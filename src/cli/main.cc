#include <algorithm>
#include <cstdio>
#include <iostream>
#include <set>

#include "cli/command.h"
#include "cli/docgen.h"
#include "cli/version.h"
#include "par/pool.h"
#include "par/progress.h"
#include "sys/process.h"
#include "sys/term.h"

namespace bootseal::cli {

std::vector<std::pair<int, VerbSetup>>& VerbRegistry::all() {
  static std::vector<std::pair<int, VerbSetup>> verbs;
  return verbs;
}

CLI::App* group(CLI::App& root, const std::string& name, const std::string& description) {
  for (CLI::App* sub : root.get_subcommands({}))
    if (sub->get_name() == name) return sub;
  CLI::App* g = root.add_subcommand(name, description);
  g->require_subcommand(1);
  g->fallthrough();
  return g;
}

namespace {
std::set<const CLI::App*>& json_verbs() {
  static std::set<const CLI::App*> s;
  return s;
}
}  // namespace

void json_output(CLI::App* c) { json_verbs().insert(c); }
bool has_json_output(const CLI::App* c) { return json_verbs().count(c) > 0; }

void print_json(const nlohmann::json& j) { std::cout << json_text(j, 2) << "\n"; }

void warn(const std::string& message) { std::fprintf(stderr, "bootseal: warning: %s\n", message.c_str()); }

int exit_code_for(const Error& e) {
  switch (e.kind()) {
    case ErrorKind::kInput:
    case ErrorKind::kIo: return kExitInput;
    case ErrorKind::kUnsupported: return kExitUnsupported;
    case ErrorKind::kCheckFailed: return kExitCheckFailed;
    case ErrorKind::kUsage: return kExitUsage;
    case ErrorKind::kInternal: return kExitInternal;
  }
  return kExitInternal;
}

namespace {

// Adds the global options to `c` and every subcommand below it, bound to the
// same variables as the root's, so each verb's --help (and man page) shows them
// and they are accepted after the verb too. A name a verb defines itself wins.
void add_globals(CLI::App* c, Globals& g) {
  auto free_names = [c](std::initializer_list<const char*> names) {
    std::string out;
    for (const char* n : names) {
      std::string s(n);
      bool taken = false;
      for (const CLI::Option* o : c->get_options()) {
        if (s.size() == 2 && o->check_sname(s.substr(1))) taken = true;
        if (s.size() > 2 && o->check_lname(s.substr(2))) taken = true;
      }
      if (!taken) out += (out.empty() ? "" : ",") + s;
    }
    return out;
  };
  const char* grp = "Global options";
  if (auto n = free_names({"--json"}); !n.empty())
    c->add_flag(n, g.json, "Machine-readable JSON output on stdout")->group(grp);
  if (auto n = free_names({"-q", "--quiet"}); !n.empty())
    c->add_flag(n, g.quiet, "No progress or chatter (results are still printed)")->group(grp);
  if (auto n = free_names({"-v", "--verbose"}); !n.empty())
    c->add_flag(n, g.verbose, "More output: echo every external command run ('+ cmd args')")->group(grp);
  if (auto n = free_names({"-j", "--threads"}); !n.empty())
    c->add_option(n, g.threads, "Worker threads (default: all CPUs)")->group(grp);
  for (CLI::App* sub : c->get_subcommands({})) add_globals(sub, g);
}

// The deepest subcommand the parser selected (the root if none).
CLI::App* selected(CLI::App& app) {
  CLI::App* cur = &app;
  for (;;) {
    auto subs = cur->get_subcommands();
    if (subs.empty()) return cur;
    cur = subs.front();
  }
}

// Explains a parse failure in the user's terms: which command or option was not
// understood, with a suggestion when one is close.
std::string explain(CLI::App& app, const CLI::ParseError& e) {
  CLI::App* cur = selected(app);
  std::string where = command_path(*cur);
  std::vector<std::string> left = app.remaining(true);
  if (!left.empty()) {
    const std::string& w = left.front();
    if (w.size() > 1 && w[0] == '-') {
      std::string name = w.substr(0, w.find('='));
      std::string msg = fmt::format("unknown option '{}' for '{}'", name, where);
      if (auto s = suggest(name, option_names(*cur)); !s.empty()) msg += fmt::format(" (did you mean '{}'?)", s);
      return msg;
    }
    auto subs = visible_subcommands(*cur);
    if (!subs.empty()) {
      std::vector<std::string> names;
      for (auto* s : subs) names.push_back(s->get_name());
      std::string msg = cur == &app ? fmt::format("unknown command '{}'", w)
                                    : fmt::format("unknown command '{}' for '{}'", w, where);
      if (auto s = suggest(w, names); !s.empty()) msg += fmt::format(" (did you mean '{}'?)", s);
      return msg;
    }
    return fmt::format("unexpected argument '{}' for '{}'", w, where);
  }
  if (dynamic_cast<const CLI::RequiredError*>(&e) && cur->get_require_subcommand_min() > 0 &&
      cur->get_subcommands().empty()) {
    std::vector<std::string> names;
    for (auto* s : visible_subcommands(*cur)) names.push_back(s->get_name());
    std::string list;
    for (auto& n : names) list += (list.empty() ? "" : ", ") + n;
    return cur == &app ? fmt::format("no command given (one of: {})", list)
                       : fmt::format("'{}' needs a command: {}", where, list);
  }
  return fmt::format("{}: {}", where, e.what());
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"bootseal: build, sign, verify, install, boot and update sealed bootable OS images"};
  app.name("bootseal");
  app.set_version_flag("--version", version_text());
  app.require_subcommand(1);
  app.fallthrough();
  std::string codes;
  for (const ExitCodeInfo& c : kExitCodes) codes += fmt::format("{}{} {}", codes.empty() ? "" : ", ", c.code, c.meaning);
  app.footer("Exit codes: " + codes + ".\nRun 'bootseal help COMMAND' or 'bootseal COMMAND --help' for a command's options.");

  Context ctx;
  auto& verbs = VerbRegistry::all();
  std::stable_sort(verbs.begin(), verbs.end(), [](auto& a, auto& b) { return a.first < b.first; });
  for (auto& [order, setup] : verbs) setup(app, ctx);
  add_doc_verbs(app, ctx);
  add_globals(&app, ctx.globals);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::fprintf(stderr, "bootseal: error: %s\n", explain(app, e).c_str());
    std::fprintf(stderr, "Run 'bootseal help%s' for usage.\n",
                 selected(app) == &app ? "" : (" " + command_path(*selected(app)).substr(9)).c_str());
    return kExitUsage;
  }

  par::set_threads(ctx.globals.threads);
  sys::set_command_echo(ctx.globals.verbose > 0);
  // Progress lines only on a terminal, and never under -q or --json.
  par::Progress::set_enabled(!ctx.globals.json && !ctx.globals.quiet && sys::is_terminal(2));
  if (!ctx.action) {
    std::fprintf(stderr, "bootseal: error: no command given\n");
    return kExitUsage;
  }
  CLI::App* leaf = selected(app);
  if (ctx.globals.json && !has_json_output(leaf)) {
    std::fprintf(stderr, "bootseal: error: '%s' has no JSON output; run it without --json\n",
                 command_path(*leaf).c_str());
    return kExitUsage;
  }
  Status st = ctx.action();
  if (!st.ok()) {
    std::fprintf(stderr, "bootseal: error: %s\n", st.error().message().c_str());
    return exit_code_for(st.error());
  }
  return kExitOk;
}

}  // namespace bootseal::cli

int main(int argc, char** argv) {
  try {
    return bootseal::cli::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bootseal: internal error: %s\n", e.what());
    return bootseal::cli::kExitInternal;
  }
}
