// Matches Sharp's settings to the Rust side's bytes, untimed:
// node calibrate.mjs <jobs.json> <rust-run.json> <out-dir>
//
// For every job and output (preset, thumbnail), resizes once and finds the two neighbouring
// settings (JPEG and WebP quality 30-100 by bisection, as size grows with quality; PNG
// compressionLevel 0-9, all tried) whose sizes bracket the Rust output's bytes (`lo` smaller or
// equal, `hi` larger; one alone at the ends of the range), writing them as
// <id>.<part>.s<setting>.<ext>. `matched` is the one whose size is nearest. Prints {id: {preset: {matched, lo: {setting, bytes}, hi: {...}}, thumb: {...}}}.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode, encode, resized, sharp, thumbnailSize } from './common.mjs';

async function candidates(pipelineAt, format, target) {
  const at = async (setting) => {
    const buffer = await encode(pipelineAt(), format, setting);
    return { setting, bytes: buffer.length, buffer };
  };
  if (format === 'png') return Promise.all(Array.from({ length: 10 }, (_, i) => at(i)));
  // The largest quality whose size is at most the target, by bisection, and its neighbour.
  let [low, high] = [30, 100];
  const tried = new Map();
  const get = async (q) => {
    if (!tried.has(q)) tried.set(q, await at(q));
    return tried.get(q);
  };
  while (high - low > 1) {
    const mid = (low + high) >> 1;
    if ((await get(mid)).bytes <= target) low = mid;
    else high = mid;
  }
  await get(low);
  await get(high);
  return [...tried.values()];
}

async function bracket(pipelineAt, format, target, file, quality) {
  const sizes = await candidates(pipelineAt, format, target);
  const nearest = sizes.reduce((a, b) => (Math.abs(b.bytes - target) < Math.abs(a.bytes - target) ? b : a));
  const below = sizes.filter((s) => s.bytes <= target);
  const above = sizes.filter((s) => s.bytes > target);
  const lo = below.length ? below.reduce((a, b) => (b.bytes > a.bytes ? b : a)) : null;
  const hi = above.length ? above.reduce((a, b) => (b.bytes < a.bytes ? b : a)) : null;
  const out = { matched: nearest.setting, matched_bytes: nearest.bytes };
  // At the setting a Node developer would write (the Rust side's quality; PNG: Sharp's default 6).
  const nominal = format === 'png' ? 6 : quality;
  out.nominal = { setting: nominal, bytes: (await encode(pipelineAt(), format, nominal)).length };
  for (const [name, pick] of [['lo', lo], ['hi', hi]]) {
    if (!pick) continue;
    writeFileSync(file(pick.setting), pick.buffer);
    out[name] = { setting: pick.setting, bytes: pick.bytes };
  }
  return out;
}

async function main() {
  const [specPath, rustPath, outDir] = process.argv.slice(2);
  if (!specPath || !rustPath || !outDir) {
    throw new Error('usage: node calibrate.mjs <jobs.json> <rust-run.json> <out-dir>');
  }
  const spec = JSON.parse(readFileSync(specPath, 'utf8'));
  const rust = JSON.parse(readFileSync(rustPath, 'utf8'));
  mkdirSync(outDir, { recursive: true });
  const result = {};
  for (const job of spec.jobs) {
    const decoded = await decode(readFileSync(job.input), job);
    const [tw, th] = thumbnailSize(job.width, job.height, spec.thumbnail_longest);
    result[job.id] = {};
    for (const [part, w, h] of [['preset', job.width, job.height], ['thumb', tw, th]]) {
      const file = (setting) => join(outDir, `${job.id}.${part}.s${setting}.${job.format}`);
      // Resized once; each setting encodes the same pixels.
      const { data, info } = await resized(decoded, w, h).raw().toBuffer({ resolveWithObject: true });
      const raw = { raw: { width: info.width, height: info.height, channels: info.channels } };
      result[job.id][part] = await bracket(() => sharp(data, raw), job.format, rust.bytes[job.id][part], file, spec.quality);
    }
  }
  console.log(JSON.stringify(result));
}

main().catch((error) => {
  console.error(`calibrate.mjs: ${error.stack ?? error}`);
  process.exit(1);
});
