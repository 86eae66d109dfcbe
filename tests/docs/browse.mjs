// Opens pages of the docs site in Debian's Chromium through playwright-core and prints, as JSON,
// what a reader would see: each page's operations (id, method, path, their result rows, links),
// how it looked on arrival (operations open, page height) and once every operation was opened,
// its decisions count, its compatibility matrices (header, cells and their links), every request
// the browser made, and any page or console error. Optional per page:
//   "filters": [{"text": "...", "status": "..."}]  the operations left visible by each filter;
//   "downloads": true   follow each bundled-spec link and return what it delivered;
//   "follow": {"platform", "row", "column"}  click that matrix cell, report the block it opened,
//             then click its first failing check's operation link and report where it landed.
//
//   node browse.mjs '{"pages": [{"url": "...", "kind": "platform"|"index"|"history", "screenshot": "x.png"}]}'
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
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

const matrices = (page) => page.$$eval("table.cc-matrix", (tables) => tables.map((table) => ({
  platform: table.getAttribute("data-platform"),
  header: [...table.querySelectorAll("thead th")].map((th) => th.innerText.trim()),
  rows: [...table.querySelectorAll("tbody tr")].map((row) => [...row.cells].map((cell) => ({
    text: cell.innerText.trim(), href: cell.querySelector("a")?.getAttribute("href") ?? "" }))),
})));

// Whether an element is displayed and at least partly inside the viewport (in every page).
await context.addInitScript(() => {
  window.__ccInView = (el) => {
    const box = el.getBoundingClientRect();
    return el.offsetParent !== null && box.bottom > 0 && box.top < window.innerHeight && box.height > 0;
  };
  // The height the operations take (their blocks only: what else the page holds, such as the
  // results matrix or the decisions, is not what folding saves).
  window.__ccOperationsHeight = () => Math.round([...document.querySelectorAll(".swagger-ui .opblock")]
    .reduce((sum, b) => sum + b.getBoundingClientRect().height, 0));
});

async function follow(page, want) {
  const cell = await page.$$eval("table.cc-matrix", (tables, want) => {
    const table = tables.find((t) => t.getAttribute("data-platform") === want.platform);
    if (!table) return null;
    const column = [...table.querySelectorAll("thead th")].map((th) => th.innerText.trim()).indexOf(want.column);
    const row = [...table.querySelectorAll("tbody tr")].find((r) => r.cells[0].innerText.trim() === want.row);
    const link = row?.cells[column]?.querySelector("a");
    if (!link) return null;
    link.setAttribute("data-browse-follow", "1");
    return link.getAttribute("href");
  }, want);
  if (!cell) return { found: false };
  await page.click("[data-browse-follow]");
  await page.waitForTimeout(200);
  const block = await page.evaluate(() => {
    const inView = window.__ccInView;
    const target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (!target) return null;
    return { id: target.id, open: target.open === true, visible: inView(target), text: target.innerText,
             curls: [...target.querySelectorAll(".cc-check-fail .cc-curl, .cc-check-error .cc-curl")].map((p) => inView(p) ? p.innerText : "") };
  });
  const result = { found: true, href: cell, url: page.url(), block };
  const opLink = page.locator(".cc-cell:target .cc-check-fail a.cc-op-link, .cc-cell:target .cc-check-error a.cc-op-link").first();
  if (!(await opLink.count())) return result;
  result.operationHref = await opLink.getAttribute("href");
  await opLink.click();
  await page.waitForSelector(".cc-wanted", { timeout: 15000 }).catch(() => null);
  await page.waitForTimeout(300);
  result.landed = await page.evaluate(() => {
    const inView = window.__ccInView;
    const wanted = document.querySelector(".cc-wanted");
    return { url: location.href,
             open: [...document.querySelectorAll(".swagger-ui .opblock.is-open .opblock-summary-operation-id")].map((e) => e.textContent.trim()),
             wanted: wanted ? { check: wanted.getAttribute("data-check-id"), visible: inView(wanted), text: wanted.innerText } : null };
  });
  return result;
}

async function visibleOperations(page) {
  return page.$$eval(".swagger-ui .opblock", (blocks) => blocks.filter((b) => b.offsetParent !== null)
    .map((b) => b.querySelector(".opblock-summary-operation-id")?.textContent.trim() ?? ""));
}

async function filtered(page, filters) {
  const out = [];
  for (const f of filters) {
    await page.fill("#cc-filter-text", f.text ?? "");
    await page.selectOption("#cc-filter-status", f.status ?? "");
    await page.waitForTimeout(100);
    out.push({ ...f, visible: await visibleOperations(page), count: (await page.textContent("#cc-filter-count")).trim() });
  }
  await page.fill("#cc-filter-text", "");
  await page.selectOption("#cc-filter-status", "");
  return out;
}

