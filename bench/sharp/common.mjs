// What both Sharp scripts share: one job's pixels and resizes, as a Node developer would write
// them with Sharp for this job, made as fast as Sharp allows.
//
// The source is decoded once to raw pixels and both outputs are resized from those: with
// `sharp(input).clone()` per output the PNG would be decoded twice. A JPEG job flattens
// transparency onto white (as the Rust side does); an alpha job keeps it (libvips premultiplies
// for the resize). Cover + centre crop, Lanczos3 (libvips uses it for reductions; it enlarges
// with a bicubic either way).
import sharp from 'sharp';

sharp.concurrency(1);
sharp.cache(false);

const COVER = { fit: 'cover', position: 'centre', kernel: 'lanczos3' };

export { sharp };

/** The thumbnail's size: `longest` on the preset's longest side, the other in proportion. */
export function thumbnailSize(width, height, longest) {
  const scaled = (short, long) => Math.max(1, Math.floor((2 * short * longest + long) / (2 * long)));
  return width >= height ? [longest, scaled(height, width)] : [scaled(width, height), longest];
}

export async function decode(source, job) {
  let image = sharp(source);
  image = job.keep_alpha ? image.ensureAlpha() : image.flatten({ background: '#ffffff' });
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  return { data, raw: { raw: { width: info.width, height: info.height, channels: info.channels } } };
}

/** A resize of the decoded source to `width` x `height`, not yet encoded. */
export function resized(decoded, width, height) {
  return sharp(decoded.data, decoded.raw).resize(width, height, COVER);
}

/** Encodes in the job's format with `setting`: quality (JPEG, WebP) or compressionLevel (PNG). */
export function encode(pipeline, format, setting) {
  switch (format) {
    // libjpeg-turbo as Sharp ships it: optimiseCoding (Huffman tables per image) is its default.
    case 'jpeg':
      return pipeline.jpeg({ quality: setting, mozjpeg: false, chromaSubsampling: '4:2:0' }).toBuffer();
    case 'webp':
      return pipeline.webp({ quality: setting }).toBuffer();
    case 'png':
      return pipeline.png({ compressionLevel: setting, adaptiveFiltering: true }).toBuffer();
    default:
      throw new Error(`unknown format ${format}`);
  }
}

/** CPU seconds of every thread of this process so far (getrusage). */
export function cpuSeconds() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}
