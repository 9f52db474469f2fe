#!/usr/bin/env bash
# Builds imsform's release binaries and their SHA256SUMS:
#
#   scripts/release.sh [--dist DIR] [TARGET...]
#
# Layout (what scripts/install.sh and the GitHub release expect; a mirror copies it as is):
#
#   DIR/v<VERSION>/imsform-<VERSION>-<TARGET>   one executable per target, nothing to unpack
#   DIR/v<VERSION>/install.sh                   scripts/install.sh, for CI systems without the action
#   DIR/v<VERSION>/SHA256SUMS                   `sha256sum` lines for every file above
#
# DIR defaults to target/dist. TARGET defaults to x86_64-unknown-linux-musl and
# aarch64-unknown-linux-musl on Linux, aarch64-apple-darwin and x86_64-apple-darwin on macOS.
# Each target is added with rustup when missing. ring's C code needs a compiler for the target:
# musl-gcc for x86_64-unknown-linux-musl (Debian: musl-tools), and on another processor an
# aarch64 cross compiler for aarch64-unknown-linux-musl (Debian: gcc-aarch64-linux-gnu and
# libc6-dev-arm64-cross), which also links.
#
# Checks, any failure stops the script with exit 1:
# - a Linux binary is statically linked (`file`, and `ldd` where the binary runs natively);
# - a binary that runs on this machine (natively, or through qemu-user for another Linux
#   processor) reports `imsform <VERSION> (commit <HEAD>, <TARGET>)` and applies
#   examples/quickstart on the local cloud in a temporary copy, after which
#   `plan --detailed-exitcode` exits 0 (no changes).
# It prints each target's build time and binary size.
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
  echo "release: error: $*" >&2
  exit 1
}

dist=target/dist
targets=()
while [ $# -gt 0 ]; do
  case $1 in
    --dist)
      if [ $# -lt 2 ] || [ -z "$2" ]; then die "--dist needs a directory"; fi
      dist=$2
      shift 2
      ;;
    --dist=*)
      dist=${1#--dist=}
      [ -n "$dist" ] || die "--dist needs a directory"
      shift
      ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    -*) die "unknown option $1 (usage: scripts/release.sh [--dist DIR] [TARGET...])" ;;
    *)
      targets+=("$1")
      shift
      ;;
  esac
done

host_os=$(uname -s)
host_arch=$(uname -m)
case $host_arch in arm64) host_arch=aarch64 ;; amd64) host_arch=x86_64 ;; esac
if [ ${#targets[@]} -eq 0 ]; then
  case $host_os in
    Linux) targets=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl) ;;
    Darwin) targets=(aarch64-apple-darwin x86_64-apple-darwin) ;;
    *) die "no default targets on $host_os: name them" ;;
  esac
fi

version=$(awk -F '"' '/^version = / { print $2; exit }' Cargo.toml)
[ -n "$version" ] || die "no version in Cargo.toml"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
out=$dist/v$version
mkdir -p "$out"
out=$(cd "$out" && pwd)

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$@"; else shasum -a 256 "$@"; fi
}

# Sets the C compiler, archiver and linker of a cross target unless the caller did.
cross_toolchain() {
  local target=$1 triple_env
  triple_env=$(echo "$target" | tr 'a-z-' 'A-Z_')
  case $target in
    x86_64-unknown-linux-musl)
      [ "$host_arch" = x86_64 ] || die "$target is built on x86_64 Linux only here"
      command -v musl-gcc >/dev/null || die "$target needs musl-gcc for ring's C code: apt-get install musl-tools"
      ;;
    aarch64-unknown-linux-musl)
      [ "$host_arch" = aarch64 ] && return 0
      local gcc
      for gcc in aarch64-linux-musl-gcc aarch64-linux-gnu-gcc; do
        command -v "$gcc" >/dev/null && break
        gcc=
      done
      [ -n "$gcc" ] || die "$target needs an aarch64 cross compiler: apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
      local cc_var="CC_${target//-/_}" ar_var="AR_${target//-/_}" linker_var="CARGO_TARGET_${triple_env}_LINKER"
      export "$cc_var=${!cc_var:-$gcc}"
      export "$ar_var=${!ar_var:-${gcc%-gcc}-ar}"
      export "$linker_var=${!linker_var:-$gcc}"
      ;;
  esac
}

# Whether a binary of this target runs natively on this machine.
runs_here() {
  case $1 in
    "$host_arch"-unknown-linux-*) [ "$host_os" = Linux ] ;;
    "$host_arch"-apple-darwin) [ "$host_os" = Darwin ] ;;
    *) return 1 ;;
  esac
}

