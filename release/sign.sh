#!/usr/bin/env bash
# Signs what release/publish.sh pushed, attaches each image's SBOM as a signed attestation, and
# verifies all of it the way a user would (README, "Verify what you install").
#
#   release/sign.sh --release-env DIR/release.env --sbom-dir DIR --identity URL      # keyless (CI)
#   release/sign.sh --release-env DIR/release.env --sbom-dir DIR --key PREFIX --plain-http   # dry run
#
# Keyless (the release workflow): cosign takes the workflow's OIDC token (id-token: write), gets a
# short-lived certificate from Sigstore's Fulcio naming the workflow, and records the signature in
# the Rekor transparency log; verification then requires exactly that workflow identity (--identity,
# e.g. https://github.com/safedefaults/microapp-operator/.github/workflows/release.yml@refs/tags/v0.1.0)
# and GitHub's OIDC issuer. With --key (the dry run, which has neither the token nor Sigstore's
# services): the same cosign commands with PREFIX.key and PREFIX.pub and no transparency log.
#
# Signs by digest only (OPERATOR_IMAGE, SIDECAR_IMAGE and the chart, CHART@CHART_DIGEST), never a
# tag, so a signature always belongs to the bytes that were checked. SBOMs: DIR/microapp-operator.cdx.json
# and DIR/microapp-sidecar.cdx.json (release/sbom.sh), attested as predicate type cyclonedx.
# cosign from PATH or $COSIGN (release/tools.sh cosign).
set -euo pipefail
die() { echo "sign: ERROR: $*" >&2; exit 1; }
log() { echo "sign: $*" >&2; }

release_env="" sbom_dir="" identity="" key="" plain_http=false
while [[ $# -gt 0 ]]; do
  case "$1" in
    --plain-http) plain_http=true; shift; continue ;;
  esac
  [[ $# -ge 2 ]] || die "$1 needs a value"
  case "$1" in
    --release-env) release_env="$2" ;;
    --sbom-dir) sbom_dir="$2" ;;
    --identity) identity="$2" ;;
    --key) key="$2" ;;
    *) die "unknown argument '$1' (see the comment at the top of $0)" ;;
  esac
  shift 2
done
[[ -f "$release_env" ]] || die "--release-env: '$release_env' not found (release/publish.sh writes it)"
[[ -d "$sbom_dir" ]] || die "--sbom-dir: '$sbom_dir' is not a directory"
[[ -n "$identity" || -n "$key" ]] || die "keyless signing needs --identity (the workflow's certificate identity), or give --key"
[[ -z "$identity" || -z "$key" ]] || die "--identity and --key exclude each other"
cosign="${COSIGN:-$(command -v cosign || true)}"
[[ -x "$cosign" ]] || die "cosign not found: release/tools.sh cosign, then put it on PATH or set COSIGN"

# release.env holds KEY=VALUE lines written by publish.sh; read them without sourcing.
get() { sed -n "s/^$1=//p" "$release_env" | head -1; }
operator="$(get OPERATOR_IMAGE)" sidecar="$(get SIDECAR_IMAGE)"
chart="$(get CHART)@$(get CHART_DIGEST)"
chart="${chart#oci://}"
for ref in "$operator" "$sidecar" "$chart"; do
  [[ "$ref" =~ ^[a-z0-9.:-]+(/[a-z0-9._-]+)+@sha256:[a-f0-9]{64}$ ]] || die "$release_env: '$ref' is not a reference by digest"
done

common=()
if $plain_http; then
  [[ "$operator" =~ ^(127\.[0-9.]+|localhost)(:[0-9]+)?/ ]] || die "--plain-http is for a registry on this machine only"
  common+=(--allow-http-registry=true)
fi
sign_opts=(--yes) verify_opts=()
if [[ -n "$key" ]]; then
  [[ -f "$key.key" && -f "$key.pub" ]] || die "--key $key: $key.key and $key.pub are needed (cosign generate-key-pair)"
  sign_opts+=(--key "$key.key" --tlog-upload=false)
  verify_opts+=(--key "$key.pub" --insecure-ignore-tlog=true)
else
  verify_opts+=(--certificate-identity "$identity" --certificate-oidc-issuer https://token.actions.githubusercontent.com)
fi

for ref in "$operator" "$sidecar" "$chart"; do
  log "signing $ref"
  "$cosign" sign "${common[@]}" "${sign_opts[@]}" "$ref" >&2
done
for pair in "microapp-operator=$operator" "microapp-sidecar=$sidecar"; do
  sbom="$sbom_dir/${pair%%=*}.cdx.json"
  [[ -f "$sbom" ]] || die "$sbom not found (release/sbom.sh)"
  log "attesting the SBOM of ${pair#*=}"
  "$cosign" attest "${common[@]}" "${sign_opts[@]}" --type cyclonedx --predicate "$sbom" "${pair#*=}" >&2
done

# What a user runs before installing; any failure stops the release.
for ref in "$operator" "$sidecar" "$chart"; do
  "$cosign" verify "${common[@]}" "${verify_opts[@]}" "$ref" >/dev/null 2>&1 \
    || { "$cosign" verify "${common[@]}" "${verify_opts[@]}" "$ref" >&2 || true; die "cosign verify $ref failed"; }
done
for ref in "$operator" "$sidecar"; do
  "$cosign" verify-attestation "${common[@]}" "${verify_opts[@]}" --type cyclonedx "$ref" >/dev/null 2>&1 \
    || die "cosign verify-attestation --type cyclonedx $ref failed"
done
log "signed and verified: $operator, $sidecar, $chart (SBOM attestations on both images)"
