#!/usr/bin/env bash
# Runs the release here, as far as it can run without GitHub: every step of
# .github/workflows/release.yml with the same scripts and tool versions, against a registry on
# 127.0.0.1 instead of ghcr.io, and with a throwaway key instead of keyless signing.
#
#   release/dry-run.sh [--no-build] [--keep]
#
#   --no-build   use the image archives and jars already in operator/target and sidecar/target
#                (e.g. after `mvn -B verify`); default: build them (mvn -DskipTests package)
#   --keep       leave the output (target/release-dry-run/) and print where it is
#
# In order: shellcheck of release/*.sh; the action-pin check against local repositories
# (check-pins.sh --self-test); actionlint of .github/workflows/ (with shellcheck on their
# run: scripts); the version in every place (release/version.sh, with --release and the tag the
# workflow would get); the jars and image archives; the built programs' versions and default
# sidecar image; each image built again from its jar must give the same digest (reproducible: the
# digest a maintainer computes is the one CI publishes); publish.sh to the local registry (push by
# digest, chart pinned, linted, packaged, pushed, pulled back and rendered); SBOMs (sbom.sh);
# sign.sh (sign, attest the SBOMs, verify); the release notes from CHANGELOG.md.
#
# What cannot run here, and so is left to the workflow: keyless signing (it needs the workflow's
# OIDC token and Sigstore's Fulcio and Rekor), GitHub's build provenance
# (actions/attest-build-provenance), logging in to and pushing to ghcr.io, the GitHub release.
#
# Needs root for the Debian packages it installs when missing (shellcheck, docker-registry: a
# registry on loopback only, stopped again if Debian started it), Go for the tools, Java and
# Maven for the build. Tools are cached (~/.cache/microapp-release/bin, ~/.kubeapitest/bin/helm).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cd "$root"
die() { echo "dry-run: ERROR: $*" >&2; exit 1; }
started=$SECONDS
step() { echo "==> [$((SECONDS - started))s] $*" >&2; }

build=true keep=false
for a in "$@"; do
  case "$a" in
    --no-build) build=false ;;
    --keep) keep=true ;;
    *) die "unknown argument '$a' (see the comment at the top of $0)" ;;
  esac
done
version="$(tr -d '[:space:]' < VERSION)"
out="$root/target/release-dry-run"
rm -rf "$out"
mkdir -p "$out"

