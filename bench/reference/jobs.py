#!/usr/bin/env python3
"""Writes the bench's job lists: `jobs.py <corpus-dir> <out-dir>`.

jpeg.json: every corpus image at every preset, JPEG q85, transparency flattened (the default
job). alpha-png.json, alpha-webp.json: the images with alpha at every preset, alpha kept.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PRESETS = [(1080, 1080), (1080, 1350), (1080, 1920), (1280, 720)]
# The worker's IMAGE_QUALITY: with the standard Huffman tables, 83 is the size of libjpeg-turbo's q85
# with optimised ones (ADR 0105). Sharp is matched to our bytes whatever the nominal setting.
QUALITY = 83
THUMBNAIL = 384


def main():
    corpus_dir, out_dir = sys.argv[1:3]
    with open(os.path.join(HERE, "..", "corpus", "corpus.json")) as f:
        images = json.load(f)["images"]
    suites = {
        "jpeg": [(image, "jpeg", False) for image in images],
        "alpha-png": [(image, "png", True) for image in images if image.get("alpha")],
        "alpha-webp": [(image, "webp", True) for image in images if image.get("alpha")],
    }
    os.makedirs(out_dir, exist_ok=True)
    for suite, entries in suites.items():
        jobs = [
            {
                "id": f"{image['name']}-{w}x{h}",
                "input": os.path.join(corpus_dir, image["name"] + ".png"),
                "width": w,
                "height": h,
                "format": fmt,
                "keep_alpha": keep_alpha,
            }
            for image, fmt, keep_alpha in entries
            for (w, h) in PRESETS
        ]
        spec = {"quality": QUALITY, "thumbnail_longest": THUMBNAIL, "jobs": jobs}
        with open(os.path.join(out_dir, f"{suite}.json"), "w") as f:
            json.dump(spec, f, indent=1)


if __name__ == "__main__":
    main()
