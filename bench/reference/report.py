#!/usr/bin/env python3
"""Prints scripts/bench-pipeline's tables and its last line, the judgement; exits 1 on FAIL.

    report.py <run-dir> <suite>...

Reads, per suite, <run-dir>/<suite>/{rust-runs.jsonl, sharp-runs.jsonl, quality.json}. Goals
(issue 20): on the JPEG suite, >= 3x Sharp's images per CPU-second, SSIM-Y at least Sharp's at
the same size (mean over every output, 0.001 of slack: SSIM differences below that are not
visible), the compared sizes within 1%, and peak memory at most 1/4 of Sharp's; on the alpha
suites together, >= 2x Sharp's images per CPU-second.
"""

import json
import os
import sys

GOAL_SPEED, GOAL_ALPHA, GOAL_MEMORY, GOAL_BYTES, SSIM_SLACK = 3.0, 2.0, 0.25, 0.01, 0.001


def runs(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def table(rows):
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i]) for i, c in enumerate(row)))


def suite(run_dir, name):
    d = os.path.join(run_dir, name)
    rust, sharp = runs(os.path.join(d, "rust-runs.jsonl")), runs(os.path.join(d, "sharp-runs.jsonl"))
    with open(os.path.join(d, "quality.json")) as f:
        quality = json.load(f)
    best = lambda rs, key: max(r[key] for r in rs)
    outputs = [q[part] for q in quality.values() for part in ("preset", "thumb")]
    mean = lambda xs: sum(xs) / len(xs)
    s = {
        "name": name,
        "rust_ipcs": best(rust, "images_per_cpu_sec"),
        "sharp_ipcs": best(sharp, "images_per_cpu_sec"),
        "rust_ips": best(rust, "images_per_sec"),
        "sharp_ips": best(sharp, "images_per_sec"),
        "rust_rss": max(r["peak_rss_kib"] for r in rust),
        "sharp_rss": max(r["peak_rss_kib"] for r in sharp),
        "rust_images": rust[0]["images"],
        "rust_cpu": min(r["cpu_seconds"] for r in rust),
        "sharp_cpu": min(r["cpu_seconds"] for r in sharp),
        "stages": min(rust, key=lambda r: r["cpu_seconds"])["stages_ms"],
        "rust_bytes": sum(o["rust"]["bytes"] for o in outputs),
        "sharp_bytes": sum(o["sharp"]["bytes"] for o in outputs),
        "sharp_nominal_bytes": sum(o["sharp_nominal_bytes"] for o in outputs),
        "rust_ssim": mean([o["rust"]["ssim"] for o in outputs]),
        "sharp_ssim": mean([o["sharp"]["ssim"] for o in outputs]),
        "sharp_ssim_same_size": mean([o["sharp_ssim_at_rust_bytes"] for o in outputs]),
        "rust_ssim_centred": mean([o["rust"]["ssim_centred"] for o in outputs]),
        "sharp_ssim_centred_same_size": mean([o["sharp_ssim_centred_at_rust_bytes"] for o in outputs]),
        "rust_ssim_thumbs": mean([q["thumb"]["rust"]["ssim"] for q in quality.values()]),
        "sharp_ssim_thumbs": mean([q["thumb"]["sharp_ssim_at_rust_bytes"] for q in quality.values()]),
        "worst": min(outputs, key=lambda o: o["rust"]["ssim"] - o["sharp_ssim_at_rust_bytes"]),
        "quality": quality,
        "sharp_versions": (sharp[0].get("sharp"), sharp[0].get("vips")),
        "rounds": len(rust),
    }
    return s


