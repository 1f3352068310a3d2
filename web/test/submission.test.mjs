// The web client's unit tests run on Node's own runner over the compiled module (`npm test`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Submission } from "../.test-build/submission.js";

function counter() {
  let n = 0;
  return () => `key-${++n}`;
}

const request = { prompt: "a lighthouse at dawn", model: "v2", preset: "story", count: 1, tags: [] };

test("every retry of one submission sends the same key", () => {
  const submission = new Submission(counter());
  const first = submission.keyFor(request);
  assert.equal(submission.keyFor(request), first, "a retry after a network error");
  assert.equal(submission.keyFor({ ...request }), first, "an equal request is the same submission");
});

test("a changed request or an accepted one starts a new key", () => {
  const submission = new Submission(counter());
  const first = submission.keyFor(request);
  const changed = submission.keyFor({ ...request, count: 2 });
  assert.notEqual(changed, first);
  assert.equal(submission.keyFor({ ...request, count: 2 }), changed);
  submission.accepted();
  const next = submission.keyFor({ ...request, count: 2 });
  assert.notEqual(next, changed, "the same request again after success is a new generation");
});

test("random keys are distinct", () => {
  const submission = new Submission();
  const a = submission.keyFor(request);
  submission.accepted();
  assert.notEqual(submission.keyFor(request), a);
});