# Sets `runner` to the command that runs a binary of this target here: nothing when it runs
# natively, qemu's user-mode emulator for another Linux processor when it is installed (Debian:
# qemu-user). Fails when there is none.
find_runner() {
  runner=()
  runs_here "$1" && return 0
  case $1 in
    *-unknown-linux-*)
      [ "$host_os" = Linux ] || return 1
      command -v "qemu-${1%%-*}" >/dev/null || return 1
      runner=("qemu-${1%%-*}")
      ;;
    *) return 1 ;;
  esac
}

check_static() {
  local binary=$1 target=$2 described linked
  command -v file >/dev/null || die "the static check needs \`file\` (apt-get install file)"
  described=$(file -L "$binary")
  echo "  file: ${described#"$binary": }"
  case $described in
    *"statically linked"* | *"static-pie linked"*) ;;
    *) die "$target: $binary is not statically linked" ;;
  esac
  if runs_here "$target" && command -v ldd >/dev/null; then
    linked=$(ldd "$binary" 2>&1 || true)
    echo "  ldd: $(echo "$linked" | tr -s ' \t\n' ' ' | sed 's/^ //; s/ $//')"
    case $linked in
      *"statically linked"* | *"not a dynamic executable"*) ;;
      *) die "$target: ldd lists shared libraries for $binary" ;;
    esac
  fi
}

check_runs() {
  local binary=$1 target=$2 reported work code
  reported=$(${runner[@]+"${runner[@]}"} "$binary" --version)
  echo "  --version: $reported"
  [ "$reported" = "imsform $version (commit $commit, $target)" ] \
    || die "$target: --version says '$reported', not 'imsform $version (commit $commit, $target)'"
  work=$(mktemp -d)
  cp -R examples/quickstart "$work/quickstart"
  rm -rf "$work/quickstart/.imsform" "$work"/quickstart/*.state.json*
  if ! ${runner[@]+"${runner[@]}"} "$binary" -C "$work/quickstart" apply --auto-approve >"$work/apply.log" 2>&1; then
    cat "$work/apply.log" >&2
    rm -rf "$work"
    die "$target: the quickstart's apply failed"
  fi
  grep -F "Apply complete!" "$work/apply.log" | sed 's/^/  quickstart: /'
  code=0
  ${runner[@]+"${runner[@]}"} "$binary" -C "$work/quickstart" plan --detailed-exitcode >"$work/plan.log" 2>&1 || code=$?
  if [ "$code" -ne 0 ]; then
    cat "$work/plan.log" >&2
    rm -rf "$work"
    die "$target: plan --detailed-exitcode after the apply exited $code, not 0"
  fi
  echo "  quickstart: $(grep -F 'No changes.' "$work/plan.log") (plan --detailed-exitcode: 0)"
  rm -rf "$work"
}

summary=()
for target in "${targets[@]}"; do
  echo "== $target"
  if ! rustup target list --installed | grep -qx "$target"; then
    rustup target add "$target" || die "rustup cannot add $target (see its message above)"
  fi
  cross_toolchain "$target"
  start=$(date +%s)
  cargo build --release --locked --target "$target"
  seconds=$(($(date +%s) - start))
  asset=imsform-$version-$target
  cp "target/$target/release/imsform" "$out/$asset"
  chmod 755 "$out/$asset"
  case $target in *-linux-*) check_static "$out/$asset" "$target" ;; esac
  if find_runner "$target"; then
    [ ${#runner[@]} -eq 0 ] || echo "  run through ${runner[*]}"
    check_runs "$out/$asset" "$target"
  else
    echo "  not run: a $target binary does not run on this $host_os $host_arch machine" \
      "(for aarch64 Linux binaries: apt-get install qemu-user)"
  fi
  size=$(wc -c <"$out/$asset" | tr -d ' ')
  echo "  built in ${seconds}s, $size bytes"
  summary+=("$asset: ${seconds}s, $((size / 1024 / 1024)) MiB ($size bytes)")
done

cp scripts/install.sh "$out/install.sh"
chmod 755 "$out/install.sh"
(cd "$out" && rm -f SHA256SUMS && sha256 imsform-"$version"-* install.sh >SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)
echo "== $out"
printf '  %s\n' "${summary[@]}"
sed 's/^/  SHA256SUMS: /' "$out/SHA256SUMS"
