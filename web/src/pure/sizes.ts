/** Custom sizes as the catalogue bounds them (DESIGN §10): each side in [min, max], the longer at
 * most `maxRatio` times the shorter. */
export interface CustomSizeLimits {
  min: number;
  max: number;
  maxRatio: number;
}

export interface SizeProblem {
  field: "width" | "height";
  message: string;
}

export function customSizeProblems(width: number, height: number, limits: CustomSizeLimits): SizeProblem[] {
  const problems: SizeProblem[] = [];
  for (const [field, value] of [["width", width], ["height", height]] as const) {
    if (!Number.isInteger(value) || value < limits.min || value > limits.max) {
      problems.push({ field, message: `${field[0]?.toUpperCase()}${field.slice(1)}: a whole number of pixels from ${limits.min} to ${limits.max}.` });
    }
  }
  if (problems.length === 0 && Math.max(width, height) > limits.maxRatio * Math.min(width, height)) {
    const message = `The longer side may be at most ${limits.maxRatio} times the shorter.`;
    problems.push({ field: "width", message }, { field: "height", message });
  }
  return problems;
}

/** A box of at most `box` px on its longer side with the aspect of `width` x `height` (at least
 * 4 px a side): the live outline of the chosen size. */
export function outline(width: number, height: number, box: number): { width: number; height: number } {
  if (!(width > 0) || !(height > 0)) return { width: box, height: box };
  const scale = box / Math.max(width, height);
  return { width: Math.max(4, Math.round(width * scale)), height: Math.max(4, Math.round(height * scale)) };
}

/** `srcset` for an image whose thumbnail's longer side is `thumbLongest` px: the browser takes
 * the thumbnail first where it is enough and the sized image where it is not. */
export function srcset(urls: { thumbnail: string; image: string }, width: number, height: number, thumbLongest = 384): string {
  const tw = Math.round((thumbLongest * width) / Math.max(width, height));
  if (tw >= width) return `${urls.image} ${width}w`;
  return `${urls.thumbnail} ${tw}w, ${urls.image} ${width}w`;
}

/** An aspect ratio as people say it: reduced (1080x1920 -> "9:16"), or to two decimals when
 * the reduced terms are not small (1200x627 -> "1.91:1", not "400:209"). */
export function ratio(width: number, height: number): string {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const d = gcd(width, height) || 1;
  const [w, h] = [width / d, height / d];
  if (w <= 32 && h <= 32) return `${w}:${h}`;
  return width >= height ? `${(width / height).toFixed(2).replace(/\.?0+$/, "")}:1` : `1:${(height / width).toFixed(2).replace(/\.?0+$/, "")}`;
}
