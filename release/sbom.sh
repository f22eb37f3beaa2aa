#!/usr/bin/env bash
# Writes the CycloneDX SBOM of an image archive, read by syft from the archive itself (what is
# pushed, not the build tree), and checks it lists what the image is made of.
#
#   release/sbom.sh ARCHIVE OUT.cdx.json
#
# The image records its parts for scanners: the Debian packages of the base in
# /var/lib/dpkg/status.d/ (e2e/images/build-runtime.sh), the jlink'd Java runtime (its release
# file), and the pom.properties of every jar shaded into the application. The check requires the
# runtime, Debian's libc6 and the project's own jar, so an SBOM that silently lost a layer fails.
# syft from PATH or $SYFT (release/tools.sh syft).
set -euo pipefail
die() { echo "sbom: ERROR: $*" >&2; exit 1; }
[[ $# -eq 2 ]] || die "usage: release/sbom.sh ARCHIVE OUT.cdx.json"
archive="$1" out="$2"
[[ -f "$archive" ]] || die "$archive not found"
syft="${SYFT:-$(command -v syft || true)}"
[[ -x "$syft" ]] || die "syft not found: release/tools.sh syft, then put it on PATH or set SYFT"

SYFT_CHECK_FOR_APP_UPDATE=false "$syft" scan "oci-archive:$archive" -o "cyclonedx-json=$out" -q
python3 - "$out" "$archive" <<'PY'
import json, sys
path, archive = sys.argv[1], sys.argv[2]
bom = json.load(open(path))
if bom.get("bomFormat") != "CycloneDX":
    sys.exit(f"sbom: ERROR: {path} is not a CycloneDX document")
components = bom.get("components", [])
names = {c.get("name") for c in components}
maven = [c for c in components if str(c.get("purl", "")).startswith("pkg:maven/")]
own = [c for c in maven if str(c.get("purl", "")).startswith("pkg:maven/io.safedefaults/")]
missing = [what for what, ok in (("the Java runtime (openjdk)", "openjdk" in names),
                                 ("Debian's libc6", "libc6" in names),
                                 ("the project's own jar (pkg:maven/io.safedefaults/...)", bool(own)))
           if not ok]
if missing:
    sys.exit(f"sbom: ERROR: the SBOM of {archive} lacks {', '.join(missing)}")
print(f"sbom: {path}: {len(components)} components, {len(maven)} Maven artifacts", file=sys.stderr)
PY
