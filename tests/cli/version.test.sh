#!/usr/bin/env bash
# --version: bootseal's version, its git commit, and the OpenSSL and libarchive
# versions in use (as their own tools report them).
source "$SRC/tests/lib.sh"
need openssl
v=$("$BOOTSEAL" --version)
line1=$(sed -n 1p <<<"$v")
ver=$(sed -n 's/^project(bootseal VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
[[ $line1 =~ ^bootseal\ $ver\ \(git\ ([0-9a-f]{12}|unknown)(-dirty)?\)$ ]] && pass || fail "first line: [$line1]"
commit=${BASH_REMATCH[1]:-}
# The commit the binary was built from (a build refreshes it; a commit made since
# the last build is not in it yet): one of this repository's commits.
if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
  git -C "$SRC" rev-parse --verify -q "$commit^{commit}" >/dev/null && pass || fail "git $commit is not a commit of $SRC"
fi
ossl=$(openssl version | awk '{print $1, $2}')
grep -q "^$ossl" <<<"$v" && pass || fail "no '$ossl' line in: $v"
la=$(dpkg-query -W -f='${Version}' libarchive13 2>/dev/null | sed 's/-.*//')
grep -q "^libarchive ${la:-3}" <<<"$v" && pass || fail "no 'libarchive $la' line in: $v"
check_eq "three lines" 3 "$(wc -l <<<"$v")"
finish
