#!/usr/bin/env python3
"""Builds the OCI layout that hull's unpack is compared against umoci's with (tag `equal`).

  gen_equal.py DIR

Five layers (gzip, plain tar, gzip, gzip, plain tar), each exercising what a flattened rootfs
and an overlay of per-layer directories must agree on: modes (setuid, setgid, sticky, 0000),
owners, hard links within a layer and to a lower-layer file the layer re-adds, relative,
absolute and dangling symlinks, devices and fifos, user.* / trusted.* / security.capability
xattrs, whole-second and sub-second mtimes, files replaced by directories and directories by
files, whiteouts of files and directories, opaque directories, a whited-out path re-created in
the same layer (as a directory, a file and a symlink), entries whose parents the layer does not
list, and a directory whose mode and owner change in an upper layer.

Deterministic: the same digests on every run.
"""
import gzip, hashlib, json, os, sys, tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen import ti, tar_bytes, D, F, L, H, C, B, P  # noqa: E402

CAP = "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"  # cap_net_raw+p


def at(entry, mtime):
    """Sets an entry's mtime (a float becomes a pax record with sub-second precision)."""
    entry[0].mtime = mtime
    return entry


LAYERS = [
    [   # 0: the base
        ti("./", D, mode=0o755),
        ti("bin/", D, mode=0o755),
        at(ti("bin/tool", data=b"#!/bin/sh\necho tool\n", mode=0o755), 1600000000),
        ti("bin/su", data=b"setuid", mode=0o4755),
        ti("bin/sg", data=b"setgid", mode=0o2711, gid=42),
        ti("bin/both", data=b"both", mode=0o6750, uid=3, gid=4),
        ti("bin/hard", H, link="bin/tool"),
        ti("bin/none", data=b"no permissions", mode=0o000),
        ti("tmp/", D, mode=0o1777),
        ti("shared/", D, mode=0o2775, gid=100),
        ti("etc/", D, mode=0o755),
        ti("etc/passwd", data=b"root:x:0:0::/root:/bin/sh\n"),
        ti("etc/gone", data=b"removed by layer 1"),
        ti("etc/link", L, link="passwd"),
        ti("etc/abs", L, link="/etc/passwd"),
        ti("etc/dangling", L, link="../nowhere"),
        ti("etc/lnowner", L, link="passwd", uid=5, gid=6),
        ti("opq/", D, mode=0o750, uid=1000, gid=1000),
        ti("opq/old1", data=b"1"), ti("opq/old2", data=b"2"),
        ti("opq/sub/", D), ti("opq/sub/deep", data=b"deep"),
        ti("dev/", D, mode=0o755),
        ti("dev/null", C, mode=0o666, dev=(1, 3)),
        ti("dev/loop9", B, mode=0o660, dev=(7, 9), gid=6),
        ti("dev/fifo", P, mode=0o600),
        ti("cap", data=b"ping", mode=0o755, xattrs={"security.capability": CAP}),
        ti("user_x", data=b"x", xattrs={"user.comment": "hello", "user.other": "v"}),
        ti("trusted_x", data=b"t", xattrs={"trusted.hull": "t"}),
        ti("owned", data=b"o", mode=0o640, uid=1234, gid=5678),
        ti("replaced", data=b"old content"),
        ti("dirgone/", D), ti("dirgone/f", data=b"f"), ti("dirgone/sub/", D), ti("dirgone/sub/g", data=b"g"),
        ti("recreate_dir/", D, mode=0o700), ti("recreate_dir/old", data=b"old"),
        ti("recreate_file", data=b"a file, to be a symlink"),
        ti("recreate_as_file/", D), ti("recreate_as_file/inner", data=b"inner"),
        ti("file2dir", data=b"a file, to be a directory"),
        ti("dir2file/", D, mode=0o711), ti("dir2file/child", data=b"child"),
        ti("dir2link/", D), ti("dir2link/child", data=b"child"),
        ti("attrs/", D, mode=0o755),
        at(ti("mtime_ns", data=b"ns"), 1500000000.25),
        at(ti("mtime_old", data=b"old"), 86400),
        at(ti("dirmtime/", D, mode=0o755), 1400000000), at(ti("dirmtime/f", data=b"f"), 1400000001),
    ],
    [   # 1: whiteouts, an opaque dir, paths whited out and re-created in the same layer
        ti("etc/", D, mode=0o755), ti("etc/.wh.gone"),
        ti("opq/", D, mode=0o750, uid=1000, gid=1000), ti("opq/.wh..wh..opq"), ti("opq/new", data=b"new"),
        ti(".wh.dirgone"),
        ti(".wh.recreate_dir"), ti("recreate_dir/", D, mode=0o711, uid=9), ti("recreate_dir/new", data=b"new"),
        ti(".wh.recreate_file"), ti("recreate_file", L, link="etc/passwd"),
        ti(".wh.recreate_as_file"), ti("recreate_as_file", data=b"now a file"),
        ti("replaced", data=b"new content, longer"),
        ti("newdir/", D, mode=0o700, uid=7, gid=8), ti("newdir/a", data=b"a"), ti("newdir/b", H, link="newdir/a"),
        # bin/tool re-added (new content and mode) with a fresh hard link to it; bin/hard, the
        # base layer's link, keeps the old content in both views.
        ti("bin/", D, mode=0o755),
        at(ti("bin/tool", data=b"#!/bin/sh\necho tool v2\n", mode=0o700), 1650000000),
        ti("bin/tool2", H, link="bin/tool"),
        ti(".wh.never_existed"),
    ],
    [   # 2: type changes across layers, mode/owner changes, xattr changes
        ti("file2dir/", D, mode=0o751), ti("file2dir/inner", data=b"inside"),
        ti("dir2file", data=b"was a directory", mode=0o600),
        ti("dir2link", L, link="/etc"),
        ti("bin/", D, mode=0o711, uid=2, gid=2),
        ti("bin/sl", L, link="tool"),
        ti("etc/", D, mode=0o755), ti("etc/.wh.link"),
        ti("user_x", data=b"x2", xattrs={"user.comment": "changed"}),
        ti("attrs/", D, mode=0o700, uid=11, gid=12, xattrs={"user.dir": "d"}),
        ti("dev/", D, mode=0o755), ti("dev/zero", C, mode=0o666, dev=(1, 5)), ti("dev/.wh.fifo"),
        ti("newdir/", D, mode=0o755, uid=7, gid=8),
    ],
    [   # 3: entries whose parent directories this layer does not list
        ti("opq/implicit", data=b"implicit parent"),
        ti("deep/a/b/c", data=b"missing parents everywhere"),
        ti("shared/more", data=b"more"),
        at(ti("dirmtime/g", data=b"g"), 1400000002),
    ],
    [   # 4: plain tar again, a whiteout of a directory created by an upper layer
        ti(".wh.file2dir"),
        ti("newdir/", D, mode=0o755, uid=7, gid=8), ti("newdir/.wh.a"),
        ti("tmp/", D, mode=0o1777), ti("tmp/x", data=b"x", mode=0o666),
    ],
]


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def blob(out, data):
    d = sha(data)
    with open(os.path.join(out, "blobs", "sha256", d[7:]), "wb") as f:
        f.write(data)
    return {"digest": d, "size": len(data)}


def main(out):
    os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)
    layers, diff_ids = [], []
    for i, entries in enumerate(LAYERS):
        raw = tar_bytes(entries)
        diff_ids.append(sha(raw))
        plain = i in (1, 4)
        data = raw if plain else gzip.compress(raw, mtime=0)
        mt = "application/vnd.oci.image.layer.v1.tar" + ("" if plain else "+gzip")
        layers.append(dict(mediaType=mt, **blob(out, data)))
    config = {"architecture": "amd64", "os": "linux",
              "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/tool"]},
              "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    cd = dict(mediaType="application/vnd.oci.image.config.v1+json", **blob(out, json.dumps(config).encode()))
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": cd,
                "layers": layers}
    md = dict(mediaType="application/vnd.oci.image.manifest.v1+json", **blob(out, json.dumps(manifest).encode()))
    md["annotations"] = {"org.opencontainers.image.ref.name": "equal"}
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [md]}, f)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)


if __name__ == "__main__":
    main(sys.argv[1])
