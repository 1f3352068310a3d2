// End-to-end test of the web client in headless Chromium (Debian's, driven by playwright-core)
// against the whole local stack: the dev server binary with its own moto, stand-ins and worker.
//
//   node e2e/run.mjs        (make e2e builds the server and runs this)
//
// Env: ARTFORGE_DEV_BIN (the artforge-dev binary), ARTFORGE_PYTHON (python with moto),
// CHROMIUM (default /usr/bin/chromium), E2E_HEADED=1 to watch it.
// Fails on any console error, page error or 5xx answer, on an accessibility basic (a control
// without an accessible name, an image without alt, a page wider than a 390 px phone), and on
// any step. Screenshots of every main page go to web/e2e/screenshots/ (git-ignored).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync } from "node:fs";
import net from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const shots = join(here, "screenshots");
mkdirSync(shots, { recursive: true });

const BIN = process.env.ARTFORGE_DEV_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(root, "target"), "debug/artforge-dev");
const PYTHON = process.env.ARTFORGE_PYTHON ?? join(root, ".venv/bin/python");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const PHONE = { width: 390, height: 844 };
const started = Date.now();
const deadline = setTimeout(() => {
  console.error("e2e: over the 150 s budget, giving up");
  stop().finally(() => process.exit(2));
}, 150_000);

for (const [what, path] of [["dev server binary", BIN], ["python with moto", PYTHON], ["chromium", CHROMIUM], ["web build", join(root, "web/dist/index.html")]]) {
  if (!existsSync(path)) {
    console.error(`e2e: no ${what} at ${path}`);
    process.exit(2);
  }
}

function log(step) {
  console.log(`e2e ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s  ${step}`);
}

