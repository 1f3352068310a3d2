#!/usr/bin/env python3
"""The quality half of scripts/bench-pipeline, by a third tool in floating point.

    quality.py <jobs.json> <rust-dir> <rust-run.json> <calibration.json> <calibration-dir>

For every job and output (preset, thumbnail), the reference is the source's crop with the
output's aspect resized to the output's size by Pillow's Lanczos in float32 ("F" images, never
rounded), on luma (BT.601): transparency flattened onto white for JPEG jobs as both pipelines do;
premultiplied for alpha jobs, and then (reference and outputs alike) composited onto grey 128 so
that colour under partial transparency counts as it is seen. Each output is scored by SSIM-Y,
scikit-image's `structural_similarity` in float64 with the usual Gaussian window (sigma 1.5,
population covariance, data range 255).

Two scores per output. `ssim_centred`: against the exactly centred crop. `ssim` (the one judged):
against the crop moved by the offset (0 or half a source pixel either way, x then y) whose
reference is nearest the output. Where a resizer puts the image (a whole-pixel crop, libvips's
half-pixel offset when enlarging) then does not count as quality: on detailed illustrations a
quarter-pixel offset alone costs more SSIM than the encoder does.

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
PAD = 4
# Crop offsets tried for the aligned score, in source pixels, one axis at a time. Half-pixel
# steps only, to keep the step to minutes on a shared 2-core machine (each offset is one more
# float resize per output); libvips's enlargement offset is half a pixel.
SHIFTS = (-0.5, 0.0, 0.5)
BT601 = np.array([0.299, 0.587, 0.114])


def centre_box(source, target):
    (sw, sh), (tw, th) = source, target
    if sw * th > sh * tw:
        w, h = sh * tw / th, sh
    else:
        w, h = sw, sw * th / tw
    left, top = (sw - w) / 2, (sh - h) / 2
    return (left, top, left + w, top + h)


class Source:
    """The source as the planes SSIM-Y needs, edge-padded by PAD pixels so that shifted crops stay
    inside it. Resizing and luma are both linear, so resizing the luma plane gives the luma of
    the resized image: one plane to resize instead of three (two with alpha kept: premultiplied
    luma and alpha)."""

    def __init__(self, path, keep_alpha):
        image = Image.open(path)
        alpha = "A" in image.getbands()
        px = np.asarray(image.convert("RGBA" if alpha else "RGB"), dtype=np.float64)
        self.size = (px.shape[1], px.shape[0])
        self.alpha_kept = alpha and keep_alpha
        if not alpha:
            planes = [px @ BT601]
        else:
            a = px[..., 3] / 255.0
            if keep_alpha:
                planes = [(px[..., :3] @ BT601) * a, px[..., 3]]
            else:  # flattened onto white, as both pipelines do for JPEG
                planes = [(px[..., :3] @ BT601) * a + 255.0 * (1.0 - a)]
        self.planes = [Image.fromarray(np.pad(p, PAD, mode="edge").astype(np.float32), mode="F")
                       for p in planes]

    def reference(self, size, shift=(0.0, 0.0)):
        """Luma at `size`, as seen (alpha kept: over grey), the crop moved by `shift`."""
        left, top, right, bottom = centre_box(self.size, size)
        box = (left + PAD + shift[0], top + PAD + shift[1], right + PAD + shift[0], bottom + PAD + shift[1])
        out = [np.asarray(p.resize(size, Image.Resampling.LANCZOS, box=box), dtype=np.float64)
               for p in self.planes]
        if self.alpha_kept:
            coverage = np.clip(out[1] / 255.0, 0.0, 1.0)
            return out[0] + GREY * (1.0 - coverage)
        return out[0]


def seen_luma(path, keep_alpha):
    image = Image.open(path)
    if keep_alpha and "A" in image.getbands():
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float64)
        a = rgba[..., 3] / 255.0
        return (rgba[..., :3] @ BT601) * a + GREY * (1.0 - a)
    return np.asarray(image.convert("RGB"), dtype=np.float64) @ BT601


def ssim_y(ref, test):
    if ref.shape != test.shape:
        raise SystemExit(f"quality.py: sizes differ: {ref.shape} vs {test.shape}")
    return float(structural_similarity(ref, test, data_range=255.0, gaussian_weights=True,
                                       sigma=1.5, use_sample_covariance=False))


def best_shift(source, size, test):
    """The crop offset whose reference is nearest `test` (least squares), x then y."""
    mse = lambda shift: float(np.mean((source.reference(size, shift) - test) ** 2))
    dx = min(SHIFTS, key=lambda x: mse((x, 0.0)))
    dy = min(SHIFTS, key=lambda y: mse((dx, y)))
    return (dx, dy)


def score_job(args):
    job, rust_dir, rust_bytes, calibration, calibration_dir = args
    keep_alpha = bool(job.get("keep_alpha"))
    source = Source(job["input"], keep_alpha)
    ext = job["format"]
    result = {}
    for part in ("preset", "thumb"):
        rust_path = os.path.join(rust_dir, f"{job['id']}.{part}.{ext}")
        size = Image.open(rust_path).size
        centred = source.reference(size)

        def score(path, aligned_ref):
            test = seen_luma(path, keep_alpha)
            return {"ssim": ssim_y(aligned_ref, test), "ssim_centred": ssim_y(centred, test)}

        rust_test = seen_luma(rust_path, keep_alpha)
        rust_shift = best_shift(source, size, rust_test)
        rust = dict(score(rust_path, source.reference(size, rust_shift)), bytes=rust_bytes[part],
                    shift=rust_shift)
        cal = calibration[part]
        sharp, sharp_ref = {}, None
        for side in ("lo", "hi"):
            if side not in cal:
                continue
            path = os.path.join(calibration_dir, f"{job['id']}.{part}.s{cal[side]['setting']}.{ext}")
            if sharp_ref is None:  # one alignment for Sharp's outputs: same resize, other setting
                sharp_shift = best_shift(source, size, seen_luma(path, keep_alpha))
                sharp_ref = source.reference(size, sharp_shift)
            sharp[side] = dict(cal[side], **score(path, sharp_ref), shift=sharp_shift)
        interpolated = "lo" in sharp and "hi" in sharp
        at_rust_bytes = {}
        for key in ("ssim", "ssim_centred"):
            if interpolated:
                lo, hi = sharp["lo"], sharp["hi"]
                t = (rust["bytes"] - lo["bytes"]) / max(1, hi["bytes"] - lo["bytes"])
                at_rust_bytes[key] = lo[key] + t * (hi[key] - lo[key])
            else:
                at_rust_bytes[key] = (sharp.get("lo") or sharp["hi"])[key]
        matched = next(s for s in sharp.values() if s["setting"] == cal["matched"])
        result[part] = {
            "rust": rust,
            "sharp": {"setting": cal["matched"], "bytes": cal["matched_bytes"], "ssim": matched["ssim"],
                      "ssim_centred": matched["ssim_centred"], "shift": matched["shift"]},
            "sharp_nominal_bytes": cal["nominal"]["bytes"],
            "sharp_ssim_at_rust_bytes": at_rust_bytes["ssim"],
            "sharp_ssim_centred_at_rust_bytes": at_rust_bytes["ssim_centred"],
            "interpolated": interpolated,
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
    work = [(job, rust_dir, rust_bytes[job["id"]], calibration[job["id"]], calibration_dir)
            for job in spec["jobs"]]
    with ProcessPoolExecutor(max_workers=int(os.environ.get("QUALITY_WORKERS", "2"))) as pool:
        print(json.dumps(dict(pool.map(score_job, work))))


if __name__ == "__main__":
    main()