// Follow each bundled-spec link in a page of its own: a download (YAML, or any file over http)
// or the file shown in the browser (JSON opened from disk); either way, what it delivered.
async function downloads(url) {
  const page = await context.newPage();
  await page.goto(url, { waitUntil: "load", timeout: 30000 });
  const links = await page.$$eval(".cc-summary a[download]", (as) => as.map((a) => a.getAttribute("href")));
  const out = [];
  for (const href of links) {
    await page.goto(url, { waitUntil: "load", timeout: 30000 });
    const link = page.locator(`.cc-summary a[download][href="${href}"]`);
    const downloaded = page.waitForEvent("download", { timeout: 10000 }).catch(() => null);
    await link.click();
    const download = await downloaded;
    if (download) {
      out.push({ href, how: "download", name: download.suggestedFilename(), body: readFileSync(await download.path(), "utf8") });
    } else {
      await page.waitForLoadState("load");
      out.push({ href, how: "opened", name: new URL(page.url()).pathname.split("/").pop(),
                 body: await page.evaluate(() => (document.querySelector("pre") ?? document.body).textContent) });
    }
  }
  await page.close();
  return out;
}

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
      await page.waitForTimeout(200);
      seen.onArrival = await page.evaluate(() => ({
        height: document.documentElement.scrollHeight,
        operationsHeight: window.__ccOperationsHeight(),
        operations: document.querySelectorAll(".swagger-ui .opblock").length,
        open: document.querySelectorAll(".swagger-ui .opblock.is-open").length,
        bodies: document.querySelectorAll(".swagger-ui .opblock-body").length,
        firstOperationTop: Math.round(document.querySelector(".swagger-ui .opblock").getBoundingClientRect().top + window.scrollY),
        lastOperationBottom: Math.round([...document.querySelectorAll(".swagger-ui .opblock")].pop().getBoundingClientRect().bottom + window.scrollY),
      }));
      seen.matrices = await matrices(page);
      if (spec.filters) seen.filters = await filtered(page, spec.filters);
      if (spec.follow) seen.follow = await follow(page, spec.follow);
      await page.click('.cc-summary a[href="#decisions"]');
      await page.waitForTimeout(200);
      seen.decisionsLink = await page.evaluate(() => {
        const heading = document.getElementById("decisions");
        return { open: heading?.closest("details")?.open === true, visible: heading ? window.__ccInView(heading) : false };
      });
      // A reader opens each operation: its description, results and decisions render then.
      for (const summary of await page.$$(".swagger-ui .opblock:not(.is-open) .opblock-summary-control")) {
        await summary.click();
      }
      await page.waitForFunction(() => [...document.querySelectorAll(".swagger-ui .opblock")]
        .every((b) => b.classList.contains("is-open") && b.querySelector(".opblock-body")), null, { timeout: 30000 });
      seen.expandedHeight = await page.evaluate(() => document.documentElement.scrollHeight);
      seen.expandedOperationsHeight = await page.evaluate(() => window.__ccOperationsHeight());
      // An open operation folds again from its path link (the site's own click handling leaves
      // Swagger UI's links alone), and opens again.
      const pathLink = page.locator(".swagger-ui .opblock").first().locator(".opblock-summary-path a");
      await pathLink.click();
      await page.waitForTimeout(200);
      seen.foldedByPathLink = await page.$eval(".swagger-ui .opblock", (b) => !b.classList.contains("is-open"));
      await pathLink.click();
      await page.waitForFunction(() => document.querySelector(".swagger-ui .opblock.is-open .opblock-body"), null,
                                 { timeout: 30000 });
      await page.waitForFunction(() => [...document.querySelectorAll(".swagger-ui .opblock")]
        .every((b) => b.classList.contains("is-open") && b.querySelector(".opblock-body")), null, { timeout: 30000 });
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
    } else if (spec.kind === "history") {
      seen.histories = await page.$$eval("section.cc-history", (sections) => sections.map((s) => ({
        target: s.getAttribute("data-target"),
        header: [...s.querySelectorAll("thead th")].map((th) => th.innerText.trim()),
        rows: [...s.querySelectorAll("tbody tr")].map((row) => [...row.cells].map((cell) => cell.innerText.trim())),
      })));
      if (spec.screenshot) await page.screenshot({ path: spec.screenshot, fullPage: true });
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
      seen.matrices = await matrices(page);
      if (spec.screenshot) await page.screenshot({ path: spec.screenshot });
      if (spec.follow) seen.follow = await follow(page, spec.follow);
    }
    await page.close();
    if (spec.downloads) seen.downloads = await downloads(spec.url);
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
