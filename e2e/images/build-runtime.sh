#!/usr/bin/env bash
# Assembles the base root filesystem both container images share, without a container engine and
# without pulling a base image: a jlink'd Java runtime made from the local JDK 17, the shared
# libraries it links against (from Debian's packages, fetched with apt-get download), CA
# certificates (from Debian's ca-certificates package), /etc/passwd and /etc/group with the
# non-root user 10001, and /tmp (1777).
#
#   e2e/images/build-runtime.sh [--check-jar JAR]...
#
# Prints the rootfs directory as the last line on stdout (everything else goes to stderr). The
# result is cached under $MICROAPP_IMAGES_CACHE (default ~/.cache/microapp-images) in a directory
# named after a hash of every input (this script, imagetool.py, the module list, the JDK build, the
# Debian package versions), so a second run with the same inputs does nothing; .debs are cached in
# debs/ and checked against apt's SHA256 before use.
#
# --check-jar JAR: jdeps lists the JDK modules JAR needs; the run fails, naming them, if one is not
# in MODULES below. Each Maven module checks its own shaded jar this way.
#
# Environment: MICROAPP_IMAGE_JDK (default /usr/lib/jvm/java-17-openjdk-amd64, must have jmods/
# and be >= 17.0.9 for -XX:TrimNativeHeapInterval), MICROAPP_IMAGES_CACHE, SOURCE_DATE_EPOCH
# (timestamps inside the rootfs, default 0).
set -euo pipefail
umask 022
export LC_ALL=C

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jdk="${MICROAPP_IMAGE_JDK:-/usr/lib/jvm/java-17-openjdk-amd64}"
cache="${MICROAPP_IMAGES_CACHE:-$HOME/.cache/microapp-images}"
epoch="${SOURCE_DATE_EPOCH:-0}"

# JDK modules in the runtime: the union of `jdeps --print-module-deps --ignore-missing-deps` over
# both shaded jars (checked at every build with --check-jar), plus what jdeps cannot see:
#   jdk.crypto.ec  - the SunEC provider: ECDHE key exchange and EC certificates in TLS (the OIDC issuer)
#   jdk.zipfs      - not needed; jdk.localedata - not needed (English messages, ROOT locale data)
MODULES=(
  java.base java.compiler java.desktop java.naming java.net.http java.security.jgss java.sql
  jdk.httpserver jdk.jfr jdk.management jdk.net jdk.unsupported
  jdk.crypto.ec
)
# java.desktop is there only for java.beans (Jackson, SnakeYAML, Micrometer introspect with it);
# its native libraries (AWT, X11, fonts, sound) are left out: they link against X11/ALSA/FreeType,
# which a headless server never loads and this image does not carry.
JLINK_EXCLUDE='glob:/java.desktop/**.so'
# Packages whose files always go in: the dynamic loader and libc (libc6), the C.UTF-8 locale (from
# libc-bin, only that: with LANG=C.UTF-8 Java 17 reads and writes non-ASCII file names and output;
# under the POSIX locale it cannot), the CA certificates. Other packages are added only when ldd
# shows the runtime links against one of their libraries.
ALWAYS_PACKAGES=(libc6 libc-bin ca-certificates)
MIN_JAVA=17.0.9

log() { echo "build-runtime: $*" >&2; }
die() { echo "build-runtime: ERROR: $*" >&2; exit 1; }

