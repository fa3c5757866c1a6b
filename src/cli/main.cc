#include <algorithm>
#include <cstdio>
#include <iostream>

#include "cli/command.h"
#include "par/pool.h"
#include "par/progress.h"
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

void print_json(const nlohmann::json& j) { std::cout << json_text(j, 2) << "\n"; }

void warn(const std::string& message) { std::fprintf(stderr, "bootseal: warning: %s\n", message.c_str()); }

int exit_code_for(const Error& e) {
  switch (e.kind()) {
    case ErrorKind::kInput:
    case ErrorKind::kIo: return kExitInput;
    case ErrorKind::kUnsupported: return kExitUnsupported;
    case ErrorKind::kCheckFailed: return kExitCheckFailed;
    case ErrorKind::kInternal: return kExitInternal;
  }
  return kExitInternal;
}

int run(int argc, char** argv) {
  CLI::App app{"bootseal: build, sign, verify, install, boot and update sealed bootable OS images"};
  app.name("bootseal");
  app.set_version_flag("--version", std::string("bootseal ") + BOOTSEAL_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  app.footer("Exit codes: 0 ok, 1 check failed, 2 usage error, 3 bad input or I/O error, "
             "4 unsupported by kernel/filesystem, 70 internal error.\n"
             "Run 'bootseal COMMAND --help' for a command's options.");

  Context ctx;
  app.add_flag("--json", ctx.globals.json, "Machine-readable JSON output on stdout");
  app.add_flag("-q,--quiet", ctx.globals.quiet, "No progress output");
  app.add_flag("-v,--verbose", ctx.globals.verbose, "More output (echo external commands)");
  app.add_option("-j,--threads", ctx.globals.threads, "Worker threads (default: all CPUs)");

  auto& verbs = VerbRegistry::all();
  std::stable_sort(verbs.begin(), verbs.end(), [](auto& a, auto& b) { return a.first < b.first; });
  for (auto& [order, setup] : verbs) setup(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::fprintf(stderr, "bootseal: error: %s\n", e.what());
    std::fprintf(stderr, "Run with --help for usage.\n");
    return kExitUsage;
  }

  par::set_threads(ctx.globals.threads);
  // Progress lines only on a terminal, and never under -q or --json.
  par::Progress::set_enabled(!ctx.globals.json && !ctx.globals.quiet && sys::is_terminal(2));
  if (!ctx.action) {
    std::fprintf(stderr, "bootseal: error: no command given\n");
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
