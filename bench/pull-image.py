#!/usr/bin/env python3
"""Writes the OCI layout bench/pull.sh pushes to its registry: 6 gzip layers, about 50 MiB of
files before compression, mixed the way a distribution image is (many small text-like files,
a few large binaries, middling files of partly compressible data, symlinks, directories, a
whiteout or two), deterministic so every run pulls the same bytes.

  pull-image.py DIR TAG
"""
import gzip, hashlib, io, json, os, random, sys, tarfile

WORDS = ("the of and to in is for on that with as by this from at be are or an it not which "
         "config service daemon library module kernel socket buffer header option value path").split()


def text(rng, n):
    out = []
    size = 0
    while size < n:
        w = rng.choice(WORDS)
        out.append(w)
        size += len(w) + 1
    return (" ".join(out)[:n]).encode()


def mixed(rng, n):
    """About half compressible: runs of text between runs of random bytes."""
    out = bytearray()
    while len(out) < n:
        k = rng.randint(256, 4096)
        out += rng.randbytes(k) if rng.random() < 0.5 else text(rng, k)
    return bytes(out[:n])


def layer_entries(i, rng):
    e = []  # (name, type, data, mode, link)
    d = lambda p, mode=0o755: e.append((p, tarfile.DIRTYPE, b"", mode, ""))
    f = lambda p, data, mode=0o644: e.append((p, tarfile.REGTYPE, data, mode, ""))
    s = lambda p, target: e.append((p, tarfile.SYMTYPE, b"", 0o777, target))
    if i == 0:  # a base system: many small text files
        for top in ("etc", "usr", "usr/share", "usr/share/doc", "usr/lib"):
            d(top)
        for k in range(1500):
            sub = "usr/share/doc/pkg%03d" % (k // 10)
            if k % 10 == 0:
                d(sub)
            f("%s/file%d.txt" % (sub, k), text(rng, rng.randint(1024, 7168)))
        for k in range(60):
            f("etc/conf%d" % k, text(rng, rng.randint(100, 2000)))
    elif i == 1:  # large binaries
        d("usr"); d("usr/bin")
        for k in range(5):
            f("usr/bin/tool%d" % k, rng.randbytes(2 << 20), 0o755)
    elif i == 2:  # libraries: middling, partly compressible
        d("usr"); d("usr/lib"); d("usr/lib/x86_64-linux-gnu")
        for k in range(800):
            f("usr/lib/x86_64-linux-gnu/lib%d.so.1" % k, mixed(rng, rng.randint(512, 24 << 10)), 0o644)
            if k % 4 == 0:
                s("usr/lib/x86_64-linux-gnu/lib%d.so" % k, "lib%d.so.1" % k)
    elif i == 3:  # logs and data: large compressible files
        d("var"); d("var/log"); d("srv")
        for k in range(5):
            f("var/log/log%d" % k, text(rng, 2 << 20))
    elif i == 4:  # an application: random data in mid-size files
        d("opt"); d("opt/app"); d("opt/app/assets")
        for k in range(200):
            f("opt/app/assets/a%03d.bin" % k, rng.randbytes(40 << 10))
    else:  # configuration on top, and some removals
        d("etc")
        for k in range(400):
            f("etc/app%d.conf" % k, text(rng, rng.randint(200, 16 << 10)))
        d("usr"); d("usr/share"); d("usr/share/doc")
        for k in range(5):
            f("usr/share/doc/.wh.pkg%03d" % k, b"")
    return e


def main():
    root, tag = sys.argv[1], sys.argv[2]
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)

    def put(data):
        h = hashlib.sha256(data).hexdigest()
        with open(os.path.join(root, "blobs", "sha256", h), "wb") as out:
            out.write(data)
        return "sha256:" + h

    descs, diffs, raw_total = [], [], 0
    for i in range(6):
        rng = random.Random("hull-pull-bench-%d" % i)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
            for name, typ, data, mode, link in layer_entries(i, rng):
                t = tarfile.TarInfo(name)
                t.type, t.mode, t.mtime, t.linkname = typ, mode, 1700000000, link
                t.size = len(data)
                tf.addfile(t, io.BytesIO(data) if typ == tarfile.REGTYPE else None)
        raw = buf.getvalue()
        raw_total += len(raw)
        blob = gzip.compress(raw, compresslevel=6, mtime=0)
        diffs.append("sha256:" + hashlib.sha256(raw).hexdigest())
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(blob), "size": len(blob)})
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/usr/bin/tool0"]},
                         "rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(config),
                                      "size": len(config)},
                           "layers": descs}).encode()
    top = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put(manifest), "size": len(manifest),
           "annotations": {"org.opencontainers.image.ref.name": tag}}
    with open(os.path.join(root, "index.json"), "w") as out:
        json.dump({"schemaVersion": 2, "manifests": [top]}, out)
    with open(os.path.join(root, "oci-layout"), "w") as out:
        json.dump({"imageLayoutVersion": "1.0.0"}, out)
    print("%d layers, %.1f MiB of tar, %.1f MiB gzip" % (len(descs), raw_total / 2**20, sum(d["size"] for d in descs) / 2**20))


if __name__ == "__main__":
    main()
