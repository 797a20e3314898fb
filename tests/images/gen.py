#!/usr/bin/env python3
"""Builds the test inputs for hull's image code at test time (no binary blobs in git).

  gen.py hostile DIR   one tarball per hostile-layer class, named <class>.tar[.gz|.xz]
  gen.py layout DIR    a 3-layer OCI layout (tag `v1`) with whiteouts, an opaque dir, hard
                       links, symlinks, xattrs, setuid/sticky modes, devices and a fifo
  gen.py docker DIR    the same image as a docker-archive (docker.tar) and a rootfs tarball
"""
import gzip, hashlib, io, json, lzma, os, sys, tarfile

def ti(name, type=tarfile.REGTYPE, data=b"", mode=0o644, uid=0, gid=0, link="", dev=(0, 0), xattrs=None):
    t = tarfile.TarInfo(name)
    t.type, t.mode, t.uid, t.gid, t.mtime = type, mode, uid, gid, 1700000000
    t.linkname = link
    t.devmajor, t.devminor = dev
    t.size = len(data) if type == tarfile.REGTYPE else 0
    if xattrs:
        t.pax_headers = {"SCHILY.xattr." + k: v for k, v in xattrs.items()}
    return t, data

def tar_bytes(entries, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for t, data in entries:
            tf.addfile(t, io.BytesIO(data) if t.type == tarfile.REGTYPE else None)
    return buf.getvalue()

D, F, L, H, C, B, P = tarfile.DIRTYPE, tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE

def hostile(out):
    cases = {
        "dotdot": [ti("../escape", data=b"x")],
        "dotdot_nested": [ti("a/", D, mode=0o755), ti("a/../../escape", data=b"x")],
        "symlink_parent_abs": [ti("evil", L, link="/"), ti("evil/tmp/escape", data=b"x")],
        "symlink_parent_rel": [ti("evil", L, link="../canary"), ti("evil/planted", data=b"x")],
        "symlink_parent_inner": [ti("d/", D, mode=0o755), ti("d/up", L, link=".."), ti("d/up/x", data=b"x")],
        "symlink_parent_deep": [ti("a/", D), ti("a/b", L, link="../../canary"), ti("a/b/c/d", data=b"x")],
        "hardlink_outside": [ti("x", H, link="../canary/file")],
        "hardlink_missing": [ti("x", H, link="nonexistent")],
        "hardlink_abs_missing": [ti("x", H, link="/etc/passwd")],
        "hardlink_via_symlink": [ti("l", L, link="../canary"), ti("x", H, link="l/file")],
        "hardlink_dir": [ti("d/", D), ti("x", H, link="d")],
        "device": [ti("null", C, mode=0o666, dev=(1, 3))],
        "oversized": [ti("big", data=b"\0" * (2 << 20))],
        "endless": [ti("f%05d" % i, data=b"") for i in range(2000)],
        "swap_dir_file": [ti("a/", D), ti("a", F, data=b"x")],
        "swap_file_dir": [ti("a", F, data=b"x"), ti("a/", D)],
        "swap_file_symlink": [ti("a", F, data=b"x"), ti("a", L, link="/etc/passwd")],
        "swap_dir_symlink": [ti("a/", D), ti("a", L, link="../canary")],
        "whiteout_conflict": [ti("x", data=b"x"), ti(".wh.x")],
        "whiteout_dotdot": [ti("d/", D), ti("d/.wh...")],
    }
    for name, entries in cases.items():
        with open(os.path.join(out, name + ".tar"), "wb") as f:
            f.write(tar_bytes(entries))
    # 256 MiB of zeros in a small gzip: the limit must stop it while streaming.
    with gzip.open(os.path.join(out, "bomb.tar.gz"), "wb", compresslevel=9) as g:
        t = tarfile.TarInfo("zeros"); t.size = 256 << 20
        g.write(t.tobuf(tarfile.PAX_FORMAT))
        chunk = b"\0" * (1 << 20)
        for _ in range(256): g.write(chunk)
    with open(os.path.join(out, "xz.tar.xz"), "wb") as f:
        f.write(lzma.compress(tar_bytes([ti("a", data=b"x")])))
    with open(os.path.join(out, "garbage.tar"), "wb") as f:
        f.write(b"this is not a tar archive at all" * 64)
    with open(os.path.join(out, "truncated.tar.gz"), "wb") as f:
        f.write(gzip.compress(tar_bytes([ti("a", data=os.urandom(100000))]))[:30000])
    # Accepted: absolute names become relative to the layer root.
    with open(os.path.join(out, "ok_absolute.tar"), "wb") as f:
        f.write(tar_bytes([ti("/abs/", D, mode=0o755), ti("/abs/file", data=b"abs"), ti("./rel/../inner", data=b"in")]))

LAYERS = [
    [   # base
        ti("./", D, mode=0o755),
        ti("bin/", D, mode=0o755), ti("bin/tool", data=b"#!/bin/sh\necho tool\n", mode=0o755),
        ti("bin/su", data=b"setuid", mode=0o4755), ti("bin/sg", data=b"setgid", mode=0o2711, gid=42),
        ti("bin/hard", H, link="bin/tool"),
        ti("tmp/", D, mode=0o1777),
        ti("etc/", D, mode=0o755), ti("etc/passwd", data=b"root:x:0:0::/root:/bin/sh\n"),
        ti("etc/gone", data=b"removed by layer 2"), ti("etc/link", L, link="passwd"),
        ti("etc/abs", L, link="/etc/passwd"), ti("etc/dangling", L, link="../nowhere"),
        ti("opq/", D, mode=0o750, uid=1000, gid=1000), ti("opq/old1", data=b"1"), ti("opq/old2", data=b"2"),
        ti("opq/sub/", D), ti("opq/sub/deep", data=b"deep"),
        ti("dev/", D, mode=0o755), ti("dev/null", C, mode=0o666, dev=(1, 3)), ti("dev/loop9", B, mode=0o660, dev=(7, 9)),
        ti("dev/fifo", P, mode=0o600),
        ti("cap", data=b"ping", mode=0o755, xattrs={"security.capability": "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"}),
        ti("user_x", data=b"x", xattrs={"user.comment": "hello", "trusted.hull": "t"}),
        ti("owned", data=b"o", mode=0o640, uid=1234, gid=5678),
        ti("replaced", data=b"old content"),
        ti("dirgone/", D), ti("dirgone/f", data=b"f"),
    ],
    [   # whiteouts and an opaque dir
        ti("etc/", D, mode=0o755), ti("etc/.wh.gone"),
        ti("opq/", D, mode=0o750, uid=1000, gid=1000), ti("opq/.wh..wh..opq"), ti("opq/new", data=b"new"),
        ti(".wh.dirgone"),
        ti("replaced", data=b"new content, longer"),
        ti("newdir/", D, mode=0o700, uid=7, gid=8), ti("newdir/a", data=b"a"), ti("newdir/b", H, link="newdir/a"),
    ],
    [   # modes changed on top, a new symlink, a file replaced by one in a later layer
        ti("bin/", D, mode=0o755), ti("bin/tool", data=b"#!/bin/sh\necho tool v2\n", mode=0o700),
        ti("bin/sl", L, link="tool"),
        ti("etc/", D, mode=0o755), ti("etc/.wh.link"),
        ti("newdir/", D, mode=0o755, uid=7, gid=8),
    ],
]

def sha(b): return "sha256:" + hashlib.sha256(b).hexdigest()

def blob(out, data):
    d = sha(data)
    with open(os.path.join(out, "blobs", "sha256", d[7:]), "wb") as f: f.write(data)
    return {"digest": d, "size": len(data)}

def layout(out):
    os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)
    layers, diff_ids = [], []
    for i, entries in enumerate(LAYERS):
        raw = tar_bytes(entries)
        diff_ids.append(sha(raw))
        data = gzip.compress(raw, mtime=0) if i != 1 else raw  # a plain-tar layer among gzip ones
        mt = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if i != 1 else "")
        layers.append(dict(mediaType=mt, **blob(out, data)))
    config = {"architecture": "amd64", "os": "linux",
              "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/tool"], "WorkingDir": "/", "User": "0:0"},
              "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    cd = dict(mediaType="application/vnd.oci.image.config.v1+json", **blob(out, json.dumps(config).encode()))
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": cd, "layers": layers}
    md = dict(mediaType="application/vnd.oci.image.manifest.v1+json", **blob(out, json.dumps(manifest).encode()))
    md["annotations"] = {"org.opencontainers.image.ref.name": "v1"}
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [md]}, f)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)

def docker(out):
    raws = [tar_bytes(e) for e in LAYERS]
    config = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/tool"]},
              "rootfs": {"type": "layers", "diff_ids": [sha(r) for r in raws]}}
    cj = json.dumps(config).encode()
    entries = [ti("%s.json" % sha(cj)[7:], data=cj)]
    names = []
    for i, r in enumerate(raws):
        entries += [ti("l%d/" % i, D), ti("l%d/layer.tar" % i, data=r)]
        names.append("l%d/layer.tar" % i)
    mj = json.dumps([{"Config": "%s.json" % sha(cj)[7:], "RepoTags": ["example.com/test/img:v1"], "Layers": names}]).encode()
    entries.append(ti("manifest.json", data=mj))
    with open(os.path.join(out, "docker.tar"), "wb") as f: f.write(tar_bytes(entries))
    with open(os.path.join(out, "rootfs.tar.gz"), "wb") as f: f.write(gzip.compress(raws[0], mtime=0))

if __name__ == "__main__":
    kind, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    {"hostile": hostile, "layout": layout, "docker": docker}[kind](out)
