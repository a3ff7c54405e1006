#!/usr/bin/env bash
# Install the Debian packages the tests and the app need, or say exactly what to install.
# Usage: system-deps.sh PACKAGE...   (PYTHON names the interpreter that will create .venv)
set -euo pipefail
PYTHON=${PYTHON:-python3}
wanted=("$@")
if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
  wanted+=("python3-venv")
fi
if ! command -v dpkg-query >/dev/null; then
  echo "system-deps: not a Debian system; make sure these are installed: ${wanted[*]}" >&2
  exit 0
fi
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "system-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "system-deps: missing Debian packages. Run:" >&2
  echo "  sudo apt-get install --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
