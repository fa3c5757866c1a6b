// bootseal help|man|completion and the suggestion helpers (see docgen.h).
#include "cli/docgen.h"

#include <algorithm>
#include <cstdio>
#include <functional>

#include "cli/version.h"
#include "sys/file.h"

namespace bootseal::cli {

std::string command_path(const CLI::App& c) {
  std::string s = c.get_name();
  for (const CLI::App* p = c.get_parent(); p; p = p->get_parent()) s = p->get_name() + " " + s;
  return s;
}

std::vector<const CLI::App*> visible_subcommands(const CLI::App& c) {
  return c.get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); });
}

namespace {

bool visible(const CLI::Option* o) { return !o->get_group().empty(); }
bool is_positional(const CLI::Option* o) { return o->get_snames().empty() && o->get_lnames().empty(); }
bool is_global(const CLI::Option* o) { return o->get_group() == "Global options"; }
bool takes_value(const CLI::Option* o) { return o->get_items_expected_max() > 0; }

std::vector<std::string> spellings(const CLI::Option* o) {
  std::vector<std::string> v;
  for (auto& s : o->get_snames()) v.push_back("-" + s);
  for (auto& l : o->get_lnames()) v.push_back("--" + l);
  return v;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); j++) prev[j] = j;
  for (size_t i = 1; i <= a.size(); i++) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); j++)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// Leaf commands at or below `c`, in definition order.
void leaves(const CLI::App* c, std::vector<const CLI::App*>& out) {
  auto subs = visible_subcommands(*c);
  if (subs.empty()) out.push_back(c);
  for (auto* s : subs) leaves(s, out);
}

