// The Sharp side of scripts/bench-pipeline: node pipeline.mjs <jobs.json> <passes> <out-dir>
//
// The same jobs as crates/imaging/examples/throughput.rs, on one thread: per job, decode the
// source, make the preset (cover, centre crop) and the thumbnail, encode both with the settings
// calibrate.mjs matched to the Rust side's bytes (job.sharp.preset, job.sharp.thumb). After one
// untimed pass, every job `passes` times. Prints {"images_per_sec", "images_per_cpu_sec",
// "peak_rss_kib", "bytes"} and writes the last outputs as <id>.preset.<ext>, <id>.thumb.<ext>.
// Run it with UV_THREADPOOL_SIZE=1 (the script does), outputs awaited one after another, so that
// one core works, as on the Rust side.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuSeconds, decode, encode, resized, sharp, thumbnailSize } from './common.mjs';

async function once(job, spec) {
  // Read per job, as the Rust side does (holding the corpus would add to both peaks).
  const decoded = await decode(readFileSync(job.input), job);
  const preset = await encode(resized(decoded, job.width, job.height), job.format, job.sharp.preset);
  const [tw, th] = thumbnailSize(job.width, job.height, spec.thumbnail_longest);
  const thumb = await encode(resized(decoded, tw, th), job.format, job.sharp.thumb);
  return { preset, thumb };
}

async function main() {
  const [specPath, passesArg, outDir] = process.argv.slice(2);
  const passes = Math.max(1, Number.parseInt(passesArg ?? '', 10));
  if (!specPath || !outDir || Number.isNaN(passes)) {
    throw new Error('usage: node pipeline.mjs <jobs.json> <passes> <out-dir>');
  }
  const spec = JSON.parse(readFileSync(specPath, 'utf8'));
  const { jobs } = spec;
  const last = [];
  for (const job of jobs) last.push(await once(job, spec));
  const [started, cpuStarted] = [process.hrtime.bigint(), cpuSeconds()];
  for (let pass = 0; pass < passes; pass++) {
    for (const [i, job] of jobs.entries()) last[i] = await once(job, spec);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu_seconds = cpuSeconds() - cpuStarted;
  const images = passes * jobs.length;

  mkdirSync(outDir, { recursive: true });
  const bytes = {};
  for (const [i, job] of jobs.entries()) {
    for (const part of ['preset', 'thumb']) {
      writeFileSync(join(outDir, `${job.id}.${part}.${job.format}`), last[i][part]);
    }
    bytes[job.id] = { preset: last[i].preset.length, thumb: last[i].thumb.length };
  }
  console.log(
    JSON.stringify({
      images_per_sec: images / seconds,
      images_per_cpu_sec: images / cpu_seconds,
      // getrusage's ru_maxrss, in KiB on Linux: the same figure as VmHWM.
      peak_rss_kib: process.resourceUsage().maxRSS,
      images,
      seconds,
      cpu_seconds,
      bytes,
      sharp: sharp.versions.sharp,
      vips: sharp.versions.vips,
    }),
  );
}

main().catch((error) => {
  console.error(`pipeline.mjs: ${error.stack ?? error}`);
  process.exit(1);
});
