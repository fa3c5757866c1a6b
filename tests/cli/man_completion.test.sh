#!/usr/bin/env bash
# Man pages and shell completions are generated from the CLI definitions:
# every page renders without warnings, covers every command and option that
# --help shows, and the bash completion loads and lists every command.
source "$SRC/tests/lib.sh"
need man groff
B=$BOOTSEAL

subcommands() { "$B" "$@" --help | awk '/^Subcommands:/{s=1; next} s && /^  [a-z]/{print $1} s && /^$/{s=0}'; }
# Option spellings of a --help text ("-o", "--output", ...).
help_options() { awk '/^  -/{print $1}' | tr ',' '\n' | sed 's/[=[].*//' | grep '^-' | sort -u; }

mkdir -p "$TMP/man"
"$B" man --dir "$TMP/man"
tops=$(subcommands)
check_eq "one page per top-level command, and bootseal(1)" "$(( $(wc -w <<<"$tops") + 1 ))" "$(ls "$TMP/man" | wc -l)"
for page in "$TMP"/man/*.1; do
  warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
  check_eq "man -l $(basename "$page") warnings" "" "$warnings"
  LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$page" 2>/dev/null | grep -q "EXIT STATUS" && pass || fail "$(basename "$page") renders no EXIT STATUS"
done
check_eq "bootseal man = bootseal.1" "$(cat "$TMP/man/bootseal.1")" "$("$B" man)"
check_eq "bootseal man verity = bootseal-verity.1" "$(cat "$TMP/man/bootseal-verity.1")" "$("$B" man verity)"

# Every command and option --help shows is in the rendered page of its group.
for top in $tops; do
  text=$(LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$TMP/man/bootseal-$top.1" 2>/dev/null)
  LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$TMP/man/bootseal.1" 2>/dev/null | grep -q "bootseal-$top(1)" && pass \
    || fail "bootseal(1) does not name bootseal-$top(1)"
  subs=$(subcommands "$top")
  for s in ${subs:-""}; do
    # shellcheck disable=SC2086
    grep -q "bootseal $top${s:+ $s}" <<<"$text" && pass || fail "bootseal-$top(1) lacks 'bootseal $top $s'"
    # shellcheck disable=SC2086
    for o in $("$B" $top $s --help | help_options); do
      grep -q -- "$o\b" <<<"$text" && pass || fail "bootseal-$top(1) lacks $o of '$top $s'"
    done
  done
done

# bash: the completion script loads, registers, and completes every command and option.
"$B" completion bash >"$TMP/bootseal.bash"
check_eq "complete -p" "complete -o default -F _bootseal bootseal" "$(bash -c "source '$TMP/bootseal.bash'; complete -p bootseal")"
complete_words() {  # complete_words WORD... : what TAB offers after them (the last word is the one completed)
  bash -c 'source "$1"; shift; COMP_WORDS=(bootseal "$@"); COMP_CWORD=$#; _bootseal; printf "%s\n" "${COMPREPLY[@]}"' _ "$TMP/bootseal.bash" "$@"
}
check_eq "top-level commands" "$(sort <<<"$tops")" "$(complete_words "" | sort)"
for top in $tops; do
  subs=$(subcommands "$top")
  [ -z "$subs" ] && continue
  check_eq "commands of $top" "$(sort <<<"$subs")" "$(complete_words "$top" "" | sort)"
done
check_eq "complete 'ver'" "$(printf 'verify\nverity')" "$(complete_words ver | sort)"
check_eq "options of verity digest" "$("$B" verity digest --help | help_options)" "$(complete_words verity digest - | sort -u)"
check_eq "--json before the verb" "digest" "$(complete_words --json verity dig)"

# zsh: the script parses; loaded through compinit it defines the completion.
if command -v zsh >/dev/null; then
  "$B" completion zsh >"$TMP/_bootseal"
  zsh -n "$TMP/_bootseal" && pass || fail "zsh -n _bootseal"
  out=$(zsh -fc "fpath=('$TMP' \$fpath); autoload -Uz compinit; compinit -u -d '$TMP/zcd'; print \${_comps[bootseal]}")
  check_eq "zsh _comps[bootseal]" "_bootseal" "$out"
else
  fail "zsh is not installed (tools/setup installs it)"
fi
finish