def print_suite(s):
    r = lambda a, b: f"{a / b:.2f}x"
    print(f"\n== {s['name']}: {int(s['rust_images']) // len(s['quality'])} passes x {len(s['quality'])} jobs "
          f"per side per round, {s['rounds']} rounds, best round of each side")
    rows = [["", "Rust", "Sharp", "Rust/Sharp"],
            ["images per CPU-second", f"{s['rust_ipcs']:.1f}", f"{s['sharp_ipcs']:.1f}", r(s['rust_ipcs'], s['sharp_ipcs'])],
            ["images/s, pinned core, wall", f"{s['rust_ips']:.1f}", f"{s['sharp_ips']:.1f}", r(s['rust_ips'], s['sharp_ips'])],
            ["peak RSS, MiB (worst round)", f"{s['rust_rss'] / 1024:.1f}", f"{s['sharp_rss'] / 1024:.1f}", r(s['rust_rss'], s['sharp_rss'])],
            ["bytes, all outputs, matched settings", s['rust_bytes'], s['sharp_bytes'], f"{s['rust_bytes'] / s['sharp_bytes']:.3f}"],
            ["bytes at the same setting (q85 / PNG level 6)", s['rust_bytes'], s['sharp_nominal_bytes'], f"{s['rust_bytes'] / s['sharp_nominal_bytes']:.3f}"],
            ["SSIM-Y, mean of all outputs, matched settings", f"{s['rust_ssim']:.4f}", f"{s['sharp_ssim']:.4f}", f"{s['rust_ssim'] - s['sharp_ssim']:+.4f}"],
            ["SSIM-Y, Sharp interpolated to Rust's bytes", f"{s['rust_ssim']:.4f}", f"{s['sharp_ssim_same_size']:.4f}", f"{s['rust_ssim'] - s['sharp_ssim_same_size']:+.4f}"],
            ["  the same against the exactly centred crop", f"{s['rust_ssim_centred']:.4f}", f"{s['sharp_ssim_centred_same_size']:.4f}", f"{s['rust_ssim_centred'] - s['sharp_ssim_centred_same_size']:+.4f}"],
            ["  thumbnails only (reductions)", f"{s['rust_ssim_thumbs']:.4f}", f"{s['sharp_ssim_thumbs']:.4f}", f"{s['rust_ssim_thumbs'] - s['sharp_ssim_thumbs']:+.4f}"]]
    table(rows)
    st = s["stages"]
    print(f"Rust per image (CPU time of its thread, best round): decode {st['decode']:.2f} ms, resize {st['resize']:.2f} ms, encode {st['encode']:.2f} ms")
    worst_id = next(f"{k} {p}" for k, q in s["quality"].items() for p in ("preset", "thumb") if q[p] is s["worst"])
    w = s["worst"]
    print(f"largest SSIM shortfall at equal size: {worst_id}: {w['rust']['ssim']:.4f} vs {w['sharp_ssim_at_rust_bytes']:.4f}")


def per_image(s):
    """One row per corpus image: bytes at the same setting and SSIM at equal size."""
    by_image = {}
    for job_id, q in s["quality"].items():
        image = job_id.rsplit("-", 1)[0]
        for part in ("preset", "thumb"):
            o = q[part]
            acc = by_image.setdefault(image, [0, 0, 0.0, 0.0, 0])
            acc[0] += o["rust"]["bytes"]
            acc[1] += o["sharp_nominal_bytes"]
            acc[2] += o["rust"]["ssim"]
            acc[3] += o["sharp_ssim_at_rust_bytes"]
            acc[4] += 1
    rows = [["image (all presets, preset + thumbnail)", "bytes vs Sharp q85", "SSIM-Y Rust", "Sharp at Rust's bytes"]]
    for image, (rb, sb, rs, ss, n) in sorted(by_image.items()):
        rows.append([image, f"{rb / sb:.3f}", f"{rs / n:.4f}", f"{ss / n:.4f}"])
    table(rows)


def main():
    run_dir, names = sys.argv[1], sys.argv[2:]
    suites = {name: suite(run_dir, name) for name in names}
    versions = next(iter(suites.values()))["sharp_versions"]
    print(f"artforge-imaging vs sharp {versions[0]} (libvips {versions[1]}), one pinned CPU each, "
          f"throughput per CPU-second of all threads")
    for s in suites.values():
        print_suite(s)
    print()
    per_image(suites["jpeg"])

    j = suites["jpeg"]
    speed = j["rust_ipcs"] / j["sharp_ipcs"]
    alpha = [s for n, s in suites.items() if n.startswith("alpha")]
    # The same images on both sides: the ratio of the CPU time the alpha suites took together.
    alpha_speed = sum(s["sharp_cpu"] for s in alpha) / sum(s["rust_cpu"] for s in alpha) if alpha else None
    bytes_ratio = j["rust_bytes"] / j["sharp_bytes"]
    memory = max(s["rust_rss"] for s in suites.values()) / max(s["sharp_rss"] for s in suites.values())
    goals = [
        (f"JPEG throughput {speed:.2f}x >= {GOAL_SPEED}x", speed >= GOAL_SPEED),
        (f"SSIM-Y {j['rust_ssim']:.4f} >= Sharp's at equal size {j['sharp_ssim_same_size']:.4f} - {SSIM_SLACK}",
         j["rust_ssim"] >= j["sharp_ssim_same_size"] - SSIM_SLACK),
        (f"compared sizes within 1%: {bytes_ratio:.3f}", abs(bytes_ratio - 1) <= GOAL_BYTES),
        (f"peak memory {memory:.2f} <= {GOAL_MEMORY}", memory <= GOAL_MEMORY),
    ]
    if alpha_speed is not None:
        goals.append((f"alpha path (PNG, WebP) throughput {alpha_speed:.2f}x >= {GOAL_ALPHA}x", alpha_speed >= GOAL_ALPHA))
    print()
    for text, ok in goals:
        print(f"goal {'met' if ok else 'NOT met'}: {text}")
    verdict = all(ok for _, ok in goals)
    print(f"pipeline: {speed:.2f}x Sharp throughput, SSIM {j['rust_ssim']:.4f} vs {j['sharp_ssim_same_size']:.4f}, "
          f"bytes {bytes_ratio:.3f}, memory {memory:.2f}: {'PASS' if verdict else 'FAIL'}")
    sys.exit(0 if verdict else 1)


if __name__ == "__main__":
    main()
