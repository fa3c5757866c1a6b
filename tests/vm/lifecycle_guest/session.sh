#!/bin/sh
# The guest side of tests/vm/lifecycle_guest.test.sh, run on every boot by
# bootseal-session.service from the update disk (/mnt/update, mounted
# read-write: results go to /mnt/update/out/<boot>-<name>.{out,rc}). The boot
# number is counted in /var, which every deployment shares.
set -u
U=/mnt/update
O=$U/out
mkdir -p "$O" /var/lib/bootseal-session
n=$(cat /var/lib/bootseal-session/boot 2>/dev/null || echo 0)
n=$((n + 1))
echo $n > /var/lib/bootseal-session/boot
say() { echo "SESSION[$n]: $*"; }
finish() { sync; say "$1"; echo "SESSION-$1"; }
# run NAME CMD...: stdout in $O/$n-NAME.out, stderr in .err (both also on the
# console), exit code in .rc
run() {
  name=$1; shift
  "$@" > "$O/$n-$name.out" 2> "$O/$n-$name.err"
  rc=$?
  echo $rc > "$O/$n-$name.rc"
  say "$name: exit $rc: $*"
  cat "$O/$n-$name.out" "$O/$n-$name.err" | sed "s/^/SESSION[$n] $name| /"
  return $rc
}
abort() { say "ABORT: $*"; finish ABORT; systemctl poweroff; exit 1; }
esp=
for d in /efi /boot/efi /boot; do [ -d "$d/loader/entries" ] && { esp=$d; break; }; done
say "cmdline: $(cat /proc/cmdline)"
say "esp: ${esp:-none} ($(findmnt -n -o SOURCE,FSTYPE,OPTIONS "${esp:-/boot}" 2>&1))"
# what may change: the ESP's entries and UKIs, the deployments' state
snap() { (find "$esp/loader" "$esp/EFI/Linux" /sysroot/state -path /sysroot/state/os -prune -o -printf '%p %s %T@\n' 2>/dev/null | sort) > "$O/$n-$1.snap"; }
entries() { ls "$esp/loader/entries" > "$O/$n-entries-$1.out" 2>&1; say "entries $1: $(tr '\n' ' ' < "$O/$n-entries-$1.out")"; }
[ -n "$esp" ] || abort "no ESP with loader/entries at /efi, /boot/efi or /boot"
run status bootseal status -v
run status-json bootseal status --json
entries start
systemctl is-active bootseal-healthcheck.service > "$O/$n-health.out" 2>&1
say "health check: $(cat "$O/$n-health.out")"
systemctl status --no-pager systemd-bless-boot.service bootseal-healthcheck.service > "$O/$n-units.out" 2>&1
case $n in
1)  # v1: an update signed by a key not in db is refused, nothing changed;
    # then v2 is staged, /etc is edited after staging, reboot (finalize at shutdown)
    snap before-untrusted
    run untrusted bootseal switch oci-archive:$U/untrusted.tar && abort "the untrusted update was accepted"
    snap after-untrusted
    run switch bootseal switch oci-archive:$U/v2.tar || abort "switch to v2"
    run status-staged bootseal status --json
    echo "edited after staging" > /etc/bootseal-session-edit
    entries staged
    finish REBOOT; systemctl reboot ;;
2)  # v2: the /etc edit is there; rollback, reboot
    cat /etc/bootseal-session-edit > "$O/2-edit.out" 2>&1
    run rollback bootseal rollback || abort "rollback"
    entries rolledback
    finish REBOOT; systemctl reboot ;;
3)  # v1 again: stage v3 with one boot try, reboot
    run switch3 bootseal switch --boot-tries 1 oci-archive:$U/v3.tar || abort "switch to v3"
    finish REBOOT; systemctl reboot ;;
4)  # v3: its health check failed (the entry is not blessed); reboot: systemd-boot falls back
    finish REBOOT; systemctl reboot ;;
*)  # back on v1 by itself
    finish DONE; systemctl poweroff ;;
esac
