//! The Rust side of `scripts/bench-pipeline`: `throughput <jobs.json> <passes> <out-dir>`.
//!
//! `jobs.json` is `{"quality": 85, "thumbnail_longest": 384, "jobs": [{"id", "input", "width",
//! "height", "format": "jpeg"|"png"|"webp", "keep_alpha"}]}`. A job is what the worker does for
//! one image: decode the source, cover-resize it to the preset, make the thumbnail, encode both
//! ([`Pipeline::process_with`], here through its public steps so that each is timed). On one
//! thread, after one untimed pass, every job `passes` times. Prints one JSON object:
//! `images_per_sec` (wall), `images_per_cpu_sec` (CPU time of all threads), `peak_rss_kib`,
//! `stages_ms` (decode, resize, encode: CPU time per image), and `bytes` per job; writes the last
//! outputs as `<out-dir>/<id>.preset.<ext>` and `<id>.thumb.<ext>`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use artforge_imaging::{ImageFormat, Pipeline, PipelineConfig, PipelineError, Rendition};
use serde_json::{Value, json};

struct Job {
    id: String,
    input: PathBuf,
    target: (u32, u32),
    format: ImageFormat,
    keep_alpha: bool,
}

#[derive(Default)]
struct Stages {
    decode: Duration,
    resize: Duration,
    encode: Duration,
}

fn once(
    pipeline: &Pipeline,
    job: &Job,
    stages: &mut Stages,
) -> Result<(Rendition, Rendition), PipelineError> {
    // Read per job, as the worker receives each source: holding the whole corpus in memory
    // would add its 23 MB to the peak of both sides.
    let source = std::fs::read(&job.input).unwrap_or_default();
    let started = thread_cpu();
    let decoded = pipeline.decode_with(&source, job.keep_alpha)?;
    let decoded_at = thread_cpu();
    let preset = pipeline.cover(&decoded, job.target)?;
    let thumbnail = pipeline.thumbnail(&decoded, &preset)?;
    // As `process_with` does: the source's bytes and pixels are freed before encoding.
    drop((decoded, source));
    let resized_at = thread_cpu();
    let renditions = (
        pipeline.encode_as(&preset, job.format)?,
        pipeline.encode_as(&thumbnail, job.format)?,
    );
    stages.decode += decoded_at.saturating_sub(started);
    stages.resize += resized_at.saturating_sub(decoded_at);
    stages.encode += thread_cpu().saturating_sub(resized_at);
    Ok(renditions)
}

/// CPU time this thread has used (`/proc/thread-self/schedstat`): the stages' figures stay
/// right while other processes share the core.
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
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

fn jobs(spec: &Value) -> Result<Vec<Job>, String> {
    let list = spec["jobs"].as_array().ok_or("jobs.json has no jobs")?;
    list.iter()
        .map(|job| {
            let text = |key: &str| job[key].as_str().ok_or(format!("a job has no {key}"));
            let side = |key: &str| {
                job[key]
                    .as_u64()
                    .and_then(|v| u32::try_from(v).ok())
                    .ok_or(format!("a job has no {key}"))
            };
            let input = text("input")?;
            let format = match text("format")? {
                "jpeg" => ImageFormat::Jpeg,
                "png" => ImageFormat::Png,
                "webp" => ImageFormat::Webp,
                other => return Err(format!("unknown format {other}")),
            };
            std::fs::metadata(input).map_err(|e| format!("{input}: {e}"))?;
            Ok(Job {
                id: text("id")?.to_owned(),
                input: PathBuf::from(input),
                target: (side("width")?, side("height")?),
                format,
                keep_alpha: job["keep_alpha"].as_bool().unwrap_or(false),
            })
        })
        .collect()
}

fn run(spec: &Path, passes: u32, out_dir: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(spec).map_err(|e| format!("{}: {e}", spec.display()))?;
    let spec: Value = serde_json::from_str(&text).map_err(|e| format!("jobs.json: {e}"))?;
    let jobs = jobs(&spec)?;
    let setting = |key: &str, default: u64| spec[key].as_u64().unwrap_or(default);
    let pipeline = Pipeline::new(PipelineConfig {
        quality: u8::try_from(setting("quality", 83)).map_err(|_| "quality over 255")?,
        thumbnail_longest: u32::try_from(setting("thumbnail_longest", 384))
            .map_err(|_| "thumbnail_longest too large")?,
        ..PipelineConfig::default()
    });
    let fail = |e: PipelineError| format!("pipeline: {e} ({:?})", std::error::Error::source(&e));

    let mut last = Vec::with_capacity(jobs.len());
    for job in &jobs {
        last.push(once(&pipeline, job, &mut Stages::default()).map_err(fail)?);
    }
    let mut stages = Stages::default();
    let (started, cpu_started) = (Instant::now(), cpu_seconds());
    for _ in 0..passes {
        for (job, out) in jobs.iter().zip(last.iter_mut()) {
            *out = once(&pipeline, job, &mut stages).map_err(fail)?;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds()
        .zip(cpu_started)
        .map(|(end, start)| end - start);
    let images = f64::from(passes) * jobs.len() as f64;

    std::fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let mut bytes = serde_json::Map::new();
    for (job, (preset, thumbnail)) in jobs.iter().zip(&last) {
        for (part, rendition) in [("preset", preset), ("thumb", thumbnail)] {
            let path = out_dir.join(format!("{}.{part}.{}", job.id, job.format.ext()));
            std::fs::write(&path, &rendition.bytes)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        bytes.insert(
            job.id.clone(),
            json!({"preset": preset.bytes.len(), "thumb": thumbnail.bytes.len()}),
        );
    }
    let per_image = |d: Duration| d.as_secs_f64() * 1e3 / images;
    Ok(json!({
        "images_per_sec": images / seconds,
        "images_per_cpu_sec": cpu.map(|cpu| images / cpu),
        "peak_rss_kib": peak_rss_kib(),
        "images": images,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "stages_ms": {
            "decode": per_image(stages.decode),
            "resize": per_image(stages.resize),
            "encode": per_image(stages.encode),
        },
        "bytes": bytes,
    }))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [spec, passes, out_dir] = args.as_slice() else {
        eprintln!("usage: throughput <jobs.json> <passes> <out-dir>");
        return ExitCode::FAILURE;
    };
    let Ok(passes) = passes.parse::<u32>() else {
        eprintln!("passes must be a whole number");
        return ExitCode::FAILURE;
    };
    match run(Path::new(spec), passes.max(1), Path::new(out_dir)) {
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
