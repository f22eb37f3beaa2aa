#!/usr/bin/env bash
# Builds the release tools at the versions of release/versions.env from the Go module proxy (go
# install verifies every module against the checksum database), so the release workflow and the
# local dry run run the same binaries. A no-op for a tool already built at its version.
#
#   release/tools.sh actionlint oras syft cosign     # prints the directory of the binaries last
#
# Binaries go to $RELEASE_TOOLS_DIR (default ~/.cache/microapp-release/bin) as NAME, replaced
# when versions.env changes (NAME.version records what was built).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/versions.env
source "$here/versions.env"
die() { echo "tools: ERROR: $*" >&2; exit 1; }
command -v go >/dev/null 2>&1 || die "Go is needed to build the release tools (the project's README: Java, Maven and Go)"

bin="${RELEASE_TOOLS_DIR:-$HOME/.cache/microapp-release/bin}"
mkdir -p "$bin"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--trimpath}" GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

for tool in "$@"; do
  case "$tool" in
    actionlint) pkg=github.com/rhysd/actionlint/cmd/actionlint; version="$ACTIONLINT_VERSION" ;;
    oras) pkg=oras.land/oras/cmd/oras; version="$ORAS_VERSION" ;;
    syft) pkg=github.com/anchore/syft/cmd/syft; version="$SYFT_VERSION" ;;
    cosign) pkg=github.com/sigstore/cosign/v2/cmd/cosign; version="$COSIGN_VERSION" ;;
    *) die "unknown tool '$tool' (actionlint, oras, syft, cosign)" ;;
  esac
  [[ -n "$version" ]] || die "no version for $tool in $here/versions.env"
  if [[ -x "$bin/$tool" && "$(cat "$bin/$tool.version" 2>/dev/null)" == "$version" ]]; then
    continue
  fi
  echo "tools: building $tool v$version from the Go module proxy ..." >&2
  t0=$SECONDS
  tmp="$(mktemp -d)"
  GOBIN="$tmp" go install -ldflags "-s -w" "$pkg@v$version" || { rm -rf "$tmp"; die "go install $pkg@v$version failed"; }
  mv "$tmp/$tool" "$bin/$tool"
  rm -rf "$tmp"
  echo "$version" > "$bin/$tool.version"
  echo "tools: $tool v$version in $((SECONDS - t0)) s" >&2
done
echo "$bin"
