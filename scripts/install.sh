#!/bin/sh
# Installs a released imsform binary: scripts/install.sh VERSION [DIR]
#
# Downloads <base>/v<VERSION>/SHA256SUMS and <base>/v<VERSION>/imsform-<VERSION>-<target> for
# this machine's target, checks the binary against SHA256SUMS and that it runs and reports
# VERSION, then installs it as DIR/imsform and puts DIR on PATH (in GitHub Actions by appending
# it to $GITHUB_PATH; elsewhere it prints the line to add). Nothing is installed on any error.
#
#   VERSION  the release, such as 0.1.0 (a leading "v" is accepted)
#   DIR      where to install; default /usr/local/bin as root, ~/.local/bin otherwise
#
# Environment:
#   IMSFORM_DOWNLOAD_URL  base URL of the releases (a mirror with the same layout); default
#                         the GitHub releases below
#
# Targets: x86_64-unknown-linux-musl and aarch64-unknown-linux-musl (static, any Linux
# distribution), x86_64-apple-darwin and aarch64-apple-darwin. Needs curl or wget, and
# sha256sum or shasum. POSIX sh: runs under dash, bash, busybox ash and macOS's sh.
set -eu

default_download_url="https://github.com/imsform/imsform/releases/download"

fail() {
  echo "imsform install: error: $*" >&2
  exit 1
}

say() {
  echo "imsform install: $*" >&2
}

usage="usage: install.sh VERSION [DIR]   (for example: install.sh 0.1.0 \"\$HOME/.local/bin\")"
case $# in
  1 | 2) ;;
  *) fail "expected a version and an optional directory, got $# arguments
$usage" ;;
esac

version=${1#v}
case $version in
  "" | *[!0-9A-Za-z.+-]* | [!0-9]* | *..*)
    fail "'$1' is not a version such as 0.1.0
$usage" ;;
esac
case $version in
  *.*.*) ;;
  *) fail "'$1' is not a version such as 0.1.0 (MAJOR.MINOR.PATCH)
$usage" ;;
esac

if [ $# -eq 2 ]; then
  [ -n "$2" ] || fail "the install directory is empty
$usage"
  dir=$2
elif [ "$(id -u)" -eq 0 ]; then
  dir=/usr/local/bin
else
  [ -n "${HOME:-}" ] || fail "HOME is not set: name the install directory
$usage"
  dir=$HOME/.local/bin
fi

base=${IMSFORM_DOWNLOAD_URL:-$default_download_url}
base=${base%/}
case $base in
  http://* | https://*) ;;
  *) fail "IMSFORM_DOWNLOAD_URL must be an http:// or https:// URL, got '$base'" ;;
esac

# This machine's release target.
os=$(uname -s)
arch=$(uname -m)
case $arch in
  x86_64 | amd64) arch=x86_64 ;;
  aarch64 | arm64) arch=aarch64 ;;
  *) fail "no imsform release for the $arch processor ($os): build it from source with
  cargo install --locked --git <imsform repository> --tag v$version imsform" ;;
esac
case $os in
  Linux) target=$arch-unknown-linux-musl ;;
  Darwin) target=$arch-apple-darwin ;;
  *) fail "no imsform release for $os: build it from source with
  cargo install --locked --git <imsform repository> --tag v$version imsform" ;;
esac

if command -v curl >/dev/null 2>&1; then
  downloader=curl
elif command -v wget >/dev/null 2>&1; then
  downloader=wget
else
  fail "neither curl nor wget is installed: install one of them"
fi

if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum "$1" | cut -d ' ' -f 1; }
elif command -v shasum >/dev/null 2>&1; then
  sha256() { shasum -a 256 "$1" | cut -d ' ' -f 1; }
else
  fail "neither sha256sum nor shasum is installed: cannot verify the download"
fi