step "Debian packages: shellcheck, docker-registry"
need=()
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
if [[ ${#need[@]} -gt 0 ]]; then
  [[ "$(id -u)" -eq 0 ]] || die "the dry run needs: sudo apt-get install -y ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Debian starts the registry as a service on :5000; the dry run starts its own on loopback.
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now docker-registry >/dev/null 2>&1 || true; fi
  if command -v service >/dev/null 2>&1; then service docker-registry stop >/dev/null 2>&1 || true; fi
fi

step "tools: helm (e2e/control-plane/versions.env), actionlint, oras, syft, cosign (release/versions.env)"
helm="$("$root/e2e/control-plane/build-helm.sh" | tail -1)"
bin="$("$here/tools.sh" actionlint oras syft cosign | tail -1)"
helm_dir="$(dirname "$helm")"
export PATH="$bin:$helm_dir:$PATH" HELM="$helm" ORAS="$bin/oras" SYFT="$bin/syft" COSIGN="$bin/cosign"

step "shellcheck release/*.sh"
shellcheck -x release/*.sh
step "check-pins.sh --self-test (the workflow checks the real pins against GitHub's tags)"
release/check-pins.sh --self-test
step "actionlint .github/workflows/ (shellcheck on every run: script)"
actionlint -shellcheck "$(command -v shellcheck)" .github/workflows/*.yml

step "version $version everywhere, as a tag v$version would need it"
"$here/version.sh" check --release --tag "v$version"
"$here/notes.sh" "$version" > "$out/notes.md"

operator_jar=operator/target/microapp-operator-all.jar
sidecar_jar=sidecar/target/microapp-sidecar-all.jar
operator_tar=operator/target/microapp-operator-image.tar
sidecar_tar=sidecar/target/microapp-sidecar-image.tar
if $build; then
  step "build: mvn -B -DskipTests -pl operator,sidecar -am package (jars and image archives)"
  mvn -B -q -DskipTests -pl operator,sidecar -am package >"$out/mvn-package.log" 2>&1 \
    || { tail -40 "$out/mvn-package.log" >&2; die "the build failed (log: $out/mvn-package.log)"; }
fi
for f in "$operator_jar" "$sidecar_jar" "$operator_tar" "$sidecar_tar"; do
  [[ -f "$f" ]] || die "$f not found: run without --no-build, or mvn -B -DskipTests package first"
done
step "the built programs: --version, and the sidecar image the operator injects by default"
"$here/version.sh" check --operator-jar "$operator_jar" --sidecar-jar "$sidecar_jar"

step "reproducible: each image built again from its jar gives the same digest"
digest_of() { tar -xOf "$1" index.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["manifests"][0]["digest"])'; }
# The arguments the module's pom gives build-image.sh (its container-image execution), with the
# output moved aside: the same build, run a second time.
pom_image_args() {
  python3 - "$root" "$1" "$2" <<'PY'
import re, sys
root, module, output = sys.argv[1], sys.argv[2], sys.argv[3]
pom = open(f"{root}/{module}/pom.xml", encoding="utf-8").read()
m = re.search(r"<id>container-image</id>.*?<arguments>(.*?)</arguments>", pom, re.S)
if not m:
    sys.exit(f"{module}/pom.xml has no container-image execution")
props = dict(re.findall(r"<([A-Za-z0-9.-]+\.image)>([^<]+)</", pom))
desc = re.search(r"</parent>.*?<description>([^<]*)</description>", pom, re.S)
props.update({"maven.multiModuleProjectDirectory": root,
              "project.build.directory": f"{root}/{module}/target",
              "project.description": desc.group(1) if desc else ""})
args = [re.sub(r"\$\{([^}]+)\}", lambda g: props.get(g.group(1), g.group(0)),
               a.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
        for a in re.findall(r"<argument>(.*?)</argument>", m.group(1), re.S)]
if any("${" in a for a in args):
    sys.exit(f"{module}/pom.xml: unresolved property in {[a for a in args if '${' in a]}")
args[args.index("--output") + 1] = output
print("\0".join(args[1:]), end="")
PY
}
for module in operator sidecar; do
  tar="$module/target/microapp-$module-image.tar"
  again="$out/again-$module.tar"
  mapfile -d '' -t args < <(pom_image_args "$module" "$again")
  [[ ${#args[@]} -gt 4 ]] || die "could not read the image arguments of $module/pom.xml"
  "$root/e2e/images/build-image.sh" "${args[@]}" 2>"$out/again-$module.log" \
    || { cat "$out/again-$module.log" >&2; die "building $module again failed"; }
  [[ "$(digest_of "$again")" == "$(digest_of "$tar")" ]] \
    || die "$module: built again from the same jar the digest is $(digest_of "$again"), the archive has $(digest_of "$tar")"
  echo "    microapp-$module $(digest_of "$tar")" >&2
  rm -f "$again"
done

step "a registry on 127.0.0.1 (docker-registry, storage in $out/registry)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat > "$out/registry.yml" <<EOF
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $out/registry}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
EOF
docker-registry serve "$out/registry.yml" >"$out/registry.log" 2>&1 &
registry_pid=$!
trap 'kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/v2/', timeout=1)" 2>/dev/null && break
  kill -0 "$registry_pid" 2>/dev/null || { cat "$out/registry.log" >&2; die "the registry did not start"; }
  sleep 0.2
done
registry="127.0.0.1:$port/safedefaults"

step "publish.sh: images by digest, chart pinned, packaged, pushed, pulled back"
"$here/publish.sh" --registry "$registry" --plain-http --output "$out/dist" \
  --operator-archive "$operator_tar" --sidecar-archive "$sidecar_tar" 2>"$out/publish.log" \
  || { cat "$out/publish.log" >&2; die "publish.sh failed"; }

step "the README's commands against the published chart: helm show crds, helm template"
crds="$("$helm" show crds "oci://$registry/charts/microapp-operator" --version "$version" --plain-http)"
for crd in microapps.safedefaults.io microapppolicies.safedefaults.io; do
  grep -qE "^  name: \"?$crd\"?\$" <<<"$crds" || die "helm show crds of the published chart lacks $crd"
done
"$helm" template microapp-operator "oci://$registry/charts/microapp-operator" --version "$version" --plain-http \
  -n microapp-system --set ingress.clusterIssuer=letsencrypt-prod >/dev/null

step "sbom.sh: CycloneDX SBOMs of both archives"
"$here/sbom.sh" "$operator_tar" "$out/dist/microapp-operator.cdx.json"
"$here/sbom.sh" "$sidecar_tar" "$out/dist/microapp-sidecar.cdx.json"

step "sign.sh: sign images and chart, attest the SBOMs, verify (throwaway key; CI signs keyless)"
(cd "$out" && COSIGN_PASSWORD="" "$COSIGN" generate-key-pair --output-key-prefix dry-run >/dev/null 2>&1)
COSIGN_PASSWORD="" "$here/sign.sh" --release-env "$out/dist/release.env" --sbom-dir "$out/dist" \
  --key "$out/dry-run" --plain-http 2>"$out/sign.log" || { cat "$out/sign.log" >&2; die "sign.sh failed"; }
tail -1 "$out/sign.log" >&2
# and the check means something: another key's verification must fail
(cd "$out" && COSIGN_PASSWORD="" "$COSIGN" generate-key-pair --output-key-prefix stranger >/dev/null 2>&1)
operator_ref="$(sed -n 's/^OPERATOR_IMAGE=//p' "$out/dist/release.env")"
if "$COSIGN" verify --key "$out/stranger.pub" --insecure-ignore-tlog=true --allow-http-registry=true \
    "$operator_ref" >/dev/null 2>&1; then
  die "cosign verify accepted $operator_ref with a key that never signed it"
fi

kill "$registry_pid" 2>/dev/null || true
wait "$registry_pid" 2>/dev/null || true
trap - EXIT
echo "dry-run: release $version rehearsed in $((SECONDS - started)) s:" >&2
sed 's/^/  /' "$out/dist/release.env" >&2
if $keep; then
  echo "dry-run: output in $out (notes.md, dist/, logs)" >&2
else
  rm -rf "$out"
fi
