#!/usr/bin/env bash
# Debian packages the test suite needs (servers and a browser that tests drive for real):
# Chromium for the browser tests, a CJK font so Korean renders in screenshots.
# Installed only when missing; needs root (CI runs as root) or passwordless sudo.
set -euo pipefail
packages=()
for package in chromium fonts-noto-cjk; do
  dpkg -s "$package" >/dev/null 2>&1 || packages+=("$package")
done
[ ${#packages[@]} -eq 0 ] && exit 0
echo "==> installing Debian packages: ${packages[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo -n"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
