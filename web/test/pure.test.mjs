// Unit tests of the client's pure logic (tags, back-off, sizes, job progress) on Node's runner.
import { test } from "node:test";
import assert from "node:assert/strict";
import { splitTags, tagsProblem } from "../.test-build/pure/tags.js";
import { Backoff } from "../.test-build/pure/backoff.js";
import { customSizeProblems, outline, ratio, srcset } from "../.test-build/pure/sizes.js";
import { jobProgress, finished } from "../.test-build/pure/jobs.js";

test("tags split the same on commas and white space, lower-cased and distinct", () => {
  assert.deepEqual(splitTags("Sea, dawn  sea\tfavourite,,#Blue"), ["sea", "dawn", "favourite", "blue"]);
  assert.deepEqual(splitTags("sea,dawn"), splitTags("sea dawn"), "Create and the image page agree");
  assert.deepEqual(splitTags("  ,  "), []);
});

test("tags the API would refuse are named before asking it", () => {
  assert.equal(tagsProblem(["sea", "été", "x_1-2"]), null, "letters of any script, digits, - and _");
  assert.match(tagsProblem(["sea!"]) ?? "", /"sea!" is not a tag/);
  assert.match(tagsProblem(["a".repeat(33)]) ?? "", /up to 32/);
  assert.match(tagsProblem(Array.from({ length: 11 }, (_, i) => `t${i}`)) ?? "", /at most 10/);
});

test("a failed poll backs off, doubling up to the ceiling, and never gives up", () => {
  const b = new Backoff({ base: 1000, steady: 4000, max: 30_000, random: () => 0.5 });
  assert.deepEqual([b.failed(), b.failed(), b.failed(), b.failed(), b.failed(), b.failed()], [2000, 4000, 8000, 16000, 30000, 30000]);
  assert.equal(b.failing, 6);
  assert.equal(b.succeeded(), 1000, "a success brings the quick pace back");
  assert.equal(b.failing, 0);
});

test("back-off has jitter within a fifth either way, capped at the ceiling", () => {
  const low = new Backoff({ base: 1000, steady: 4000, max: 30_000, random: () => 0 });
  const high = new Backoff({ base: 1000, steady: 4000, max: 30_000, random: () => 0.999 });
  assert.equal(low.failed(), 1600);
  assert.ok(Math.abs(high.failed() - 2400) <= 1);
  for (let i = 0; i < 10; i++) high.failed();
  assert.equal(high.failed(), 30_000);
});

test("healthy polling slows gently on a long job, up to the steady pace", () => {
  const b = new Backoff({ base: 1000, steady: 4000, max: 30_000 });
  const delays = Array.from({ length: 30 }, () => b.succeeded());
  assert.deepEqual(delays.slice(0, 10), Array(10).fill(1000));
  assert.ok(delays[12] > 1000 && delays[12] < 4000);
  assert.equal(delays[29], 4000);
  b.reset();
  assert.equal(b.succeeded(), 1000, "a new job starts quick again");
});

test("custom sizes follow the catalogue's bounds and ratio, naming the fields", () => {
  const limits = { min: 256, max: 3840, maxRatio: 3 };
  assert.deepEqual(customSizeProblems(1600, 900, limits), []);
  assert.deepEqual(customSizeProblems(3841, 1600, limits).map((p) => p.field), ["width"]);
  assert.deepEqual(customSizeProblems(1000, 100, limits).map((p) => p.field), ["height"]);
  assert.deepEqual(customSizeProblems(3000, 900, limits).map((p) => p.field), ["width", "height"], "a ratio over 3:1 names both");
  assert.deepEqual(customSizeProblems(12.5, 900, limits).map((p) => p.field), ["width"]);
});

test("the live outline keeps the aspect inside its box", () => {
  assert.deepEqual(outline(1600, 900, 72), { width: 72, height: 41 });
  assert.deepEqual(outline(1000, 1500, 72), { width: 48, height: 72 });
  assert.deepEqual(outline(3000, 10, 72), { width: 72, height: 4 }, "never thinner than visible");
  assert.deepEqual(outline(0, 900, 72), { width: 72, height: 72 });
});

test("srcset offers the thumbnail first and the sized image for more pixels", () => {
  const urls = { thumbnail: "t.jpg", image: "i.jpg" };
  assert.equal(srcset(urls, 1080, 1920), "t.jpg 216w, i.jpg 1080w");
  assert.equal(srcset(urls, 1280, 720), "t.jpg 384w, i.jpg 1280w");
  assert.equal(srcset(urls, 300, 300), "i.jpg 300w", "no thumbnail larger than the image");
});

test("a job's progress moves with its status and its partial images", () => {
  assert.equal(jobProgress("queued", 0), 10);
  assert.equal(jobProgress("running", 0), 30);
  assert.equal(jobProgress("running", 1), 60);
  assert.equal(jobProgress("running", 5), 90);
  assert.equal(jobProgress("succeeded", 0), 100);
  assert.equal(finished("failed"), true);
  assert.equal(finished("running"), false);
});

test("ratios read as people say them", () => {
  assert.equal(ratio(1080, 1920), "9:16");
  assert.equal(ratio(1000, 1500), "2:3");
  assert.equal(ratio(1600, 900), "16:9");
  assert.equal(ratio(1200, 627), "1.91:1", "not 400:209");
  assert.equal(ratio(627, 1200), "1:1.91");
  assert.equal(ratio(1000, 1000), "1:1");
});
