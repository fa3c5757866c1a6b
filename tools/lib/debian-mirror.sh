# Sourced by tools/setup, tools/fetch-payloads and examples/debian/build-image.sh.
# debian_mirror prints the Debian archive URI this machine's apt sources use for
# bookworm (main), so a user behind a local mirror or proxy is never sent to another
# host. $DEBIAN_MIRROR overrides. Fails with a one-line message when no apt source
# carries bookworm.
debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "${DEBIAN_MIRROR%/}"; return 0; fi
  local site
  # apt's own view of the configured sources (one-line and deb822 forms alike).
  site=$(apt-get indextargets --format '$(SITE) $(RELEASE) $(COMPONENT) $(IDENTIFIER)' 2>/dev/null |
         awk '$2 == "bookworm" && $3 == "main" && $4 == "Packages" { print $1; exit }')
  if [ -z "$site" ]; then
    # Older apt or no index targets: read the sources files themselves.
    site=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
           awk '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                              if ($(i+1) == "bookworm") { print $i; exit } }')
  fi
  if [ -z "$site" ]; then
    site=$(awk 'BEGIN { RS = ""; FS = "\n" }
                { uri = ""; ok = 0
                  for (i = 1; i <= NF; i++) {
                    if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); uri = a[2] }
                    if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) ok = 1 }
                  if (ok && uri != "") { print uri; exit } }' /etc/apt/sources.list.d/*.sources 2>/dev/null)
  fi
  if [ -z "$site" ]; then
    echo "no apt source for Debian bookworm found in /etc/apt (set DEBIAN_MIRROR=URI)" >&2
    return 1
  fi
  echo "${site%/}"
}
