#!/usr/bin/env bash
# `cmake --install` yields a tree that works on its own: the installed bootseal
# finds the installed bootseal-setup-root (libexec/bootseal/) and seals a disk
# with nothing from the build tree; man pages, completions and docs are there.
source "$SRC/tests/lib.sh"
need sfdisk mtype debugfs depmod busybox cmake
source "$SRC/tests/lib/sealed_root.sh"
cd "$TMP"
P=$TMP/prefix
cmake --install "$BUILD" --prefix "$P" >install.log
for f in bin/bootseal libexec/bootseal/bootseal-setup-root share/man/man1/bootseal.1 share/man/man1/bootseal-disk.1 \
         share/bash-completion/completions/bootseal share/zsh/vendor-completions/_bootseal \
         share/doc/bootseal/README.md share/doc/bootseal/cli.md; do
  [ -s "$P/$f" ] && pass || fail "not installed: $f"
done
check_eq "installed man pages" "$(ls "$BUILD/man" | sort)" "$(ls "$P/share/man/man1" | sort)"
mkroot good
"$P/bin/bootseal" -q keys generate --dir keys >/dev/null
rc=0
BOOTSEAL_REPO=$TMP/no-repo "$P/bin/bootseal" --json disk create --image "dir:$TMP/good" --keys keys -o disk.raw >create.json 2>err || rc=$?
check_eq "installed disk create: exit code ($(cat err))" 0 "$rc"
[ -s disk.raw ] && pass || fail "no disk.raw"
digest=$(python3 -c 'import json; print(json.load(open("create.json"))["digest"])')
[ ${#digest} -eq 128 ] && pass || fail "digest: $digest"
# The installed setup-root is the one sealed in, not the build tree's: without it, an error.
rm "$P/libexec/bootseal/bootseal-setup-root"
expect_error "without the installed setup-root" "bootseal-setup-root.*libexec/bootseal" \
  env BOOTSEAL_REPO="$TMP/no-repo" "$P/bin/bootseal" disk create --image "dir:$TMP/good" --keys keys -o disk2.raw
# Installed man page and completion work as installed.
LC_ALL=C.UTF-8 man -l "$P/share/man/man1/bootseal-disk.1" 2>/dev/null | grep -q "bootseal disk create" && pass || fail "installed man page"
check_eq "installed completion" "complete -o default -F _bootseal bootseal" \
  "$(bash -c "source '$P/share/bash-completion/completions/bootseal'; complete -p bootseal")"
"$P/bin/bootseal" --version | grep -q "^bootseal " && pass || fail "installed --version"
finish
