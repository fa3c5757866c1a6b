#!/usr/bin/env bash
# --version: bootseal's version, its git commit, and the OpenSSL and libarchive
# versions in use (as their own tools report them).
source "$SRC/tests/lib.sh"
need openssl
v=$("$BOOTSEAL" --version)
line1=$(sed -n 1p <<<"$v")
ver=$(sed -n 's/^project(bootseal VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
commit=$(git -C "$SRC" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
[[ $line1 == "bootseal $ver (git $commit"* ]] && pass || fail "first line: [$line1], expected bootseal $ver (git $commit...)"
ossl=$(openssl version | awk '{print $1, $2}')
grep -q "^$ossl" <<<"$v" && pass || fail "no '$ossl' line in: $v"
la=$(dpkg-query -W -f='${Version}' libarchive13 2>/dev/null | sed 's/-.*//')
grep -q "^libarchive ${la:-3}" <<<"$v" && pass || fail "no 'libarchive $la' line in: $v"
check_eq "three lines" 3 "$(wc -l <<<"$v")"
finish
