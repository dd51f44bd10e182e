#!/usr/bin/env bash
# Debian packages the test suite needs (servers and a browser that tests drive for real):
# Chromium for the browser tests, a CJK font so Korean renders in screenshots, and Dovecot's
# IMAP server, which the email connector tests start privately on a free loopback port, with
# openssl to make their throwaway TLS certificates.
# Installed only when missing; needs root (CI runs as root) or passwordless sudo.
set -euo pipefail
packages=()
for package in chromium fonts-noto-cjk dovecot-imapd openssl; do
  dpkg -s "$package" >/dev/null 2>&1 || packages+=("$package")
done
[ ${#packages[@]} -eq 0 ] && exit 0
echo "==> installing Debian packages: ${packages[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo -n"
export DEBIAN_FRONTEND=noninteractive

# The tests run their own Dovecot; a system-wide one on ports 143/993 would only get in the
# way. A policy-rc.d answering 101 stops invoke-rc.d from starting any service during install;
# ours is added only when the machine has none (Docker images ship one) and removed afterwards.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
  trap '$sudo rm -f "$policy"' EXIT
fi

$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null

if [[ " ${packages[*]} " == *" dovecot-imapd "* ]]; then
  # Belt and braces: stop a system Dovecot that started anyway, and keep it off after reboots.
  if [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now dovecot.service dovecot.socket >/dev/null 2>&1 || true
  elif command -v update-rc.d >/dev/null 2>&1; then
    $sudo update-rc.d dovecot disable >/dev/null 2>&1 || true
  fi
  if [ -s /run/dovecot/master.pid ]; then
    $sudo doveadm stop >/dev/null 2>&1 || $sudo kill "$(cat /run/dovecot/master.pid)" || true
  fi
fi
