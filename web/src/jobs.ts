// Every running job of the user, with its progress, on the Create page. The jobs come from the
// API (`GET /generations`), so they survive a reload and show what another tab started; each is
// polled until it finishes, with back-off when polls fail (never giving up on a blip: only an
// answer that cannot change, a finished job, a 401 or a 404, stops it).

import { get, Problem, type Job, type Listing } from "./api";
import { imageCard } from "./components";
import { h, mount, status } from "./dom";
import { explain } from "./errors";
import { Backoff } from "./pure/backoff";
import { finished, jobProgress } from "./pure/jobs";
import { setCredits } from "./session";

const SLOW_MS = 5 * 60 * 1000;

interface Tracked {
  job: Job;
  el: HTMLElement;
  progress: HTMLProgressElement;
  text: HTMLElement;
  previews: HTMLElement;
  body: HTMLElement;
  seen: number;
}

export interface JobsPanel {
  el: HTMLElement;
  /** A job just accepted by `POST /generations`. */
  add(job: Job): void;
}

function describe(job: Job): string {
  const r = job.request;
  const size = r.preset === "custom" && r.width && r.height ? `${r.width}×${r.height}` : r.preset;
  const what = `${r.count} × ${size}, ${job.cost} credit${job.cost === 1 ? "" : "s"}`;
  switch (job.status) {
    case "queued":
      return `Queued: ${what}.`;
    case "running":
      return `Drawing your images: ${what}.`;
    case "succeeded":
      return `Done: ${what}.`;
    case "failed":
      return `Failed: ${what}.`;
  }
}

export function jobsPanel(): JobsPanel {
  const list = h("ol", { class: "jobs", "aria-label": "Your jobs" });
  const connection = h("div", { class: "poll-state" });
  const empty = h("p", { class: "hint", "data-testid": "no-jobs" }, "Your images appear here as they are made. Jobs keep running if you leave or reload the page.");
  const el = h("section", { class: "result", "aria-labelledby": "jobs-title" }, h("h2", { id: "jobs-title" }, "Your images"), connection, empty, list);
  const tracked = new Map<string, Tracked>();
  const backoff = new Backoff();
  let timer: ReturnType<typeof setTimeout> | null = null;
  let started = Date.now();

  function paint(t: Tracked): void {
    const job = t.job;
    t.progress.value = jobProgress(job.status, job.previews?.length ?? 0);
    t.text.textContent = describe(job);
    t.el.dataset.status = job.status;
    const previews = job.previews ?? [];
    if (!finished(job.status) && previews.length > t.seen) {
      t.seen = previews.length;
      const last = previews[previews.length - 1];
      if (last) mount(t.previews, h("img", { src: last.url, alt: `Partial image ${previews.length} of “${job.request.prompt}” as it forms`, class: "preview", "data-testid": "preview", width: 256, height: 256 }));
    }
    if (!finished(job.status)) return;
    mount(t.previews);
    const notes = [];
    if (job.status === "failed") {
      notes.push(status(explain(new Problem(0, job.error?.code ?? "generation_failed", job.error?.message ?? "")), "error"));
    } else if (job.refunded > 0) {
      notes.push(status(`${job.images.length} of ${job.request.count} images were made; ${job.refunded} credit${job.refunded === 1 ? " was" : "s were"} refunded.`, "info"));
    }
    if (job.images.length) notes.push(status(`${job.images.length} image${job.images.length > 1 ? "s are" : " is"} ready.`, "success"));
    mount(t.body, notes, h("div", { class: "cards" }, job.images.map(imageCard)));
    if (job.refunded > 0) void get<{ credits: number }>("/me").then((me) => setCredits(me.credits), () => null);
  }

  function track(job: Job, first: boolean): void {
    if (tracked.has(job.id)) return;
    const progress = h("progress", { max: 100, value: 0, "aria-label": `Progress of “${job.request.prompt}”` });
    const text = h("p", { class: "job-status", "data-testid": "job-status" });
    const previews = h("div", { class: "previews" });
    const body = h("div", { class: "job-body" });
    const item = h("li", { class: "job panel", "data-job-id": job.id }, h("p", { class: "job-prompt" }, job.request.prompt), progress, text, previews, body);
    const t: Tracked = { job, el: item, progress, text, previews, body, seen: 0 };
    tracked.set(job.id, t);
    if (first) list.prepend(item);
    else list.append(item);
    empty.hidden = true;
    paint(t);
  }

  function schedule(delay: number): void {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => void poll(), delay);
  }

  async function poll(): Promise<void> {
    timer = null;
    if (!el.isConnected) return; // the page was left: nothing to show it to
    const active = [...tracked.values()].filter((t) => !finished(t.job.status));
    if (active.length === 0) return;
    const answers = await Promise.allSettled(active.map((t) => get<Job>(`/generations/${encodeURIComponent(t.job.id)}`)));
    let failure: unknown = null;
    answers.forEach((answer, i) => {
      const t = active[i] as Tracked;
      if (answer.status === "fulfilled") {
        t.job = answer.value;
        paint(t);
      } else if (answer.reason instanceof Problem && answer.reason.status === 404) {
        t.el.remove();
        tracked.delete(t.job.id);
      } else {
        failure = answer.reason;
      }
    });
    if (failure instanceof Problem && failure.status === 401) {
      // The session ended: the page's banner says so; polling again would only repeat the 401.
      mount(connection, status(explain(failure), "error"));
      return;
    }
    if (failure) {
      const wait = backoff.failed();
      mount(connection, status([explain(failure), ` Trying again in ${Math.ceil(wait / 1000)} s.`], "info"));
      schedule(wait);
      return;
    }
    mount(connection, Date.now() - started > SLOW_MS ? status(["This is taking longer than usual. The images will be in your ", h("a", { href: "/history" }, "history"), " when they are done."], "info") : null);
    schedule(backoff.succeeded());
  }

  // The jobs still running from before (another tab, a reload), newest first.
  void get<Listing<Job>>("/generations?limit=20").then(
    (page) => {
      const running = page.items.filter((j) => !finished(j.status));
      for (const job of running) track(job, false);
      if (running.length) schedule(0);
    },
    (e) => mount(connection, status(explain(e), "error")),
  );

  return {
    el,
    add(job: Job) {
      started = Date.now();
      backoff.reset();
      track(job, true);
      schedule(1000);
    },
  };
}