// roff text: backslashes and hyphens escaped, no line starting with a control character.
std::string roff(const std::string& s) {
  std::string o;
  bool line_start = true;
  for (char ch : s) {
    if (line_start && (ch == '.' || ch == '\'')) o += "\\&";
    line_start = ch == '\n';
    if (ch == '\\')
      o += "\\e";
    else if (ch == '-')
      o += "\\-";
    else
      o += ch;
  }
  return o;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string value_name(const CLI::Option* o) {
  std::string t = o->get_type_name();
  if (t.empty()) t = "VALUE";
  return t;
}

// The synopsis of a leaf: "[OPTIONS] FILE..." from its positionals.
std::string usage_args(const CLI::App* c) {
  std::string s = "[OPTIONS]";
  for (const CLI::Option* o : c->get_options([](const CLI::Option* x) { return is_positional(x); })) {
    std::string n = o->get_name(true);
    if (n.empty()) continue;
    if (o->get_items_expected_max() > 1) n += "...";
    s += " " + (o->get_required() ? n : "[" + n + "]");
  }
  return s;
}

void man_options(std::string& m, const std::vector<const CLI::Option*>& opts) {
  for (const CLI::Option* o : opts) {
    m += ".TP\n";
    if (is_positional(o)) {
      m += "\\fI" + roff(o->get_name(true)) + "\\fR\n";
    } else {
      std::string names;
      for (auto& n : spellings(o)) names += (names.empty() ? "" : ", ") + ("\\fB" + roff(n) + "\\fR");
      if (takes_value(o)) names += " \\fI" + roff(value_name(o)) + "\\fR";
      m += names + "\n";
    }
    std::string d = o->get_description();
    if (!o->get_default_str().empty()) d += " (default: " + o->get_default_str() + ")";
    if (o->get_required() && !is_positional(o)) d += " (required)";
    m += roff(d.empty() ? "(no description)" : d) + "\n";
  }
}

std::string man_name(const CLI::App& root, const CLI::App* top) {
  return top == nullptr || top == &root ? root.get_name() : root.get_name() + "-" + top->get_name();
}

void man_tail(std::string& m, const CLI::App& root, const CLI::App* top) {
  std::vector<const CLI::Option*> globals = root.get_options([](const CLI::Option* o) { return is_global(o); });
  m += ".SH GLOBAL OPTIONS\nAccepted before or after the command.\n";
  man_options(m, globals);
  m += ".SH EXIT STATUS\n";
  for (const ExitCodeInfo& c : kExitCodes) m += fmt::format(".TP\n.B {}\n{}\n", c.code, roff(c.meaning));
  m += ".SH SEE ALSO\n";
  if (top != nullptr && top != &root) {
    m += ".BR " + root.get_name() + " (1)\n";
  } else {
    std::string list;
    for (auto* s : visible_subcommands(root))
      list += (list.empty() ? "" : ",\n") + (".BR " + roff(man_name(root, s)) + " (1)");
    m += list + "\n";
  }
}

std::string shell_words(const std::vector<std::string>& v) {
  std::string s;
  for (auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

// Every command path with its subcommands, options and value-taking options.
struct CompletionEntry {
  std::string path, subs, opts, valopts;
};
void completion_entries(const CLI::App* c, std::vector<CompletionEntry>& out) {
  CompletionEntry e;
  e.path = command_path(*c);
  std::vector<std::string> subs, vals;
  for (auto* s : visible_subcommands(*c)) subs.push_back(s->get_name());
  for (const CLI::Option* o : c->get_options())
    if (visible(o) && !is_positional(o) && takes_value(o))
      for (auto& n : spellings(o)) vals.push_back(n);
  e.subs = shell_words(subs);
  e.opts = shell_words(option_names(*c));
  e.valopts = shell_words(vals);
  out.push_back(e);
  for (auto* s : visible_subcommands(*c)) completion_entries(s, out);
}

std::string case_function(const std::string& name, const std::vector<CompletionEntry>& es,
                          std::string CompletionEntry::*field) {
  std::string s = name + "() {\n  case \"$1\" in\n";
  for (auto& e : es)
    if (!(e.*field).empty()) s += "    '" + e.path + "') echo '" + e.*field + "' ;;\n";
  s += "  esac\n}\n";
  return s;
}

std::string completion_functions(const CLI::App& root) {
  std::vector<CompletionEntry> es;
  completion_entries(&root, es);
  return case_function("_bootseal_subs", es, &CompletionEntry::subs) +
         case_function("_bootseal_opts", es, &CompletionEntry::opts) +
         case_function("_bootseal_valopts", es, &CompletionEntry::valopts);
}

const CLI::App* find_path(const CLI::App& root, const std::vector<std::string>& words, std::string* error) {
  const CLI::App* cur = &root;
  for (auto& w : words) {
    const CLI::App* next = nullptr;
    std::vector<std::string> names;
    for (auto* s : visible_subcommands(*cur)) {
      names.push_back(s->get_name());
      if (s->get_name() == w) next = s;
    }
    if (!next) {
      *error = cur == &root ? fmt::format("unknown command '{}'", w)
                            : fmt::format("unknown command '{}' for '{}'", w, command_path(*cur));
      if (auto s = suggest(w, names); !s.empty()) *error += fmt::format(" (did you mean '{}'?)", s);
      return nullptr;
    }
    cur = next;
  }
  return cur;
}

}  // namespace

std::vector<std::string> option_names(const CLI::App& c) {
  std::vector<std::string> v;
  for (const CLI::Option* o : c.get_options())
    if (visible(o) && !is_positional(o))
      for (auto& n : spellings(o)) v.push_back(n);
  return v;
}

std::string suggest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = SIZE_MAX;
  for (auto& c : candidates) {
    size_t d = edit_distance(word, c);
    // A prefix of a longer name ("comp" for "composefs") is a good guess too.
    if (word.size() >= 3 && c.rfind(word, 0) == 0) d = std::min<size_t>(d, 1);
    if (d < best_d) best_d = d, best = c;
  }
  size_t limit = std::max<size_t>(1, std::min<size_t>(3, word.size() / 3));
  return best_d <= limit ? best : "";
}

std::string man_page(const CLI::App& root, const CLI::App* top) {
  bool is_root = top == nullptr || top == &root;
  std::string name = man_name(root, top);
  std::string m;
  m += ".\\\" Generated by `bootseal man` from the CLI definitions; do not edit.\n";
  m += fmt::format(".TH {} 1 \"\" \"{}\" \"User Commands\"\n", roff(upper(name)), roff(version_line()));
  m += ".SH NAME\n" + roff(name) + " \\- " + roff(is_root ? root.get_description() : top->get_description()) + "\n";
  m += ".SH SYNOPSIS\n";
  if (is_root) {
    m += ".B " + root.get_name() + "\n[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGS\\fR]\n";
    m += ".SH DESCRIPTION\n" + roff(root.get_description()) + ".\n";
    m += ".PP\nEach command has its own page, named below; " + roff("`bootseal help COMMAND`") +
         " and " + roff("`bootseal COMMAND --help`") + " print the same options.\n";
    m += ".SH COMMANDS\n";
    for (auto* s : visible_subcommands(root)) {
      m += ".TP\n.B " + roff(s->get_name()) + "\n" + roff(s->get_description()) + "\n";
      auto subs = visible_subcommands(*s);
      if (!subs.empty()) {
        std::string list;
        for (auto* x : subs) list += (list.empty() ? "" : ", ") + x->get_name();
        m += ".br\n" + roff("(" + list + ")") + "\n";
      }
      m += ".br\nSee\n.BR " + roff(man_name(root, s)) + " (1).\n";
    }
  } else {
    std::vector<const CLI::App*> ls;
    leaves(top, ls);
    for (size_t i = 0; i < ls.size(); i++) {
      if (i) m += ".br\n";
      m += ".B " + roff(command_path(*ls[i])) + "\n" + roff(usage_args(ls[i])) + "\n";
    }
    m += ".SH DESCRIPTION\n" + roff(top->get_description()) + ".\n";
    m += ".SH COMMANDS\n";
    for (auto* l : ls) {
      m += ".SS \"" + roff(command_path(*l)) + "\"\n";
      m += roff(l->get_description()) + "\n";
      if (has_json_output(l)) m += ".PP\n" + roff("With --json, the result is a JSON document on stdout.") + "\n";
      std::vector<const CLI::Option*> pos, opts;
      for (const CLI::Option* o : l->get_options())
        if (visible(o) && !is_global(o)) (is_positional(o) ? pos : opts).push_back(o);
      if (!pos.empty()) {
        m += ".PP\nArguments:\n.RS\n";
        man_options(m, pos);
        m += ".RE\n";
      }
      m += ".PP\nOptions:\n.RS\n";
      man_options(m, opts);
      m += ".RE\n";
      // A verb's own footer (subcommands inherit the root's, printed once, below).
      if (!l->get_footer().empty() && l->get_footer() != root.get_footer()) m += ".PP\n" + roff(l->get_footer()) + "\n";
    }
  }
  man_tail(m, root, top);
  return m;
}

std::string bash_completion(const CLI::App& root) {
  std::string s = "# bash completion for bootseal; generated by `bootseal completion bash` from its CLI definitions.\n";
  s += completion_functions(root);
  s += R"SH(_bootseal() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} p=bootseal w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    case " $(_bootseal_subs "$p") " in *" $w "*) p="$p $w" ;; esac
  done
  COMPREPLY=()
  case " $(_bootseal_valopts "$p") " in *" $prev "*) return 0 ;; esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_bootseal_opts "$p")" -- "$cur"))
    return 0
  fi
  local subs
  subs=$(_bootseal_subs "$p")
  if [[ -n $subs ]]; then COMPREPLY=($(compgen -W "$subs" -- "$cur")); fi
  return 0
}
complete -o default -F _bootseal bootseal
)SH";
  return s;
}

