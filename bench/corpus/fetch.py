#!/usr/bin/env python3
"""Builds the bench corpus from Debian packages: `fetch.py [--out DIR] [--update]`.

For every image of corpus.json: `apt-get download` the package at its pinned version (apt checks
the archive's signatures), extract the one file, check its sha256, centre-crop it to the target
aspect and resize it DOWN to the target size with Pillow's Lanczos (RGBA premultiplied), or
render an SVG with rsvg-convert to fit the target on a transparent canvas, and check the
result's sha256. Nothing is ever enlarged: a source smaller than its target is an error.

The outputs are PNG (what the image provider returns), in DIR (target/bench-corpus by default,
git-ignored), named <name>.png. `--update` writes the checksums it found into corpus.json
instead of checking them (after changing the list, or Pillow or librsvg).
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
MANIFEST = os.path.join(HERE, "corpus.json")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def fetch_deb(package, version, debs):
    os.makedirs(debs, exist_ok=True)
    for name in os.listdir(debs):
        if name.startswith(package + "_") and name.endswith(".deb"):
            return os.path.join(debs, name)
    subprocess.run(["apt-get", "download", "-q", f"{package}={version}"], cwd=debs, check=True,
                   stdout=subprocess.DEVNULL)
    return fetch_deb(package, version, debs)


def extract(deb, path, into):
    os.makedirs(into, exist_ok=True)
    out = os.path.join(into, path)
    if not os.path.exists(out):
        tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", into, "./" + path], input=tar, check=True)
    return out


def centre_box(source, target):
    """The centred region of `source` with the aspect of `target` (float edges)."""
    (sw, sh), (tw, th) = source, target
    if sw * th > sh * tw:  # wider than the target: cut left and right
        w, h = sh * tw / th, sh
    else:
        w, h = sw, sw * th / tw
    left, top = (sw - w) / 2, (sh - h) / 2
    return (left, top, left + w, top + h)


def derive(src, size, out):
    if src.endswith(".svg"):
        with tempfile.NamedTemporaryFile(suffix=".png") as tmp:
            subprocess.run(["rsvg-convert", "-w", str(size[0]), "-h", str(size[1]), "-a",
                            "-b", "none", src, "-o", tmp.name], check=True)
            art = Image.open(tmp.name).convert("RGBA")
            canvas = Image.new("RGBA", tuple(size), (0, 0, 0, 0))
            canvas.alpha_composite(art, ((size[0] - art.width) // 2, (size[1] - art.height) // 2))
            image = canvas
    else:
        image = Image.open(src)
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        box = centre_box(image.size, size)
        if box[2] - box[0] < size[0] or box[3] - box[1] < size[1]:
            sys.exit(f"fetch.py: {src} is {image.size}: too small for {size} without enlarging")
        image = image.resize(tuple(size), Image.Resampling.LANCZOS, box=box)
    if image.mode == "RGBA" and image.getchannel("A").getextrema()[0] == 255:
        image = image.convert("RGB")
    image.save(out, "PNG")
    return image.mode == "RGBA"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(HERE, "..", "..", "target", "bench-corpus"))
    parser.add_argument("--update", action="store_true")
    args = parser.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    with open(MANIFEST) as f:
        manifest = json.load(f)

    failures = []
    for image in manifest["images"]:
        target = os.path.join(out, image["name"] + ".png")
        # A derived file whose checksum matches is up to date: nothing to download.
        if not args.update and os.path.exists(target) and sha256(target) == image.get("sha256"):
            continue
        deb = fetch_deb(image["package"], image["version"], os.path.join(out, "debs"))
        src = extract(deb, image["path"], os.path.join(out, "src", image["package"]))
        alpha = derive(src, image["size"], target)
        found = {"source_sha256": sha256(src), "sha256": sha256(target), "alpha": alpha}
        if args.update:
            image.update(found)
            continue
        for key, value in found.items():
            if image.get(key) != value:
                failures.append(f"{image['name']}: {key} is {value}, corpus.json says {image.get(key)}")

    if args.update:
        with open(MANIFEST, "w") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
    if failures:
        sys.exit("fetch.py: the corpus does not match corpus.json:\n  " + "\n  ".join(failures))
    print(f"{len(manifest['images'])} images in {out}")


if __name__ == "__main__":
    main()
