// Documentation generated from the CLI11 definitions themselves, so it cannot
// drift from --help: `bootseal help [COMMAND...]`, man pages (`bootseal man`),
// shell completions (`bootseal completion bash|zsh`), and the helpers that name
// unknown commands and options with a suggestion.
#pragma once

#include <string>
#include <vector>

#include "cli/command.h"

namespace bootseal::cli {

// "bootseal verity digest" for the app of `verity digest`.
std::string command_path(const CLI::App& c);
// Subcommands --help lists (not hidden).
std::vector<const CLI::App*> visible_subcommands(const CLI::App& c);
// Every option spelling --help shows for `c` ("--hash-alg", "-o", ...).
std::vector<std::string> option_names(const CLI::App& c);
// The candidate closest to `word` by edit distance, if close enough; "" if none.
std::string suggest(const std::string& word, const std::vector<std::string>& candidates);

// roff man page: bootseal(1) for the root, bootseal-GROUP(1) for a top-level command.
std::string man_page(const CLI::App& root, const CLI::App* top);
// Completion scripts.
std::string bash_completion(const CLI::App& root);
std::string zsh_completion(const CLI::App& root);

// Adds the help, man and completion verbs (after every other verb).
void add_doc_verbs(CLI::App& root, Context& ctx);

}  // namespace bootseal::cli