std::string zsh_completion(const CLI::App& root) {
  std::string s = "#compdef bootseal\n# zsh completion for bootseal; generated by `bootseal completion zsh` from its CLI definitions.\n";
  s += completion_functions(root);
  s += R"SH(_bootseal() {
  local p=bootseal w i cur=${words[CURRENT]} prev=${words[CURRENT-1]}
  for (( i = 2; i < CURRENT; i++ )); do
    w=${words[i]}
    [[ " $(_bootseal_subs "$p") " == *" $w "* ]] && p="$p $w"
  done
  if [[ " $(_bootseal_valopts "$p") " == *" $prev "* ]]; then _files; return; fi
  local -a items
  if [[ $cur == -* ]]; then
    items=($(_bootseal_opts "$p"))
    compadd -- $items
    return
  fi
  items=($(_bootseal_subs "$p"))
  if (( ${#items} )); then compadd -- $items; else _files; fi
}
if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then
  _bootseal "$@"
else
  compdef _bootseal bootseal
fi
)SH";
  return s;
}

void add_doc_verbs(CLI::App& root, Context& ctx) {
  static std::vector<std::string> help_words;
  CLI::App* h = root.add_subcommand("help", "Print the options of a command (bootseal help [COMMAND...])");
  h->add_option("COMMAND", help_words, "Command, such as 'verity digest'");
  h->callback([&root, &ctx] {
    ctx.action = [&root]() -> Status {
      std::string err;
      const CLI::App* c = find_path(root, help_words, &err);
      if (!c) return usage_error("{}", err);
      // The formatter directly: App::help() would follow the selected `help` verb.
      std::fputs(c->get_formatter()->make_help(c, command_path(*c), CLI::AppFormatMode::Normal).c_str(), stdout);
      return {};
    };
  });

  static std::string man_group, man_dir;
  CLI::App* m = root.add_subcommand("man", "Print a man page in roff (bootseal(1), or bootseal-COMMAND(1)), or write them all");
  m->add_option("COMMAND", man_group, "Top-level command whose page to print (default: bootseal(1))");
  m->add_option("--dir", man_dir, "Write every page into this directory as NAME.1");
  m->callback([&root, &ctx] {
    ctx.action = [&root]() -> Status {
      if (!man_dir.empty()) {
        if (!man_group.empty()) return usage_error("give either COMMAND or --dir, not both");
        BS_TRY(sys::write_file_atomic(man_dir + "/bootseal.1", as_bytes(man_page(root, nullptr))));
        for (auto* s : visible_subcommands(root))
          BS_TRY(sys::write_file_atomic(fmt::format("{}/{}.1", man_dir, man_name(root, s)),
                                        as_bytes(man_page(root, s))));
        return {};
      }
      const CLI::App* top = nullptr;
      if (!man_group.empty()) {
        std::string err;
        top = find_path(root, {man_group}, &err);
        if (!top) return usage_error("{}", err);
      }
      std::fputs(man_page(root, top).c_str(), stdout);
      return {};
    };
  });

  static std::string shell, out;
  CLI::App* c = root.add_subcommand("completion", "Print the shell completion script (bash or zsh)");
  c->add_option("SHELL", shell, "bash or zsh")->required()->check(CLI::IsMember({"bash", "zsh"}));
  c->add_option("-o,--output", out, "Write the script to this file instead of stdout");
  c->footer("bash: source <(bootseal completion bash), or install it as\n"
            "/usr/share/bash-completion/completions/bootseal; zsh: install it as _bootseal in $fpath.");
  c->callback([&root, &ctx] {
    ctx.action = [&root]() -> Status {
      std::string text = shell == "bash" ? bash_completion(root) : zsh_completion(root);
      if (!out.empty()) return sys::write_file_atomic(out, as_bytes(text));
      std::fputs(text.c_str(), stdout);
      return {};
    };
  });
}

}  // namespace bootseal::cli
