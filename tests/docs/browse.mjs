// Opens pages of the docs site in Debian's Chromium through playwright-core and prints, as JSON,
// what a reader would see: each page's operations (id, method, path, their result rows, links),
// its decisions count, every request the browser made, and any page or console error.
//
//   node browse.mjs '{"pages": [{"url": "...", "kind": "platform"|"index", "screenshot": "x.png"}]}'
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);
const isLocal = (raw) => {
  const url = new URL(raw);
  if (["file:", "data:", "blob:", "about:"].includes(url.protocol)) return true;
  return LOCAL_HOSTS.has(url.hostname) || /^127\./.test(url.hostname);
};

const { pages } = JSON.parse(process.argv[2]);
const profile = mkdtempSync(join(tmpdir(), "chatcontract-chromium-"));
// Without the background-networking flags Chromium hangs on a closed network.
const context = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  viewport: { width: 1400, height: 1000 },
});
const requests = [];
const blocked = [];
const errors = [];
context.on("request", (request) => requests.push(request.url()));
// Every http(s) request passes here: loopback ones go on, anything else is recorded and stopped.
await context.route("**/*", (route) => {
  const url = route.request().url();
  if (isLocal(url)) return route.continue();
  blocked.push(url);
  return route.abort();
});

async function visit(spec) {
    const page = await context.newPage();
    page.on("pageerror", (error) => errors.push(`${spec.url}: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(`${spec.url}: console: ${message.text()}`);
    });
    await page.goto(spec.url, { waitUntil: "load", timeout: 30000 });
    const seen = { url: spec.url, title: await page.title() };
    if (spec.kind === "platform") {
      await page.waitForSelector(".swagger-ui .opblock", { timeout: 30000 });
      seen.operations = await page.$$eval(".swagger-ui .opblock", (blocks) => blocks.map((block) => ({
        operationId: block.querySelector(".opblock-summary-operation-id")?.textContent.trim() ?? "",
        method: block.querySelector(".opblock-summary-method")?.textContent.trim() ?? "",
        path: block.querySelector(".opblock-summary-path")?.getAttribute("data-path") ?? "",
        results: [...block.querySelectorAll(".cc-results tbody tr")]
          .map((row) => [...row.cells].map((cell) => cell.innerText.trim())),
        links: [...block.querySelectorAll("a[href]")].map((a) => a.href),
        text: block.innerText,
      })));
      seen.decisionsHeading = await page.$$eval(".swagger-ui .info h2",
        (heads) => heads.map((h) => h.textContent.trim()).find((t) => t.startsWith("Decisions")) ?? "");
      seen.decisionsAnchor = await page.$(".swagger-ui .info #decisions") !== null;
      seen.summary = await page.$eval(".cc-summary", (el) => el.innerText);
      if (spec.screenshot) {
        const target = spec.focus ? page.locator(spec.focus).first() : null;
        if (target && await target.count()) {
          await target.evaluate((el) => { el.scrollIntoView({ block: "start" }); window.scrollBy(0, -12); });
        }
        await page.screenshot({ path: spec.screenshot });
      }
    } else {
      await page.waitForSelector("table.cc-operations", { timeout: 30000 });
      seen.operations = await page.$$eval("table.cc-operations tbody tr", (rows) => rows.map((row) => ({
        operationId: row.getAttribute("data-operation-id"),
        cells: [...row.cells].map((cell) => cell.innerText.trim()),
        link: row.querySelector("a")?.getAttribute("href") ?? "",
      })));
      seen.platforms = await page.$$eval("table.cc-platforms tbody tr", (rows) => rows.map((row) => (
        [...row.cells].map((cell) => cell.innerText.trim()))));
      seen.matrix = await page.$$eval("table.cc-matrix tbody tr", (rows) => rows.map((row) => (
        [...row.cells].map((cell) => cell.innerText.trim()))));
      if (spec.screenshot) await page.screenshot({ path: spec.screenshot });
    }
    await page.close();
    return seen;
}

const report = { pages: [] };
try {
  for (const spec of pages) report.pages.push(await visit(spec));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
report.requests = requests;
report.blocked = blocked;
report.errors = errors;
process.stdout.write(JSON.stringify(report));
