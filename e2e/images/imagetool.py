#!/usr/bin/env python3
"""Writes container images without a container engine (Python 3 standard library only).

  imagetool.py image --rootfs DIR --add SRC=/DEST --tag REF --entrypoint '["ARG", ...]' --output FILE.tar
  imagetool.py cacerts --certs DIR --jks FILE --pem FILE [--epoch N]
  imagetool.py strip-module-info JAR

`image` writes one tarball that is both an OCI image layout (oci-layout, index.json, blobs/sha256/)
and a docker-archive (manifest.json naming the same blobs), as `docker save` does since Docker 25:
`docker load`, `skopeo copy docker-archive:` and `skopeo copy oci-archive:` all read it. Two
gzip layers: the shared base (DIR, cached next to it, so both images carry the same base layer
digest) and the application files. Everything is reproducible: entries sorted, owner 0:0 with no
names, mtime 0 (or SOURCE_DATE_EPOCH), gzip without name or time, JSON with sorted keys; the same
inputs give the same bytes (with the same zlib under Python's gzip module).

`cacerts` writes Java's truststore (JKS, the format of the JDK's own cacerts; password "changeit")
and a PEM bundle from a directory of *.crt files, deterministically (JDK tools would stamp entries
with the current time).
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import ssl
import stat
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
GZIP_LEVEL = 6


def fail(msg):
    print(f"imagetool: ERROR: {msg}", file=sys.stderr)
    sys.exit(1)


def canonical_json(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class HashingWriter(io.RawIOBase):
    """A write-only stream that hashes and counts what passes through to `out`."""

    def __init__(self, out):
        self.out = out
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self):
        return True

    def tell(self):
        return self.size

    def write(self, b):
        b = bytes(b)
        self.sha.update(b)
        self.size += len(b)
        self.out.write(b)
        return len(b)


# ---- layers -----------------------------------------------------------------------------------------

def tar_info(name, st, epoch, linkname=None):
    ti = tarfile.TarInfo(name)
    ti.mtime = epoch
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    ti.mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISDIR(st.st_mode):
        ti.type = tarfile.DIRTYPE
    elif stat.S_ISLNK(st.st_mode):
        ti.type = tarfile.SYMTYPE
        ti.linkname = linkname
        ti.mode = 0o777
    elif stat.S_ISREG(st.st_mode):
        ti.type = tarfile.REGTYPE
        ti.size = st.st_size
    else:
        fail(f"{name}: only directories, regular files and symbolic links can go into a layer")
    if ti.mode & (stat.S_ISUID | stat.S_ISGID):
        fail(f"{name}: setuid/setgid files are not allowed in the image")
    if not stat.S_ISLNK(st.st_mode) and ti.mode & stat.S_IWOTH and name != "tmp":
        fail(f"{name}: world-writable; only /tmp may be")
    return ti


def walk_sorted(root):
    """Relative paths under root, parents before children, in byte order."""
    paths = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel = os.path.relpath(dirpath, root)
        for n in dirnames + filenames:
            paths.append(n if rel == "." else os.path.join(rel, n))
    return sorted(paths, key=lambda p: p.encode("utf-8"))


def write_layer(entries, out_path, epoch):
    """entries: [(name_in_layer, source_path_or_None_for_dir, lstat)]; returns descriptor fields."""
    with open(out_path, "wb") as raw:
        compressed = HashingWriter(raw)
        with gzip.GzipFile(filename="", mode="wb", compresslevel=GZIP_LEVEL, fileobj=compressed, mtime=0) as gz:
            plain = HashingWriter(gz)
            with tarfile.open(fileobj=plain, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for name, src, st in entries:
                    link = os.readlink(src) if stat.S_ISLNK(st.st_mode) else None
                    ti = tar_info(name, st, epoch, link)
                    if ti.type == tarfile.REGTYPE:
                        with open(src, "rb") as f:
                            tar.addfile(ti, f)
                    else:
                        tar.addfile(ti)
    return {"digest": "sha256:" + compressed.sha.hexdigest(), "size": compressed.size,
            "diff_id": "sha256:" + plain.sha.hexdigest(), "uncompressed": plain.size}


def base_layer(rootfs, epoch):
    """The rootfs as a layer, cached beside it (the rootfs directory never changes once built)."""
    cache_dir = os.path.dirname(os.path.abspath(rootfs))
    blob = os.path.join(cache_dir, f"base-layer-{epoch}.tar.gz")
    meta = blob + ".json"
    if os.path.exists(blob) and os.path.exists(meta):
        with open(meta) as f:
            d = json.load(f)
        if os.path.getsize(blob) == d["size"]:
            return blob, d
    entries = []
    for rel in walk_sorted(rootfs):
        p = os.path.join(rootfs, rel)
        entries.append((rel, p, os.lstat(p)))
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".base-layer-")
    os.close(fd)
    d = write_layer(entries, tmp, epoch)
    os.chmod(tmp, 0o644)
    with open(meta + ".tmp", "w") as f:
        json.dump(d, f)
    os.replace(tmp, blob)
    os.replace(meta + ".tmp", meta)
    return blob, d


def app_layer(adds, out_path, epoch):
    """Files at absolute destinations; their parent directories as 0755 root-owned directories."""
    dir_st = os.stat_result((stat.S_IFDIR | 0o755, 0, 0, 0, 0, 0, 0, 0, 0, 0))
    entries = {}
    for src, dest in adds:
        if not dest.startswith("/") or "/../" in dest + "/" or dest.endswith("/"):
            fail(f"destination {dest!r} must be an absolute file path")
        if not os.path.isfile(src):
            fail(f"{src} not found (build it first)")
        parts = dest.strip("/").split("/")
        for i in range(1, len(parts)):
            entries.setdefault("/".join(parts[:i]), (None, dir_st))
        st = os.stat(src)
        mode = 0o755 if st.st_mode & 0o111 else 0o644
        file_st = os.stat_result((stat.S_IFREG | mode, 0, 0, 0, 0, 0, st.st_size, 0, 0, 0))
        entries["/".join(parts)] = (src, file_st)
    ordered = [(n, entries[n][0], entries[n][1]) for n in sorted(entries, key=lambda p: p.encode("utf-8"))]
    return write_layer(ordered, out_path, epoch)


# ---- the image archive ------------------------------------------------------------------------------

def rfc3339(epoch):
    import datetime
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_image(args):
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    if ":" not in args.tag.rsplit("/", 1)[-1]:
        fail(f"--tag {args.tag!r} needs a tag (name:tag)")
    tag = args.tag.rsplit(":", 1)[1]
    if not os.path.isdir(args.rootfs):
        fail(f"--rootfs {args.rootfs} is not a directory (run e2e/images/build-runtime.sh)")
    adds = []
    for a in args.add:
        src, sep, dest = a.partition("=")
        if not sep:
            fail(f"--add {a!r}: expected SRC=/DEST")
        adds.append((src, dest))

    work = tempfile.mkdtemp(prefix=".image-", dir=os.path.dirname(os.path.abspath(args.output)) or ".")
    try:
        base_blob, base = base_layer(args.rootfs, epoch)
        app_blob = os.path.join(work, "app.tar.gz")
        app = app_layer(adds, app_blob, epoch)
        created = rfc3339(epoch)
        env = list(args.env)
        labels = dict(kv.split("=", 1) for kv in args.label)
        config = {
            "created": created,
            "architecture": "amd64",
            "os": "linux",
            "config": {
                "User": args.user,
                "Env": env,
                "Entrypoint": args.entrypoint,
                "Cmd": args.cmd,
                "WorkingDir": args.workdir,
                "Labels": labels,
                "ExposedPorts": {p if "/" in p else p + "/tcp": {} for p in args.expose},
            },
            "rootfs": {"type": "layers", "diff_ids": [base["diff_id"], app["diff_id"]]},
            "history": [
                {"created": created, "created_by": args.base_history},
                {"created": created, "created_by": "imagetool.py: " + ", ".join(d for _, d in adds)},
            ],
        }
        if not config["config"]["ExposedPorts"]:
            del config["config"]["ExposedPorts"]
        config_bytes = canonical_json(config)
        config_digest = "sha256:" + hashlib.sha256(config_bytes).hexdigest()
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config_bytes)},
            "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": d["digest"], "size": d["size"]} for d in (base, app)],
        }
        manifest_bytes = canonical_json(manifest)
        manifest_digest = "sha256:" + hashlib.sha256(manifest_bytes).hexdigest()
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{
                "mediaType": OCI_MANIFEST, "digest": manifest_digest, "size": len(manifest_bytes),
                "platform": {"architecture": "amd64", "os": "linux"},
                "annotations": {"io.containerd.image.name": args.tag, "org.opencontainers.image.ref.name": tag},
            }],
        }

        def blob_name(digest):
            return "blobs/sha256/" + digest.split(":", 1)[1]

        docker_manifest = [{
            "Config": blob_name(config_digest),
            "RepoTags": [args.tag],
            "Layers": [blob_name(base["digest"]), blob_name(app["digest"])],
        }]
        members = {
            "blobs": None, "blobs/sha256": None,
            blob_name(config_digest): config_bytes,
            blob_name(manifest_digest): manifest_bytes,
            blob_name(base["digest"]): base_blob,
            blob_name(app["digest"]): app_blob,
            "index.json": canonical_json(index),
            "manifest.json": canonical_json(docker_manifest),
            "oci-layout": canonical_json({"imageLayoutVersion": "1.0.0"}),
        }
        tmp_out = os.path.join(work, "image.tar")
        with tarfile.open(tmp_out, "w", format=tarfile.PAX_FORMAT) as tar:
            for name in sorted(members, key=lambda p: p.encode("utf-8")):
                content = members[name]
                ti = tarfile.TarInfo(name)
                ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = epoch, 0, 0, "", ""
                if content is None:
                    ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(ti)
                elif isinstance(content, bytes):
                    ti.mode, ti.size = 0o644, len(content)
                    tar.addfile(ti, io.BytesIO(content))
                else:
                    ti.mode, ti.size = 0o644, os.path.getsize(content)
                    with open(content, "rb") as f:
                        tar.addfile(ti, f)
        os.chmod(tmp_out, 0o644)
        os.replace(tmp_out, args.output)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    mib = 1024 * 1024
    print(f"imagetool: {args.tag} -> {args.output}\n"
          f"imagetool:   manifest {manifest_digest}\n"
          f"imagetool:   base layer {base['digest'][:19]} {base['size'] / mib:.1f} MiB gzip "
          f"({base['uncompressed'] / mib:.1f} MiB), app layer {app['digest'][:19]} {app['size'] / mib:.1f} MiB gzip",
          file=sys.stderr)


# ---- cacerts ----------------------------------------------------------------------------------------

def java_utf(s):
    b = s.encode("utf-8")
    if len(b) > 0xFFFF or "\0" in s:
        fail(f"alias {s!r} cannot be written")
    return struct.pack(">H", len(b)) + b


def write_jks(certs, path, epoch, password="changeit"):
    """sun.security.provider.JavaKeyStore's format, version 2, trusted certificate entries only."""
    body = bytearray(struct.pack(">III", 0xFEEDFEED, 2, len(certs)))
    for alias, der in certs:
        body += struct.pack(">I", 2) + java_utf(alias) + struct.pack(">q", epoch * 1000)
        body += java_utf("X.509") + struct.pack(">I", len(der)) + der
    md = hashlib.sha1()
    md.update(password.encode("utf-16-be"))
    md.update(b"Mighty Aphrodite")
    md.update(bytes(body))
    with open(path, "wb") as f:
        f.write(bytes(body) + md.digest())