async function freePort() {
  return new Promise((ok, fail) => {
    const s = net.createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

// ---- the server -------------------------------------------------------------------------

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const serverLog = join(shots, "server.log");
const out = createWriteStream(serverLog);
const env = { ...process.env, PORT: String(port), ARTFORGE_PYTHON: PYTHON, WEB_DIST: join(root, "web/dist"), RUST_LOG: "warn" };
for (const k of ["AWS_ENDPOINT_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "STRIPE_API_BASE", "CHECKOUT_SUCCESS_URL", "CHECKOUT_CANCEL_URL", "PUBLIC_BASE_URL"]) delete env[k];
// Its own process group, so moto (its child) goes with it.
const server = spawn(BIN, [], { cwd: root, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
server.stdout.pipe(out);
server.stderr.pipe(out);
let exited = null;
server.on("exit", (code, signal) => (exited = { code, signal }));

async function stop() {
  if (exited || server.pid === undefined) return;
  try {
    process.kill(-server.pid, "SIGINT"); // graceful: the server stops moto
  } catch {}
  for (let i = 0; i < 50 && !exited; i++) await new Promise((r) => setTimeout(r, 100));
  if (!exited) {
    try {
      process.kill(-server.pid, "SIGKILL");
    } catch {}
  }
}
process.on("exit", () => {
  if (!exited && server.pid !== undefined) {
    try {
      process.kill(-server.pid, "SIGKILL");
    } catch {}
  }
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => stop().finally(() => process.exit(130)));

async function ready() {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    if (exited) throw new Error(`the dev server exited early (${JSON.stringify(exited)}); see ${serverLog}`);
    try {
      const r = await fetch(`${base}/api/models`);
      if (r.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the dev server was not ready within 60 s; see ${serverLog}`);
}

// ---- the checks every page gets ---------------------------------------------------------

const problems = [];
// Chromium logs every 4xx answer to a fetch as a console error. A step that provokes one on
// purpose (to see the page explain it) announces it here; anything else fails the run.
const expected = [];
function expectConsoleError(pattern) {
  expected.push(pattern);
}
function watch(context, name) {
  context.on("page", (page) => {
    page.on("console", (msg) => {
      if (msg.type() !== "error") return;
      const at = expected.findIndex((p) => p.test(msg.text()));
      if (at >= 0) expected.splice(at, 1);
      else problems.push(`[${name}] console error on ${page.url()}: ${msg.text()}`);
    });
    page.on("pageerror", (err) => problems.push(`[${name}] page error on ${page.url()}: ${err.message}`));
  });
  context.on("response", (response) => {
    if (response.status() >= 500) problems.push(`[${name}] ${response.status()} from ${response.request().method()} ${response.url()}`);
  });
  context.on("requestfailed", (request) => {
    // A download that the browser hands to its download manager reports as aborted.
    if (request.failure()?.errorText !== "net::ERR_ABORTED") problems.push(`[${name}] request failed: ${request.url()} ${request.failure()?.errorText}`);
  });
}

const NAMED_ROLES = new Set(["button", "link", "textbox", "searchbox", "combobox", "checkbox", "radio", "menuitem", "switch", "slider", "spinbutton", "listbox", "tab"]);

/** Lighthouse-style basics: controls have accessible names (Chromium's own computation),
 * images have alt text (content images: the prompt), nothing is wider than the viewport. */
async function audit(page, name) {
  const cdp = await page.context().newCDPSession(page);
  const { nodes } = await cdp.send("Accessibility.getFullAXTree");
  await cdp.detach();
  const unnamed = nodes
    .filter((n) => !n.ignored && NAMED_ROLES.has(n.role?.value) && !String(n.name?.value ?? "").trim())
    .map((n) => `${n.role.value}#${n.backendDOMNodeId}`);
  assert.deepEqual(unnamed, [], `${name}: controls without an accessible name`);
  const images = await page.$$eval("img", (imgs) =>
    imgs.map((i) => ({ alt: i.getAttribute("alt"), content: Boolean(i.closest("[data-image-id], .detail-media")), src: i.src.slice(0, 80) })),
  );
  for (const img of images) {
    assert.notEqual(img.alt, null, `${name}: an image without alt: ${img.src}`);
    if (img.content) assert.ok(img.alt.trim().length > 0, `${name}: a content image with empty alt: ${img.src}`);
  }
  const width = page.viewportSize()?.width ?? 0;
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scrollWidth <= width, `${name}: the page is ${scrollWidth}px wide in a ${width}px viewport`);
}

async function shot(page, name) {
  await page.evaluate(() => window.scrollTo(0, 0)); // the sticky bar at the top of a full-page capture
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function check(page, name) {
  await audit(page, name);
  await shot(page, name);
  log(`checked and captured ${name}`);
}

/** The image is in view and has loaded (lazy images load when scrolled to). */
async function imageLoaded(img) {
  await img.scrollIntoViewIfNeeded();
  await img.page().waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle(), { timeout: 10_000 });
}

/** The grid has finished loading (and holds `count` thumbnails, if given). */
async function gridLoaded(page, count) {
  await page.locator(".paged[aria-busy=false]").first().waitFor();
  if (count !== undefined) await page.waitForFunction((n) => document.querySelectorAll(".grid .thumb").length === n, count, { timeout: 10_000 });
}

// ---- the scenario -----------------------------------------------------------------------

let browser;
let failed = false;
try {
  await ready();
  log(`dev server ready at ${base}`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: !process.env.E2E_HEADED,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const phone = await browser.newContext({ baseURL: base, viewport: PHONE, deviceScaleFactor: 1, isMobile: false, hasTouch: true });
  phone.setDefaultTimeout(15_000);
  watch(phone, "phone");
  const page = await phone.newPage();

  // Home, signed out.
  await page.goto("/");
  await page.getByRole("heading", { level: 1 }).waitFor();
  await gridLoaded(page, 0);
  await check(page, "home-signed-out");

  // Register: the browser's own checks first, then the account.
  await page.getByRole("link", { name: "Sign up" }).click();
  await page.getByRole("heading", { name: "Create your account" }).waitFor();
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByText("Enter an email address like name@example.com.").waitFor();
  await check(page, "register");
  const email = `e2e-${Date.now()}@example.com`;
  await page.getByLabel("Name (optional)").fill("Eve Tester");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByTestId("balance").filter({ hasText: "3" }).waitFor();
  log(`registered ${email} with 3 credits`);

  // Create: V2, story, 3 images: the price first, then the job, then the images.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Create" }).click();
  await page.getByRole("heading", { name: "Create", level: 1 }).waitFor();
  await page.getByRole("radio", { name: /V2 fast/ }).check();
  await page.locator("input[name=preset][value=story]").check();
  await page.getByLabel("Images", { exact: true }).selectOption("3");
  await page.getByRole("radio", { name: /Low/ }).check();
  await page.getByTestId("price").filter({ hasText: "3 credits" }).waitFor();
  await page.getByRole("radio", { name: /V3 best/ }).check();
  assert.equal(await page.getByLabel("Images", { exact: true }).isDisabled(), true, "V3 makes one image at a time");
  await page.getByRole("radio", { name: /V2 fast/ }).check();
  await page.getByLabel("Images", { exact: true }).selectOption("3");
  await page.getByTestId("price").filter({ hasText: "3 credits" }).waitFor();
  const prompt = "A lighthouse at dawn over a calm sea";
  await page.getByLabel("Prompt").fill(prompt);
  await page.getByLabel("Tags").fill("sea");
  await page.getByRole("button", { name: /Create 3 images · 3 credits/ }).click();
  await page.getByTestId("job-status").waitFor();
  await page.locator(".cards .card").nth(2).waitFor({ timeout: 60_000 });
  assert.equal(await page.locator(".cards .card").count(), 3);
  for (const img of await page.locator(".cards .card img").all()) {
    assert.equal(await img.getAttribute("alt"), prompt);
    await imageLoaded(img);
    assert.equal(await img.evaluate((el) => `${el.naturalWidth}x${el.naturalHeight}`), "1080x1920");
  }
  await page.getByTestId("balance").filter({ hasText: /^0$/ }).waitFor();
  await page.getByText("Not enough credits:").getByRole("link", { name: "buy credits" }).waitFor();
  log("the job made 3 story images (1080x1920); balance 0, and the form says to buy credits");

  // Like one.
  const firstCard = page.locator(".cards .card").first();
  const likedId = await firstCard.getAttribute("data-image-id");
  await firstCard.getByRole("button", { name: /^Like/ }).click();
  await firstCard.getByRole("button", { name: /^Unlike \(1 like\)/ }).waitFor();
  await check(page, "create");

  // History with filters: by tier, liked only.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "History" }).click();
  await gridLoaded(page, 3);
  await page.getByLabel("Model").selectOption("v3");
  await gridLoaded(page, 0);
  await page.getByText("No images match these filters.").waitFor();
  await page.getByLabel("Model").selectOption("v2");
  await gridLoaded(page, 3);
  assert.match(page.url(), /model=v2/);
  await page.getByLabel("Model").selectOption("");
  await page.getByLabel("Liked only").check();
  await gridLoaded(page, 1);
  assert.equal(await page.locator(".grid .thumb").first().getAttribute("data-image-id"), likedId);
  await check(page, "history-liked");
  await page.getByLabel("Liked only").uncheck();
  await gridLoaded(page, 3);
  await check(page, "history");
  log("history filtered by tier and by liked");

  // Tag one (not the liked one) and filter by the tag.
  const tagged = page.locator(".grid .thumb").nth(1);
  const taggedId = await tagged.getAttribute("data-image-id");
  await tagged.getByRole("link").click();
  await page.getByRole("heading", { name: prompt, level: 1 }).waitFor();
  await page.getByLabel("Tags", { exact: true }).fill("sea, favourite");
  await page.getByRole("button", { name: "Save tags" }).click();
  await page.getByText("Tags saved.").waitFor();
  await check(page, "detail");

  // Its download link: a redirect to the file, as an attachment.
  const href = await page.getByTestId("download").getAttribute("href");
  const download = await page.request.get(href);
  assert.equal(download.status(), 200, "download answers 200 after its redirect");
  assert.match(download.headers()["content-disposition"] ?? "", /^attachment; filename="artforge-story-.+\.jpe?g"/);
  assert.equal(download.headers()["content-type"], "image/jpeg");
  const bytes = await download.body();
  assert.ok(bytes.length > 1000 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff, "JPEG bytes");
  log(`download: ${bytes.length} bytes of JPEG, ${download.headers()["content-disposition"]}`);

  await page.getByRole("link", { name: "#favourite" }).click();
  await gridLoaded(page, 1);
  assert.equal(await page.locator(".grid .thumb").first().getAttribute("data-image-id"), taggedId);
  assert.equal(await page.getByLabel("Tag", { exact: true }).inputValue(), "favourite");
  log("tagged one and filtered by the tag");

  // Buy a pack through the local checkout, with the user menu driven by the keyboard.
  const toggle = page.getByRole("button", { name: /Account menu/ });
  await toggle.focus();
  await page.keyboard.press("Enter");
  await page.getByRole("menuitem", { name: "Profile" }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Profile");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowDown");
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Buy credits");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Credits", level: 1 }).waitFor();
  await gridLoaded(page);
  assert.equal(await page.getByTestId("credits-balance").textContent(), "0");
  await check(page, "credits");
  const packButton = page.getByRole("button", { name: /^Buy \d+ credits/ }).first();
  const packCredits = Number((await packButton.getAttribute("aria-label")).match(/^Buy (\d+) credits/)[1]);
  await packButton.click();
  await page.waitForURL(/\/stripe\/checkout\//);
  await page.locator("#pay").click();
  await page.waitForURL(/\/credits\/return\?session_id=cs_test_/);
  await page.getByTestId("new-balance").filter({ hasText: String(packCredits) }).waitFor({ timeout: 35_000 });
  await page.getByTestId("balance").filter({ hasText: String(packCredits) }).waitFor();
  await check(page, "credits-return");
  log(`bought ${packCredits} credits: balance 0 -> ${packCredits}`);


  // A prompt the provider refuses: the job fails, the page says what to change, credits return.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Create" }).click();
  await page.getByRole("radio", { name: /V3 best/ }).check();
  await page.getByLabel("Prompt").fill("A storm at sea [fault:policy]");
  await page.getByRole("button", { name: /Create 1 image · 2 credits/ }).click();
  await page.getByText(/refused this prompt under its content policy\. Rephrase it/).waitFor({ timeout: 30_000 });
  await page.getByTestId("balance").filter({ hasText: String(packCredits) }).waitFor();
  await check(page, "create-refused");
  log("a refused prompt: told what to change, credits refunded");

  // Two more jobs of 5: 13 images, more than a page (12); the history scrolls on to the rest.
  for (const take of [1, 2]) {
    await page.getByRole("radio", { name: /V2 fast/ }).check();
    await page.getByLabel("Images", { exact: true }).selectOption("5");
    await page.getByLabel("Prompt").fill(`A field of poppies under a summer sky, take ${take}`);
    await page.getByRole("button", { name: /Create 5 images · 5 credits/ }).click();
    await page.getByTestId("job-status").waitFor();
    await page.getByText("5 images are ready.").waitFor({ timeout: 60_000 });
  }
  await page.getByTestId("balance").filter({ hasText: String(packCredits - 10) }).waitFor();
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "History" }).click();
  await gridLoaded(page, 12);
  await page.getByRole("button", { name: "Load more" }).scrollIntoViewIfNeeded();
  await gridLoaded(page, 13);
  await page.getByRole("button", { name: "Load more" }).waitFor({ state: "hidden" });
  await audit(page, "history-scrolled");
  log("13 images: the history's second page came with scrolling");

  // Make the liked one public.
  await page.goto(`/history/${likedId}`);
  await page.getByRole("button", { name: /Make public/ }).click();
  await page.getByRole("button", { name: /Make private \(now public\)/ }).waitFor();
  await page.getByRole("link", { name: /Share on X/ }).waitFor();
  await page.goto(`/i/${likedId}`);
  await page.getByRole("heading", { name: prompt, level: 1 }).waitFor();
  await check(page, "share");
  log("made one public");

  // A second session (another browser context, signed out, desktop width) sees it in the feed.
  const desktop = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 900 } });
  desktop.setDefaultTimeout(15_000);
  watch(desktop, "visitor");
  const visitor = await desktop.newPage();
  await visitor.goto("/");
  await gridLoaded(visitor, 1);
  const inFeed = visitor.locator(`.grid .thumb[data-image-id="${likedId}"] img`);
  assert.equal(await inFeed.getAttribute("alt"), prompt);
  await imageLoaded(inFeed);
  await audit(visitor, "home-feed-desktop");
  await shot(visitor, "home-feed-desktop");
  log("a second session sees it in the public feed");

  // The API's problem details inline: the visitor tries to register the taken email.
  await visitor.getByRole("link", { name: "Sign up" }).click();
  await visitor.getByLabel("Email").fill(email);
  await visitor.getByLabel("Password").fill("another good passphrase");
  expectConsoleError(/status of 409/);
  await visitor.getByRole("button", { name: "Create account" }).click();
  await visitor.getByText("An account with this email already exists.").waitFor();
  assert.equal(await visitor.getByLabel("Email").getAttribute("aria-invalid"), "true");
  await check(visitor, "register-email-taken");
  await visitor.goto("/");

  // The phone's home shows it too, then delete it.
  await page.goto("/");
  await gridLoaded(page, 1);
  await check(page, "home");
  await page.goto(`/history/${likedId}`);
  await page.getByRole("button", { name: "Delete image" }).click();
  await page.getByRole("button", { name: "Yes, delete" }).click();
  await page.waitForURL(/\/history/);
  await page.getByText("The image was deleted.").waitFor();
  await gridLoaded(page, 12);
  assert.equal(await page.locator(`.grid .thumb[data-image-id="${likedId}"]`).count(), 0);
  await visitor.reload();
  await gridLoaded(visitor, 0);
  log("deleted it: gone from history and from the feed");

  // A pack whose webhook is lost: the return page asks Stripe, which says paid, and the
  // credits arrive at once; nothing waits for a webhook that never comes.
  const held = Number(await page.getByTestId("balance").textContent());
  await page.goto(`${base}/credits`);
  await gridLoaded(page);
  await page.getByRole("button", { name: /^Buy \d+ credits/ }).first().click();
  await page.waitForURL(/\/stripe\/checkout\//);
  await page.locator("#pay-lost-webhook").click();
  await page.waitForURL(/\/credits\/return\?session_id=cs_test_/);
  await page.getByTestId("new-balance").filter({ hasText: String(held + packCredits) }).waitFor({ timeout: 15_000 });
  log(`a lost webhook: the return page granted the pack (balance ${held} -> ${held + packCredits})`);

  // Log out (keyboard again: the last item, wrapping upwards).
  await page.getByRole("button", { name: /Account menu/ }).focus();
  await page.keyboard.press("Enter");
  await page.getByRole("menuitem", { name: "Profile" }).waitFor();
  await page.keyboard.press("ArrowUp");
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Log out");
  await page.keyboard.press("Enter");
  await page.getByRole("link", { name: "Log in" }).waitFor();
  const me = await page.request.get("/api/me");
  assert.equal(me.status(), 401, "the session is gone after logging out");
  await page.getByRole("link", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Log in" }).waitFor();
  await check(page, "login");
  log("logged out");

  assert.deepEqual(problems, [], "console errors, page errors, failed requests or 5xx answers");
  assert.deepEqual(expected, [], "console errors a step expected but did not see");
  log(`passed; screenshots in ${shots}`);
} catch (e) {
  failed = true;
  console.error(`e2e FAILED: ${e?.stack ?? e}`);
  if (problems.length) console.error(`also seen:\n  ${problems.join("\n  ")}`);
  try {
    const text = readFileSync(serverLog, "utf8").split("\n").slice(-30).join("\n");
    console.error(`--- last lines of ${serverLog} ---\n${text}`);
  } catch {}
} finally {
  await browser?.close().catch(() => {});
  await stop();
  clearTimeout(deadline);
}
process.exit(failed ? 1 : 0);
