// The Sharp side of scripts/bench-pipeline: node pipeline.mjs <input.png> <iterations> <out-dir>
//
// The same pipeline as crates/imaging/examples/throughput.rs, on one thread: decode the PNG
// once, make the 1080x1080 and 1280x720 presets (cover, centre crop) and a 384x384 thumbnail,
// all JPEG q85 (libjpeg-turbo behaviour: mozjpeg off, 4:2:0), Lanczos3 like the Rust side.
// Prints {"images_per_sec", "peak_rss_kib", ...} and writes the last outputs as sharp-*.jpeg;
// images_per_sec is wall time, images_per_cpu_sec counts only the CPU time used.
//
// Decoding once to raw pixels and resizing from those is the faster of the two ways to make
// several outputs with Sharp: `sharp(input).clone()` per output decodes the PNG every time.
// Run it with UV_THREADPOOL_SIZE=1 (the script does) and outputs awaited one after another, so
// that only one core works, as on the Rust side.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

sharp.concurrency(1);
sharp.cache(false);

const WARM_UP = 3;
const JPEG = { quality: 85, mozjpeg: false, chromaSubsampling: '4:2:0' };
const COVER = { fit: 'cover', position: 'centre', kernel: 'lanczos3' };

async function once(source) {
  const { data, info } = await sharp(source).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const raw = { raw: { width: info.width, height: info.height, channels: info.channels } };
  const preset = (w, h) => sharp(data, raw).resize(w, h, COVER).jpeg(JPEG).toBuffer();
  const square = await preset(1080, 1080);
  const landscape = await preset(1280, 720);
  const thumbnail = await preset(384, 384);
  return { square, landscape, thumbnail };
}

async function main() {
  const [input, iterationsArg, outDir] = process.argv.slice(2);
  const iterations = Math.max(1, Number.parseInt(iterationsArg ?? '', 10));
  if (!input || !outDir || Number.isNaN(iterations)) {
    throw new Error('usage: node pipeline.mjs <input.png> <iterations> <out-dir>');
  }
  const source = readFileSync(input);
  let last = await once(source);
  for (let i = 1; i < WARM_UP; i++) last = await once(source);
  const [started, cpuStarted] = [process.hrtime.bigint(), process.cpuUsage()];
  for (let i = 0; i < iterations; i++) last = await once(source);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // getrusage: user + system time of every thread (main, libuv pool, libvips, V8 GC).
  const cpu = process.cpuUsage(cpuStarted);
  const cpu_seconds = (cpu.user + cpu.system) / 1e6;

  mkdirSync(outDir, { recursive: true });
  const bytes = {};
  for (const [name, buffer] of [
    ['sharp-1080x1080.jpeg', last.square],
    ['sharp-1280x720.jpeg', last.landscape],
    ['sharp-thumb-384.jpeg', last.thumbnail],
  ]) {
    writeFileSync(join(outDir, name), buffer);
    bytes[name] = buffer.length;
  }
  // getrusage's ru_maxrss, in KiB on Linux: the same figure as VmHWM.
  const peak_rss_kib = process.resourceUsage().maxRSS;
  console.log(
    JSON.stringify({
      images_per_sec: iterations / seconds,
      images_per_cpu_sec: iterations / cpu_seconds,
      peak_rss_kib,
      iterations,
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