def cacerts(args):
    names = sorted(n for n in os.listdir(args.certs) if n.endswith(".crt"))
    if not names:
        fail(f"no *.crt files in {args.certs}")
    certs, pems, aliases = [], [], set()
    for n in names:
        with open(os.path.join(args.certs, n), encoding="ascii") as f:
            pem = f.read()
        if pem.count("-----BEGIN CERTIFICATE-----") != 1:
            fail(f"{n}: expected exactly one PEM certificate")
        der = ssl.PEM_cert_to_DER_cert(pem)
        alias = "debian:" + n[:-len(".crt")].lower() + ".pem"
        if alias in aliases:
            fail(f"duplicate alias {alias}")
        aliases.add(alias)
        certs.append((alias, der))
        pems.append(ssl.DER_cert_to_PEM_cert(der))
    write_jks(certs, args.jks, args.epoch)
    with open(args.pem, "w", encoding="ascii") as f:
        f.write("".join(pems))
    print(f"imagetool: {len(certs)} CA certificates -> {args.jks}, {args.pem}", file=sys.stderr)


# ---- strip-module-info --------------------------------------------------------------------------------

def strip_module_info(args):
    """Removes module-info.class entries (also versioned ones) from a jar, in place."""
    with zipfile.ZipFile(args.jar) as z:
        victims = [n for n in z.namelist() if n == "module-info.class" or
                   (n.startswith("META-INF/versions/") and n.endswith("/module-info.class"))]
    if not victims:
        return
    if shutil.which("zip"):
        subprocess.run(["zip", "-q", "-d", args.jar] + victims, check=True)
        return
    tmp = args.jar + ".tmp"
    with zipfile.ZipFile(args.jar) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename not in victims:
                zout.writestr(info, zin.read(info.filename))
    os.replace(tmp, args.jar)


