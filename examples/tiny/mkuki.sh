#!/bin/bash
# Builds a UKI the simple way, with objcopy, until `bootseal uki build` exists:
#   mkuki.sh STUB KERNEL INITRD CMDLINE OSREL OUT
# New sections go after the stub's last section, aligned to its SectionAlignment, in
# the order .osrel .cmdline .initrd .linux (../shared/notes/boot-harness.md step 3).
# VMAs include ImageBase; bash arithmetic (mawk has no strtonum).
set -euo pipefail
[ $# = 6 ] || { echo "usage: $0 STUB KERNEL INITRD CMDLINE OSREL OUT" >&2; exit 2; }
stub=$1 kernel=$2 initrd=$3 cmdline=$4 osrel=$5 out=$6
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf '%s' "$cmdline" > "$tmp/cmdline"
align=$((16#$(objdump -p "$stub" | awk '$1=="SectionAlignment" {print $2}')))
end=0
while read -r _ name size vma _; do
  case "$name" in .*) ;; *) continue ;; esac
  e=$((16#$vma + 16#$size)); [ $e -gt $end ] && end=$e
done < <(objdump -h -w "$stub" | awk '$1 ~ /^[0-9]+$/ {print $1, $2, $3, $4, $5}')
next=$(( (end + align - 1) / align * align ))
args=()
for sec in osrel:"$osrel" cmdline:"$tmp/cmdline" initrd:"$initrd" linux:"$kernel"; do
  name=.${sec%%:*} file=${sec#*:}
  size=$(stat -c %s "$file")
  args+=(--add-section "$name=$file" --change-section-vma "$name=$(printf '0x%x' $next)")
  next=$(( (next + size + align - 1) / align * align ))
done
objcopy "${args[@]}" "$stub" "$out"
