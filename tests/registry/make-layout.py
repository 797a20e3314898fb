#!/usr/bin/env python3
"""Builds OCI image layouts for the registry tests, from nothing but the standard library.

  make-layout.py DIR TAG single    a 3-layer linux/amd64 image (one layer of incompressible
                                   bytes, so pulls move real data)
  make-layout.py DIR TAG multi     an image index of linux/amd64, linux/arm64 and linux/arm/v7
                                   images, each with its own layers

Everything is deterministic, so digests are the same on every run. skopeo then pushes the
layout: skopeo copy [--all] oci:DIR:TAG docker://HOST/NAME:TAG
"""
import gzip
import hashlib
import io
import json
import os
import random
import sys
import tarfile

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def put_blob(root, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(root, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest


def layer(files):
    """A gzipped tar of {path: bytes}; returns (compressed, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mtime = 1700000000
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, mtime=0), "sha256:" + hashlib.sha256(tar_bytes).hexdigest()


def image(root, os_name, arch, variant, big):
    rng = random.Random(f"{os_name}/{arch}/{variant}")
    layers = [
        {"etc/os-release": f"ID=hulltest\nPLATFORM={os_name}/{arch}/{variant}\n".encode()},
        {"bin/payload": rng.randbytes(big)},
        {"etc/motd": b"hello from the registry test\n", "usr/share/doc/x": b"x" * 4096},
    ]
    descs, diff_ids = [], []
    for files in layers:
        blob, diff_id = layer(files)
        descs.append({"mediaType": OCI_LAYER_GZIP, "digest": put_blob(root, blob), "size": len(blob)})
        diff_ids.append(diff_id)
    platform = {"os": os_name, "architecture": arch}
    if variant:
        platform["variant"] = variant
    config = dict(platform, config={"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"]},
                  rootfs={"type": "layers", "diff_ids": diff_ids})
    config_bytes = json.dumps(config).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": put_blob(root, config_bytes), "size": len(config_bytes)},
        "layers": descs,
    }
    manifest_bytes = json.dumps(manifest).encode()
    return {"mediaType": OCI_MANIFEST, "digest": put_blob(root, manifest_bytes), "size": len(manifest_bytes),
            "platform": platform}


def main():
    root, tag, kind = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    if kind == "single":
        top = image(root, "linux", "amd64", "", 8 << 20)
        del top["platform"]
    elif kind == "multi":
        entries = [image(root, "linux", "amd64", "", 1 << 20), image(root, "linux", "arm64", "", 1 << 20),
                   image(root, "linux", "arm", "v7", 1 << 20)]
        index_bytes = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
        top = {"mediaType": OCI_INDEX, "digest": put_blob(root, index_bytes), "size": len(index_bytes)}
    else:
        sys.exit(f"make-layout.py: unknown kind {kind!r}")
    top["annotations"] = {"org.opencontainers.image.ref.name": tag}
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [top]}, f)
    print(top["digest"])


if __name__ == "__main__":
    main()