check_jars=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --check-jar) [[ $# -ge 2 ]] || die "--check-jar needs a path"; check_jars+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,25p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

for tool in dpkg-deb apt-get apt-cache dpkg python3 sha256sum flock setarch; do
  command -v "$tool" >/dev/null 2>&1 \
    || die "'$tool' not found: the images are built on Debian/Ubuntu with apt, dpkg and python3 (skip them with mvn -Dimages.skip)"
done
[[ -x "$jdk/bin/jlink" && -x "$jdk/bin/jdeps" ]] \
  || die "no JDK at $jdk (set MICROAPP_IMAGE_JDK, or: apt-get install openjdk-17-jdk-headless)"
[[ -f "$jdk/jmods/java.base.jmod" ]] \
  || die "$jdk has no jmods/ to jlink from: install them (Debian 12: apt-get install openjdk-17-jdk-headless; Ubuntu: apt-get install openjdk-17-jmods)"
[[ "$(uname -m)" == x86_64 ]] || die "the images are linux/amd64; this machine is $(uname -m)"

# ---- the JDK: 17, and new enough for the sidecar's flags -----------------------------------------
java_version="$(sed -n 's/^JAVA_VERSION="\(.*\)"$/\1/p' "$jdk/release")"
jdk_build="$(sed -n 's/^\(JAVA_RUNTIME_VERSION\|IMPLEMENTOR_VERSION\|IMPLEMENTOR\)="\(.*\)"$/\2/p' "$jdk/release" | tr '\n' ' ')"
[[ "$java_version" == 17.* ]] || die "$jdk is Java $java_version; the images need Java 17"
if [[ "$(printf '%s\n%s\n' "$MIN_JAVA" "$java_version" | sort -V | head -1)" != "$MIN_JAVA" ]]; then
  die "$jdk is $java_version; the sidecar's -XX:TrimNativeHeapInterval needs >= $MIN_JAVA (apt-get install --only-upgrade openjdk-17-jdk-headless openjdk-17-jmods)"
fi

# ---- --check-jar: every module a jar needs is in the runtime ---------------------------------------
if [[ ${#check_jars[@]} -gt 0 ]]; then
  tmp_jdeps="$(mktemp -d)"
  trap 'rm -rf "$tmp_jdeps"' EXIT
  for jar in "${check_jars[@]}"; do
    [[ -f "$jar" ]] || die "jar to check not found: $jar (build it first: mvn -pl operator,sidecar -am package)"
    # A shaded jar may carry a dependency's META-INF/versions/N/module-info.class; jdeps would then
    # analyse the whole jar as that one module. Check a copy without them.
    copy="$tmp_jdeps/$(basename "$jar")"
    cp "$jar" "$copy"
    python3 "$here/imagetool.py" strip-module-info "$copy"
    needed="$("$jdk/bin/jdeps" --print-module-deps --ignore-missing-deps --multi-release 17 "$copy")" \
      || die "jdeps failed on $jar"
    missing=()
    for m in ${needed//,/ }; do
      [[ " ${MODULES[*]} " == *" $m "* ]] || missing+=("$m")
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
      die "$(basename "$jar") needs JDK modules the runtime lacks: ${missing[*]}; add them to MODULES in $0"
    fi
    log "$(basename "$jar") needs $needed: all in the runtime"
  done
fi

# ---- the Debian packages' versions (part of the cache key) ----------------------------------------
candidate() {  # prints "version filename sha256" of the package apt would install
  apt-cache show --no-all-versions "$1" 2>/dev/null | awk '
    /^Version: /{v=$2} /^Filename: /{f=$2} /^SHA256: /{s=$2} END{if (v && f && s) print v, f, s}'
}
declare -A pkg_version pkg_file pkg_sha
# gcc-12-base: only its copyright file (libgcc-s1's and libstdc++6's doc directories link to it)
known_packages=(libc6 libc-bin zlib1g libgcc-s1 libstdc++6 ca-certificates gcc-12-base)
# a fresh machine may have no package lists yet: as root, fetch them once (as install-test-deps.sh does)
if [[ "$(id -u)" -eq 0 && -z "$(candidate libc6)" ]]; then
  log "apt has no package lists: apt-get update"
  apt-get update -qq >&2 || die "apt-get update failed (no network to the Debian mirror?)"
fi
for p in "${known_packages[@]}"; do
  read -r v f s < <(candidate "$p") \
    || die "apt knows no package '$p'. Run 'apt-get update' (as root) so apt has package lists, then retry"
  pkg_version[$p]="$v"; pkg_file[$p]="$f"; pkg_sha[$p]="$s"
done

key_input="$(
  sha256sum "${BASH_SOURCE[0]}" "$here/imagetool.py" | cut -d' ' -f1
  echo "modules ${MODULES[*]} exclude $JLINK_EXCLUDE epoch $epoch"
  echo "jdk $java_version $jdk_build $(sha256sum "$jdk/jmods/java.base.jmod" | cut -d' ' -f1)"
  for p in "${known_packages[@]}"; do echo "$p ${pkg_version[$p]} ${pkg_sha[$p]}"; done
)"
key="$(printf '%s\n' "$key_input" | sha256sum | cut -c1-16)"
out="$cache/runtime-$key"
if [[ -f "$out/.complete" ]]; then
  log "up to date: $out"
  echo "$out/rootfs"
  exit 0
fi

mkdir -p "$cache/debs"
exec 9>"$cache/.lock"
flock 9   # one build at a time; a concurrent build of the same key is reused below
if [[ -f "$out/.complete" ]]; then
  echo "$out/rootfs"
  exit 0
fi
work="$(mktemp -d "$cache/.build-XXXXXX")"
trap 'rm -rf "$work" "${tmp_jdeps:-}"' EXIT
root="$work/rootfs"
mkdir -p "$root"
started=$SECONDS

# ---- 1. the Java runtime ----------------------------------------------------------------------------
log "jlink $java_version ($jdk_build) with ${MODULES[*]}"
"$jdk/bin/jlink" --module-path "$jdk/jmods" --add-modules "$(IFS=,; echo "${MODULES[*]}")" \
  --strip-debug --no-header-files --no-man-pages --exclude-files="$JLINK_EXCLUDE" \
  --output "$root/opt/java" >&2
java="$root/opt/java/bin/java"
# The class-data sharing archive (faster start, the JDK classes' metadata shared read-only). Dumped
# with SerialGC so no Java heap objects are archived: JDK 17 writes those non-deterministically
# (jlink --generate-cds-archive does), and SerialGC, which the sidecar runs, cannot map them anyway.
# The archive's layout follows the addresses and the order in which the dumping JVM meets classes,
# so the dump runs without address-space randomisation (setarch -R) and without the JIT (-Xint: its
# compiler threads load and link classes concurrently). Measured on one runtime, archive removed: 2
# distinct archives in 4 dumps with -Xint alone, 3 in 5 with neither; 1 in 16 with both. The archive
# maps the same with the JIT on and randomisation on at run time. The header also records
# lib/modules' mtime (not checked at run time for the runtime image), so the runtime gets its final
# timestamps first.
find "$root/opt/java" -exec touch -h -d "@$epoch" {} +
setarch "$(uname -m)" -R "$java" -Xint -XX:+UseSerialGC -Xshare:dump -Xlog:cds=off -Xlog:cds+heap=off >/dev/null \
  || die "dumping the CDS archive failed"

# ---- 2. the shared libraries it links against, from Debian's packages --------------------------------
elf_files() {  # every dynamically linked ELF file under $1
  find "$1" -type f \( -name '*.so' -o -name '*.so.*' -o -perm -u+x \) -print0 \
    | while IFS= read -r -d '' f; do
        head -c 4 "$f" 2>/dev/null | grep -q $'^\x7fELF' && echo "$f"
      done | sort
}
jvm_libs="$root/opt/java/lib:$root/opt/java/lib/server"
# sonames the runtime needs from the system (resolved by the host's loader for now)
declare -A needed_packages=()
for p in "${ALWAYS_PACKAGES[@]}"; do needed_packages[$p]=1; done
while read -r lib path; do
  [[ "$path" == "$root"/* ]] && continue
  [[ "$path" == "not" ]] && die "the runtime needs $lib, which this machine does not have either"
  owner=""
  for candidate_path in "$path" "$(readlink -f "$path")" "${path#/usr}" "/usr$path"; do
    owner="$(dpkg -S "$candidate_path" 2>/dev/null | head -1 | cut -d: -f1)" && [[ -n "$owner" ]] && break
  done
  [[ -n "$owner" ]] || owner="$(dpkg -S "*/$lib" 2>/dev/null | head -1 | cut -d: -f1)"
  [[ -n "$owner" ]] || die "no Debian package owns $path ($lib), which the runtime links against"
  [[ -n "${pkg_version[$owner]:-}" ]] \
    || die "the runtime links against $lib from package '$owner', which this script does not fetch; add it to known_packages"
  needed_packages[$owner]=1
done < <(elf_files "$root/opt/java" | while read -r f; do
           LD_LIBRARY_PATH="$jvm_libs" ldd "$f" 2>/dev/null \
             | awk '$2 == "=>" {print $1, $3} $1 ~ /^\// {print $1, $1}'
         done | sort -u)
packages=("${!needed_packages[@]}")
IFS=$'\n' packages=($(sort <<<"${packages[*]}")); unset IFS
log "Debian packages: $(for p in "${packages[@]}"; do printf '%s=%s ' "$p" "${pkg_version[$p]}"; done)"

fetch() {  # prints the path of the verified .deb of package $1 in the cache
  local p="$1" file="$cache/debs/$(basename "${pkg_file[$1]}")"
  if [[ -f "$file" ]] && [[ "$(sha256sum "$file" | cut -d' ' -f1)" == "${pkg_sha[$p]}" ]]; then
    echo "$file"; return
  fi
  local dl; dl="$(mktemp -d "$work/dl-XXXXXX")"
  chmod 0777 "$dl"   # apt-get download drops to the _apt user when it can
  (cd "$dl" && apt-get download -q "$p=${pkg_version[$p]}" >&2 2>"$dl.err") \
    || { cat "$dl.err" >&2; die "apt-get download $p=${pkg_version[$p]} failed (no network to the Debian mirror? stale lists: apt-get update)"; }
  local got; got="$(find "$dl" -name '*.deb' | head -1)"
  [[ -n "$got" && "$(sha256sum "$got" | cut -d' ' -f1)" == "${pkg_sha[$p]}" ]] \
    || die "downloaded $p does not match apt's SHA256 ${pkg_sha[$p]}"
  mv "$got" "$file"
  echo "$file"
}
mkdir -p "$work/debs"
for p in "${packages[@]}"; do
  deb="$(fetch "$p")"
  dpkg-deb -x "$deb" "$work/debs/$p"
  mkdir -p "$root/var/lib/dpkg/status.d" "$root/usr/share/doc/$p"
  # what is installed, for scanners (Trivy, Grype read status.d like distroless images have it)
  { dpkg-deb -f "$deb"; echo "Status: install ok installed"; } > "$root/var/lib/dpkg/status.d/$p"
  # the licence, also when the package's doc directory is a link to another package's
  doc="$work/debs/$p/usr/share/doc/$p"
  if [[ -L "$doc" ]]; then
    other="$(basename "$(readlink "$doc")")"
    [[ -n "${pkg_version[$other]:-}" ]] || die "$p's copyright is in package '$other'; add it to known_packages"
    if [[ ! -d "$work/debs/$other" ]]; then
      other_deb="$(fetch "$other")"
      dpkg-deb -x "$other_deb" "$work/debs/$other"
    fi
    doc="$work/debs/$other/usr/share/doc/$other"
  fi
  [[ -f "$doc/copyright" ]] || die "package $p has no copyright file"
  cp "$doc/copyright" "$root/usr/share/doc/$p/copyright"
  # shared libraries only: no binaries, gconv modules, locales, docs or maintainer scripts, and not
  # glibc's LD_PRELOAD debugging and profiling helpers
  for d in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib64; do
    src="$work/debs/$p/$d"
    [[ -d "$src" ]] || continue
    mkdir -p "$root/$d"
    find "$src" -maxdepth 1 \( -type f -o -type l \) \( -name '*.so' -o -name '*.so.*' \) \
      ! -name 'libmemusage.so' ! -name 'libpcprofile.so' ! -name 'libc_malloc_debug.so.*' ! -name 'libthread_db.so.*' \
      -exec cp -P -t "$root/$d" {} +
  done
done
[[ -L "$root/lib64/ld-linux-x86-64.so.2" && -f "$root$(readlink "$root/lib64/ld-linux-x86-64.so.2")" ]] \
  || die "libc6 did not provide /lib64/ld-linux-x86-64.so.2 (the programs' interpreter) inside the rootfs"
locale="$work/debs/libc-bin/usr/lib/locale/C.utf8"
[[ -f "$locale/LC_CTYPE" ]] || die "libc-bin has no usr/lib/locale/C.utf8"
mkdir -p "$root/usr/lib/locale"
cp -R "$locale" "$root/usr/lib/locale/"

# ---- 3. CA certificates -------------------------------------------------------------------------------
# Java's truststore as a real file (the JDK's own is a symlink into the build machine's /etc/ssl on
# Debian), written from Debian's Mozilla bundle, not from this machine's /etc/ssl (which may hold
# local CAs); plus the PEM bundle at the usual path.
mozilla="$work/debs/ca-certificates/usr/share/ca-certificates/mozilla"
[[ -d "$mozilla" ]] || die "the ca-certificates package has no usr/share/ca-certificates/mozilla"
rm -f "$root/opt/java/lib/security/cacerts"
mkdir -p "$root/etc/ssl/certs"
python3 "$here/imagetool.py" cacerts --certs "$mozilla" --epoch "$epoch" \
  --jks "$root/opt/java/lib/security/cacerts" --pem "$root/etc/ssl/certs/ca-certificates.crt" >&2

# ---- 4. users, name service, /tmp, mount points -------------------------------------------------------
mkdir -p "$root/etc" "$root/tmp" "$root/proc" "$root/sys" "$root/dev"
cat > "$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:10001:10001:nonroot:/nonexistent:/sbin/nologin
EOF
cat > "$root/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
nonroot:x:10001:
EOF
# glibc's defaults without this file try DNS before /etc/hosts
echo "hosts: files dns" > "$root/etc/nsswitch.conf"

# ---- 5. permissions and timestamps: root-owned (in the layer), world-readable, only /tmp writable -----
find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f -perm /0111 -exec chmod 0755 {} +
find "$root" -type f ! -perm /0111 -exec chmod 0644 {} +
chmod 1777 "$root/tmp"
find "$root" -exec touch -h -d "@$epoch" {} +

# ---- 6. checks: every library resolves inside the rootfs, and the runtime runs ---------------------------
# The rootfs's own loader lists each ELF file's libraries with the rootfs's library directories
# first; anything it finds elsewhere (the host's /lib) or not at all is missing from the image.
loader="$root/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
libpath="$root/opt/java/lib:$root/opt/java/lib/server:$root/lib/x86_64-linux-gnu:$root/usr/lib/x86_64-linux-gnu"
problems=()
checked=0
while read -r f; do
  checked=$((checked + 1))
  listing="$("$loader" --inhibit-cache --library-path "$libpath" --list "$f" 2>&1)" \
    || { problems+=("${f#$root}: $listing"); continue; }
  while read -r lib arrow path _; do
    if [[ "$arrow" != "=>" ]]; then continue; fi
    if [[ "$path" == "not" ]]; then problems+=("${f#$root} needs $lib: not found"); continue; fi
    resolved="$(readlink -f "$path")"
    [[ "$resolved" == "$root"/* ]] || problems+=("${f#$root} needs $lib: only on this machine ($path)")
  done <<<"$listing"
done < <(elf_files "$root")
if [[ ${#problems[@]} -gt 0 ]]; then
  printf '  %s\n' "${problems[@]}" >&2
  die "libraries missing from the rootfs (above)"
fi
log "checked $checked ELF files: every library resolves inside the rootfs"
if [[ "$(id -u)" -eq 0 ]] && command -v chroot >/dev/null 2>&1 && command -v unshare >/dev/null 2>&1; then
  # Inside the rootfs, as the image's user: its loader, libc, CDS archive, the sidecar's trim flag.
  # /proc and /dev are mounted as a container runtime would (the loader finds $ORIGIN through
  # /proc/self/exe), in a private mount namespace that vanishes with the process.
  # /tmp is a tmpfs there, as the pods' emptyDir: nothing the JVM writes may end up in the image.
  unshare --mount --fork -- sh -c 'mount -t proc proc "$0/proc" && mount --rbind /dev "$0/dev" &&
      mount -t tmpfs -o mode=1777 tmpfs "$0/tmp" &&
      exec chroot --userspec=10001:10001 "$0" /opt/java/bin/java -Xshare:on -XX:TrimNativeHeapInterval=2000 \
        -XX:+UseSerialGC -version' "$root" >/dev/null 2>"$work/smoke.err" \
    || { cat "$work/smoke.err" >&2; die "the runtime does not start inside the rootfs (above)"; }
  [[ -z "$(find "$root/tmp" "$root/proc" "$root/dev" "$root/sys" -mindepth 1 -print -quit)" ]] \
    || die "running java left files in the rootfs: $(find "$root/tmp" "$root/proc" "$root/dev" "$root/sys" -mindepth 1 | head -3)"
  log "java -version runs inside the rootfs as 10001:10001"
else
  log "not root: skipped running java inside the rootfs (ContainerImageIT does it)"
fi

# ---- done: publish atomically, drop old runtimes -----------------------------------------------------------
rm -rf "$work/debs" "$work"/dl-* "$work/smoke.err"
printf '%s\n' "$key_input" > "$work/inputs.txt"
printf '%s\n' "${packages[@]}" > "$work/packages.txt"
sed -n 's/^JAVA_RUNTIME_VERSION="\(.*\)"$/\1/p' "$jdk/release" > "$work/java-version.txt"
touch "$work/.complete"
rm -rf "$out"
mv "$work" "$out"
chmod 0755 "$out"
# keep the three newest runtimes
ls -1dt "$cache"/runtime-* 2>/dev/null | tail -n +4 | while read -r old; do rm -rf "$old"; done
log "built $out in $((SECONDS - started)) s ($(du -sh "$out/rootfs" | cut -f1))"
echo "$out/rootfs"
