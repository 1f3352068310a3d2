#!/usr/bin/env python3
"""The quality half of scripts/bench-pipeline, by a third tool in floating point.

    quality.py <jobs.json> <rust-dir> <rust-run.json> <calibration.json> <calibration-dir>

For every job and output (preset, thumbnail), the reference is the source's centred crop with
the output's aspect resized to the output's size by Pillow's Lanczos in float32 ("F" images, one
per channel, never rounded): transparency flattened onto white for JPEG jobs as both pipelines
do; premultiplied for alpha jobs, and then (reference and outputs alike) composited onto grey
128 so that colour under partial transparency counts as it is seen. Each output is scored by
SSIM on luma (BT.601), scikit-image's `structural_similarity` in float64 with the usual Gaussian
window (sigma 1.5, population covariance, data range 255).

Sharp is scored at the two settings calibrate.mjs found around the Rust output's size; its SSIM
at exactly the Rust output's size is the linear interpolation between them in bytes ("SSIM at
equal size"). Prints one JSON object keyed by job id.
"""

import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity

GREY = 128.0


def centre_box(source, target):
    (sw, sh), (tw, th) = source, target
    if sw * th > sh * tw:
        w, h = sh * tw / th, sh
    else:
        w, h = sw, sw * th / tw
    left, top = (sw - w) / 2, (sh - h) / 2
    return (left, top, left + w, top + h)


def resize_planes(planes, source_size, size):
    box = centre_box(source_size, size)
    out = []
    for plane in planes:
        image = Image.fromarray(plane.astype(np.float32), mode="F")
        out.append(np.asarray(image.resize(size, Image.Resampling.LANCZOS, box=box), dtype=np.float64))
    return np.stack(out, axis=-1)


def load_source(path):
    image = Image.open(path)
    alpha = "A" in image.getbands()
    pixels = np.asarray(image.convert("RGBA" if alpha else "RGB"), dtype=np.float64)
    return pixels, alpha


def reference(source, alpha, keep_alpha, size):
    """RGB float64 at `size`, as seen: on white (flattened) or on grey (alpha kept)."""
    h, w = source.shape[:2]
    if not alpha:
        return resize_planes([source[..., c] for c in range(3)], (w, h), size)
    a = source[..., 3] / 255.0
    if not keep_alpha:
        flat = source[..., :3] * a[..., None] + 255.0 * (1.0 - a[..., None])
        return resize_planes([flat[..., c] for c in range(3)], (w, h), size)
    planes = [source[..., c] * a for c in range(3)] + [source[..., 3]]
    out = resize_planes(planes, (w, h), size)
    coverage = np.clip(out[..., 3] / 255.0, 0.0, 1.0)
    return out[..., :3] + GREY * (1.0 - coverage[..., None])


def as_seen(path, keep_alpha):
    image = Image.open(path)
    if keep_alpha and "A" in image.getbands():
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float64)
        a = rgba[..., 3:] / 255.0
        return rgba[..., :3] * a + GREY * (1.0 - a)
    return np.asarray(image.convert("RGB"), dtype=np.float64)


def luma(rgb):
    return rgb @ np.array([0.299, 0.587, 0.114])


def ssim_y(ref, test):
    if ref.shape != test.shape:
        raise SystemExit(f"quality.py: sizes differ: {ref.shape} vs {test.shape}")
    return float(structural_similarity(luma(ref), luma(test), data_range=255.0, gaussian_weights=True,
                                       sigma=1.5, use_sample_covariance=False))


def score_job(args):
    job, thumbnail_longest, rust_dir, rust_bytes, calibration, calibration_dir = args
    source, alpha = load_source(job["input"])
    keep_alpha = bool(job.get("keep_alpha"))
    ext = job["format"]
    result = {}
    for part in ("preset", "thumb"):
        rust_path = os.path.join(rust_dir, f"{job['id']}.{part}.{ext}")
        size = Image.open(rust_path).size
        ref = reference(source, alpha, keep_alpha, size)
        rust = {"bytes": rust_bytes[part], "ssim": ssim_y(ref, as_seen(rust_path, keep_alpha))}
        sharp = {}
        cal = calibration[part]
        for side in ("lo", "hi"):
            if side in cal:
                path = os.path.join(calibration_dir, f"{job['id']}.{part}.s{cal[side]['setting']}.{ext}")
                sharp[side] = dict(cal[side], ssim=ssim_y(ref, as_seen(path, keep_alpha)))
        if "lo" in sharp and "hi" in sharp:
            lo, hi = sharp["lo"], sharp["hi"]
            t = (rust["bytes"] - lo["bytes"]) / max(1, hi["bytes"] - lo["bytes"])
            at_rust_bytes = lo["ssim"] + t * (hi["ssim"] - lo["ssim"])
            exact = True
        else:
            at_rust_bytes = (sharp.get("lo") or sharp["hi"])["ssim"]
            exact = False
        matched = cal["matched"]
        matched_ssim = next(s["ssim"] for s in sharp.values() if s["setting"] == matched)
        result[part] = {
            "rust": rust,
            "sharp": {"setting": matched, "bytes": cal["matched_bytes"], "ssim": matched_ssim},
            "sharp_nominal_bytes": cal["nominal"]["bytes"],
            "sharp_ssim_at_rust_bytes": at_rust_bytes,
            "interpolated": exact,
        }
    return job["id"], result


def main():
    if len(sys.argv) != 6:
        raise SystemExit(__doc__)
    spec_path, rust_dir, rust_run, calibration_path, calibration_dir = sys.argv[1:]
    with open(spec_path) as f:
        spec = json.load(f)
    with open(rust_run) as f:
        rust_bytes = json.load(f)["bytes"]
    with open(calibration_path) as f:
        calibration = json.load(f)
    work = [(job, spec.get("thumbnail_longest", 384), rust_dir, rust_bytes[job["id"]],
             calibration[job["id"]], calibration_dir) for job in spec["jobs"]]
    with ProcessPoolExecutor(max_workers=int(os.environ.get("QUALITY_WORKERS", "2"))) as pool:
        print(json.dumps(dict(pool.map(score_job, work))))


if __name__ == "__main__":
    main()