tmp=$(mktemp -d 2>/dev/null || mktemp -d -t imsform-install)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# fetch URL FILE: downloads URL into FILE; prints the HTTP status, 000 when no answer came.
fetch() {
  case $downloader in
    curl)
      curl --silent --show-error --location --retry 3 --connect-timeout 20 \
        --output "$2" --write-out '%{http_code}' "$1" 2>"$tmp/fetch.err" || true
      ;;
    wget)
      # Short options only: GNU wget and BusyBox's both take them. -S prints the status lines.
      code=0
      wget -q -S -T 60 -O "$2" "$1" 2>"$tmp/fetch.err" || code=$?
      case $code in
        0 | 8) ;; # 8: the server answered with an error status, read below
        4) echo "wget: network failure (exit code 4)" >>"$tmp/fetch.err" ;;
        5) echo "wget: TLS certificate verification failed (exit code 5)" >>"$tmp/fetch.err" ;;
        *) echo "wget: exit code $code" >>"$tmp/fetch.err" ;;
      esac
      awk 'match($0, /HTTP\/[0-9.]+ [0-9][0-9][0-9]/) { code = substr($0, RSTART + RLENGTH - 3, 3) }
           END { print (code == "" ? "000" : code) }' "$tmp/fetch.err"
      ;;
  esac
}

# download URL FILE WHAT: fetches, returns 4 on a 404 and fails with the reason on any other
# error.
download() {
  status=$(fetch "$1" "$2")
  case $status in
    200) return 0 ;;
    404) return 4 ;;
    000) fail "cannot download $3 from $1: $(tail -n 1 "$tmp/fetch.err" 2>/dev/null)" ;;
    *) fail "cannot download $3 from $1: HTTP $status" ;;
  esac
}

release=$base/v$version
asset=imsform-$version-$target

if ! download "$release/SHA256SUMS" "$tmp/SHA256SUMS" "the checksums"; then
  fail "imsform $version is not released at $base: $release/SHA256SUMS was not found (HTTP 404).
Check the version (the releases are named v<VERSION>) and IMSFORM_DOWNLOAD_URL."
fi
expected=$(awk -v name="$asset" '$2 == name || $2 == "*" name { print $1; exit }' "$tmp/SHA256SUMS")
if [ -z "$expected" ]; then
  available=$(awk '$2 ~ /^\*?imsform-/ { sub(/^\*/, "", $2); printf " %s", $2 }' "$tmp/SHA256SUMS")
  fail "imsform $version has no binary for $target (no $asset in $release/SHA256SUMS).
Binaries of this release:${available:- none}"
fi

say "downloading $release/$asset"
if ! download "$release/$asset" "$tmp/imsform" "the binary"; then
  fail "$release/$asset was not found (HTTP 404), though SHA256SUMS lists it: the release is incomplete"
fi

actual=$(sha256 "$tmp/imsform")
if [ "$actual" != "$expected" ]; then
  fail "checksum mismatch for $asset: SHA256SUMS says $expected, the download is $actual.
The download is corrupt or was tampered with; nothing was installed."
fi

chmod 755 "$tmp/imsform"
reported=$("$tmp/imsform" --version 2>&1) \
  || fail "the downloaded binary does not run on this machine ($target): $reported"
case $reported in
  "imsform $version "* | "imsform $version") ;;
  *) fail "the binary of $asset reports '$reported', not imsform $version; nothing was installed" ;;
esac

mkdir -p "$dir" || fail "cannot create the install directory $dir"
dir=$(cd "$dir" && pwd)
# Copy next to the destination, then rename: an interrupted install never leaves half a binary.
staged=$dir/.imsform.install.$$
cp "$tmp/imsform" "$staged" 2>/dev/null || {
  rm -f "$staged"
  fail "cannot write to $dir (run as a user who can, or name another directory)"
}
mv -f "$staged" "$dir/imsform" || {
  rm -f "$staged"
  fail "cannot replace $dir/imsform"
}
say "installed $reported as $dir/imsform"

case ":$PATH:" in
  *":$dir:"*) ;;
  *)
    if [ -n "${GITHUB_PATH:-}" ]; then
      echo "$dir" >>"$GITHUB_PATH"
      say "added $dir to GITHUB_PATH for the next steps"
    else
      say "$dir is not on PATH: add it, for example with
  export PATH=\"$dir:\$PATH\""
    fi
    ;;
esac
