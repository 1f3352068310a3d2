/**
 * Tags as the API takes them (DESIGN §2, `Tag` in the domain crate): letters, digits, `-` and
 * `_`, lower-cased, at most 10, distinct. A space can never be inside a tag, so commas and
 * white space both separate tags, on Create and on the image page alike.
 */
export const TAGS_MAX = 10;

export function splitTags(text: string): string[] {
  const seen: string[] = [];
  for (const raw of text.split(/[,\s]+/)) {
    const tag = raw.replace(/^#+/, "").trim().toLowerCase();
    if (tag && !seen.includes(tag)) seen.push(tag);
  }
  return seen;
}

/** What the API would refuse, said before asking it (null when the tags are fine). */
export function tagsProblem(tags: string[]): string | null {
  if (tags.length > TAGS_MAX) return `Use at most ${TAGS_MAX} tags.`;
  const bad = tags.find((t) => !/^[\p{L}\p{N}_-]{1,32}$/u.test(t));
  return bad === undefined ? null : `"${bad}" is not a tag: use letters, digits, - and _ (up to 32).`;
}
