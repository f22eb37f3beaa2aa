#!/usr/bin/env bash
# Builds the node's own container images as OCI archives with the project's imagetool (no
# container engine), into $KUBE_API_TEST_DIR/node/images/:
#   pause.tar    ghcr.io/safedefaults/e2e-pause:3.10     containerd's sandbox_image (src/pause.c)
#   coredns.tar  ghcr.io/safedefaults/e2e-coredns:<ver>  cluster DNS (binary from build-addons.sh)
#   nettest.tar  ghcr.io/safedefaults/e2e-nettest:1      the smoke test's server and probes
#   traefik.tar  ghcr.io/safedefaults/e2e-traefik:<ver>  the ingress controller
# Each is a static binary on a minimal base (passwd/group with the non-root user, /tmp, mount
# points; no shell, no libc). An archive whose inputs did not change is kept, so a second run is
# a fast no-op. Prints nothing but progress; the archive paths are fixed (see above).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../control-plane/versions.env
source "$here/../control-plane/versions.env"
# shellcheck source=lib.sh
source "$here/lib.sh"

imagetool="$here/../images/imagetool.py"
dir="$NODE_ADDONS/images"
mkdir -p "$dir"

# The base layer: what every static image needs and nothing else. Its directory name is a hash of
# this function's text, because imagetool caches the layer beside the rootfs and assumes the
# rootfs never changes.
make_rootfs() {
  local root="$1"
  mkdir -p "$root/etc" "$root/tmp" "$root/proc" "$root/sys" "$root/dev"
  printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
    'nonroot:x:10001:10001:nonroot:/nonexistent:/sbin/nologin' \
    'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' > "$root/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nonroot:x:10001:' 'nobody:x:65534:' > "$root/etc/group"
  echo "hosts: files dns" > "$root/etc/nsswitch.conf"
  find "$root" -type d -exec chmod 0755 {} +
  find "$root" -type f -exec chmod 0644 {} +
  chmod 1777 "$root/tmp"
  find "$root" -exec touch -h -d @0 {} +
}
base_key="$(declare -f make_rootfs | sha256sum | cut -c1-12)"
base="$dir/base-static-$base_key"
if [[ ! -f "$base/.complete" ]]; then
  rm -rf "$base"
  make_rootfs "$base/rootfs"
  touch "$base/.complete"
fi

# image NAME TAG BINARY DEST USER ENTRYPOINT-JSON: writes $dir/NAME.tar unless its inputs are unchanged
image() {
  local name="$1" tag="$2" bin="$3" dest="$4" user="$5" entry="$6"
  local key
  key="$(cat "$bin" "$imagetool" | sha256sum | cut -c1-16) $base_key $tag $dest $user $entry"
  if [[ -f "$dir/$name.tar" && "$(cat "$dir/$name.key" 2>/dev/null)" == "$key" ]]; then
    echo "image $tag up to date ($dir/$name.tar)"
    return
  fi
  python3 "$imagetool" image --rootfs "$base/rootfs" --add "$bin=$dest" --tag "$tag" \
    --entrypoint "$entry" --user "$user" --workdir / \
    --base-history "e2e/node/build-images.sh: static base (passwd, group, /tmp)" \
    --label "org.opencontainers.image.source=https://github.com/safedefaults/microapp-operator" \
    --output "$dir/$name.tar"
  echo "$key" > "$dir/$name.key"
}

# pause: static, so no libc in the image. 65535 is the user upstream's pause image runs as.
pause_src="$here/src/pause.c"
pause_bin="$dir/pause"
if [[ ! -x "$pause_bin" || "$pause_src" -nt "$pause_bin" ]]; then
  gcc -static -Os -Wall -Werror -o "$pause_bin.tmp" "$pause_src"
  strip "$pause_bin.tmp"
  mv "$pause_bin.tmp" "$pause_bin"
fi
image pause "$PAUSE_IMAGE" "$pause_bin" /pause 65535:65535 '["/pause"]'
image coredns "$COREDNS_IMAGE" "$NODE_ADDONS/coredns-$COREDNS_VERSION/coredns" /coredns 10001:10001 '["/coredns"]'
image nettest "$NETTEST_IMAGE" "$(nettest_bin)" /nettest 10001:10001 '["/nettest"]'
image traefik "$TRAEFIK_IMAGE" "$NODE_ADDONS/traefik-$TRAEFIK_VERSION/traefik" /traefik 10001:10001 '["/traefik"]'