def json_list(text):
    value = json.loads(text)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise argparse.ArgumentTypeError(f"expected a JSON array of strings, got {text!r}")
    return value


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    i = sub.add_parser("image", help="write an image archive")
    i.add_argument("--rootfs", required=True)
    i.add_argument("--add", action="append", default=[], help="SRC=/DEST, a file of the app layer")
    i.add_argument("--tag", required=True)
    i.add_argument("--entrypoint", type=json_list, required=True, help='JSON array, e.g. ["/opt/java/bin/java", "-jar", "/app.jar"]')
    i.add_argument("--cmd", type=json_list, default=[], help="JSON array")
    i.add_argument("--env", action="append", default=[])
    i.add_argument("--label", action="append", default=[])
    i.add_argument("--expose", action="append", default=[])
    i.add_argument("--user", default="10001:10001")
    i.add_argument("--workdir", default="/")
    i.add_argument("--base-history", default="e2e/images/build-runtime.sh")
    i.add_argument("--output", required=True)
    c = sub.add_parser("cacerts", help="write a JKS truststore and a PEM bundle")
    c.add_argument("--certs", required=True)
    c.add_argument("--jks", required=True)
    c.add_argument("--pem", required=True)
    c.add_argument("--epoch", type=int, default=0)
    s = sub.add_parser("strip-module-info", help="remove module-info.class entries from a jar")
    s.add_argument("jar")
    args = p.parse_args()
    {"image": build_image, "cacerts": cacerts, "strip-module-info": strip_module_info}[args.command](args)


if __name__ == "__main__":
    main()
