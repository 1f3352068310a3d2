//! The Rust side of `scripts/bench-pipeline`: `throughput <input.png> <iterations> <out-dir>`.
//!
//! On one thread, `iterations` times (after a short untimed warm-up): decode the PNG, make the
//! 1080x1080 and 1280x720 presets and the 384-pixel thumbnail (of the square preset), encode all
//! three as JPEG q85. Prints `{"images_per_sec", "peak_rss_kib", ...}` and writes the last
//! outputs as `rust-1080x1080.jpeg`, `rust-1280x720.jpeg`, `rust-thumb-384.jpeg`.
//! `images_per_sec` is wall time; `images_per_cpu_sec` counts only the CPU time used.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use artforge_imaging::{Pipeline, PipelineConfig, PipelineError, Rendition};

const WARM_UP: u32 = 3;

struct Outputs {
    square: Rendition,
    landscape: Rendition,
    thumbnail: Rendition,
}

fn once(pipeline: &Pipeline, source: &[u8]) -> Result<Outputs, PipelineError> {
    let decoded = pipeline.decode(source)?;
    let square = pipeline.cover(&decoded, (1080, 1080))?;
    let landscape = pipeline.cover(&decoded, (1280, 720))?;
    let thumbnail = pipeline.thumbnail(&decoded, &square)?;
    Ok(Outputs {
        square: pipeline.encode(&square)?,
        landscape: pipeline.encode(&landscape)?,
        thumbnail: pipeline.encode(&thumbnail)?,
    })
}

/// CPU time used so far by all of this process's threads (`/proc/self/task/*/schedstat`,
/// nanoseconds on the CPU): with other load on the machine, wall time would also count the
/// time this process waited for its pinned core.
fn cpu_seconds() -> Option<f64> {
    let mut total_ns = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let schedstat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total_ns += schedstat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total_ns as f64 / 1e9)
}

/// Peak resident set size (`VmHWM`) in KiB, from `/proc/self/status`.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn run(input: &Path, iterations: u32, out_dir: &Path) -> Result<serde_json::Value, String> {
    let source = std::fs::read(input).map_err(|e| format!("reading {}: {e}", input.display()))?;
    let pipeline = Pipeline::new(PipelineConfig::default()); // JPEG q85, 384 thumbnails
    let fail = |e: PipelineError| format!("pipeline: {e} ({:?})", std::error::Error::source(&e));

    let mut last = once(&pipeline, &source).map_err(fail)?;
    for _ in 1..WARM_UP {
        last = once(&pipeline, &source).map_err(fail)?;
    }
    let (started, cpu_started) = (Instant::now(), cpu_seconds());
    for _ in 0..iterations {
        last = once(&pipeline, &source).map_err(fail)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds()
        .zip(cpu_started)
        .map(|(end, start)| end - start);

    std::fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let mut sizes = serde_json::Map::new();
    for (name, rendition) in [
        ("rust-1080x1080.jpeg", &last.square),
        ("rust-1280x720.jpeg", &last.landscape),
        ("rust-thumb-384.jpeg", &last.thumbnail),
    ] {
        let path: PathBuf = out_dir.join(name);
        std::fs::write(&path, &rendition.bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        sizes.insert(name.into(), rendition.bytes.len().into());
    }
    Ok(serde_json::json!({
        "images_per_sec": f64::from(iterations) / seconds,
        "images_per_cpu_sec": cpu.map(|cpu| f64::from(iterations) / cpu),
        "peak_rss_kib": peak_rss_kib(),
        "iterations": iterations,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "bytes": sizes,
    }))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, iterations, out_dir] = args.as_slice() else {
        eprintln!("usage: throughput <input.png> <iterations> <out-dir>");
        return ExitCode::FAILURE;
    };
    let Ok(iterations) = iterations.parse::<u32>() else {
        eprintln!("iterations must be a whole number");
        return ExitCode::FAILURE;
    };
    match run(Path::new(input), iterations.max(1), Path::new(out_dir)) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("throughput: {e}");
            ExitCode::FAILURE
        }
    }
}
