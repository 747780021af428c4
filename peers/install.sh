#!/usr/bin/env bash
# make peers: install the real 2FA servers the target drivers judge (docs/targets.md).
#
# Debian packages: the PAM modules, pamtester, faketime (libfaketime), oathtool and keepassxc
# (its keepassxc-cli; Debian packages no CLI alone, so without the recommended extras).
# Python peers: one virtual environment each under .peers/ (TWOFA_PEERS_HOME overrides),
# from the pinned files in peers/requirements/; so are check-authenticator's pyotp and
# cryptography adapters. Its npm otplib and speakeasy: peers/authenticators/node's
# package-lock.json, installed with npm ci into .peers/authenticators-node/. Idempotent,
# and quick when done: a stamp holds the hash of the file each was installed from.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
HOME_DIR=${TWOFA_PEERS_HOME:-.peers}
DEBIAN_PACKAGES=(libpam-google-authenticator libpam-oath pamtester faketime oathtool keepassxc)

missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "peers: installing Debian packages: ${missing[*]} ..."
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine has no package lists yet; an update is needed once.
    # keepassxc recommends a desktop's worth of packages the CLI does not need.
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
      apt-get update -q >/dev/null &&
        apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    }
  else
    echo "peers: the PAM drivers need Debian packages that are not installed: ${missing[*]}" >&2
    echo "peers: as root, run: apt-get install -y ${missing[*]}   (the other peers install anyway)" >&2
  fi
fi

install_venv() {  # NAME: .peers/NAME from peers/requirements/NAME.txt
  local name=$1 requirements="peers/requirements/$1.txt" dir="$HOME_DIR/$1"
  local want; want=$(sha256sum "$requirements" | cut -d' ' -f1)
  if [ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$want" ]; then
    return 0
  fi
  echo "peers: installing $name into $dir ..."
  rm -rf "$dir"
  "$PYTHON" -m venv "$dir"
  if ! "$dir/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements" \
      > "$dir/install.log" 2>&1; then
    grep -v '^WARNING: Location' "$dir/install.log" >&2 || true
    echo "peers: pip could not install $requirements (log: $dir/install.log)" >&2
    return 1
  fi
  echo "$want" > "$dir/.installed"
}

install_node() {  # .peers/authenticators-node from peers/authenticators/node/package-lock.json
  local source=peers/authenticators/node dir="$HOME_DIR/authenticators-node"
  local want; want=$(sha256sum "$source/package-lock.json" | cut -d' ' -f1)
  if [ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$want" ]; then
    return 0
  fi
  if ! command -v npm >/dev/null; then
    echo "peers: check-authenticator's otplib and speakeasy adapters need node and npm (Debian nodejs, npm)" >&2
    return 1
  fi
  echo "peers: installing otplib and speakeasy into $dir ..."
  rm -rf "$dir" && mkdir -p "$dir"
  cp "$source/package.json" "$source/package-lock.json" "$dir/"
  if ! (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts) > "$dir/install.log" 2>&1; then
    cat "$dir/install.log" >&2
    echo "peers: npm could not install $source/package-lock.json (log: $dir/install.log)" >&2
    return 1
  fi
  echo "$want" > "$dir/.installed"
}

for name in privacyidea django-otp flask-security pyotp cryptography; do
  install_venv "$name" &
done
install_node &
status=0
for job in $(jobs -p); do wait "$job" || status=1; done
if [ $status -ne 0 ]; then
  echo "peers: a Python peer failed to install (see above); run 'make peers' again" >&2
  exit 1
fi
echo "peers: ready: privacyidea, django-otp, flask-security, pyotp, cryptography and authenticators-node in $HOME_DIR/; Debian: ${DEBIAN_PACKAGES[*]}"
