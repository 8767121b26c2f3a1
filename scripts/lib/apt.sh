# Sourced by the scripts that install Debian packages (ensure-system-deps,
# ensure-browser-deps). apt_install PKG...: installs them, running
# `apt-get update` first only when the install fails with the current lists;
# waits (up to 10 minutes, saying so every 10 s) while another apt or dpkg
# holds its lock, instead of failing at once with exit 100.
# Needs $SUDO set ("" as root, "sudo" otherwise).

apt_locked() { grep -qE 'Could not get lock|Unable to acquire the dpkg frontend lock|Unable to lock directory|is another process using it' "$1"; }

# apt_run ARGS...: one apt-get run, retried while the lock is taken.
apt_run() {
  local err rc waited=0
  err=$(mktemp)
  while :; do
    if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=10 "$@" >/dev/null 2>"$err"; then rm -f "$err"; return 0; fi
    rc=$?
    if apt_locked "$err" && [ "$waited" -lt 600 ]; then
      echo "waiting for another apt or dpkg to finish (it holds the package lock; ${waited} s so far)..." >&2
      sleep "${APT_LOCK_POLL:-10}"; waited=$((waited + ${APT_LOCK_POLL:-10})); continue
    fi
    [ -n "${APT_QUIET:-}" ] || cat "$err" >&2
    rm -f "$err"; return "$rc"
  done
}

apt_install() {
  echo "installing $* from Debian's packages..." >&2
  APT_QUIET=1 apt_run install -y -qq --no-install-recommends "$@" || { apt_run update -qq && apt_run install -y -qq --no-install-recommends "$@"; }
}
