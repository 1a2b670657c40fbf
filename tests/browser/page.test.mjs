// The page in Debian's headless Chromium, against a running daemon whose
// mount the test writes to (PORT, MNT and SHOTS come from
// tests/mount/test_web_browser.sh).
import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, rmdirSync } from "node:fs";
import { chromium } from "playwright-core";

const base = `http://127.0.0.1:${process.env.PORT}`;
const mnt = process.env.MNT;
const shots = process.env.SHOTS || "build/artifacts";

async function rowsText(page) {
  return page.$$eval("#rows .row", (rows) => rows.map((r) => r.textContent));
}

test("the log page, as a user uses it", async () => {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });

    // The task list.
    await page.goto(base + "/");
    await page.waitForSelector("#tasks a:text('mixed')");
    const row = await page.textContent("#tasks tr:has(a:text('mixed'))");
    assert.match(row, /running/);

    // FR-010: INFO and above by default, DEBUG hidden.
    await page.goto(base + "/?task=mixed");
    await page.waitForFunction(() => document.querySelectorAll("#rows .row").length > 0);
    assert.equal(await page.inputValue("#level"), "INFO+");
    let text = await rowsText(page);
    assert.ok(text.some((t) => t.includes("INFO")));
    assert.ok(!text.some((t) => t.includes("DEBUG")), "DEBUG shown by default");

    // US1: choose superset_api, see only those; a new one appears live, a
    // plugin one does not.
    await page.selectOption("#source", "superset_api");
    await page.waitForFunction(() => {
      const s = [...document.querySelectorAll("#rows .row .src")].map((e) => e.textContent);
      return s.length > 0 && s.every((x) => x === "superset_api");
    });
    assert.match(page.url(), /source=superset_api/);
    appendFileSync(`${mnt}/tasks/mixed/logs/all`, "live plugin entry\n");
    appendFileSync(`${mnt}/tasks/mixed/logs/by-source/superset_api`, "live api entry\n");
    await page.waitForSelector("#rows .row:has-text('live api entry')", { timeout: 5000 });
    await page.waitForTimeout(300);
    assert.equal(await page.$("#rows .row:has-text('live plugin entry')"), null);

    // Search and the metadata filter.
    await page.selectOption("#source", "");
    await page.fill("#q", "NEEDLE");
    await page.waitForFunction(() => document.getElementById("state").textContent === "2 entries"); // the third is DEBUG
    await page.fill("#q", "");
    await page.selectOption("#metakey", "dashboard_id");
    await page.fill("#metavalue", "7");
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll("#rows .row")];
      return rows.length > 0 && rows.every((r) => r.textContent.includes("dashboard_id=7"));
    });
    // The URL is a permalink: opening it shows the same filter.
    const link = page.url();
    const again = await browser.newPage();
    await again.goto(link);
    await again.waitForFunction(() => document.querySelectorAll("#rows .row").length > 0);
    assert.equal(await again.inputValue("#metavalue"), "7");
    await again.close();

    // 100k entries: the DOM holds only what is visible; scroll to the end.
    await page.goto(base + "/?task=big&level=DEBUG%2B");
    await page.waitForFunction(() => document.getElementById("state").textContent === "100000 entries",
                               null, { timeout: 60000 });
    const domRows = await page.$$eval("#rows .row", (r) => r.length);
    assert.ok(domRows < 200, `${domRows} rows in the DOM`);
    await page.$eval("#viewport", (v) => { v.scrollTop = v.scrollHeight; });
    await page.waitForSelector("#rows .row:has-text('big entry 99999')");

    // SC-004: from changing the source filter to the rows shown.
    const t0 = Date.now();
    await page.selectOption("#source", "system");
    await page.waitForFunction(() => {
      const s = [...document.querySelectorAll("#rows .row .src")].map((e) => e.textContent);
      return s.length > 0 && s.every((x) => x === "system");
    });
    const ms = Date.now() - t0;
    console.log(`source filter on a 100k-entry task: rows shown in ${ms} ms`);

    // A lost connection reconnects and resumes: no gap, no duplicate.
    await page.goto(base + "/?task=mixed&level=DEBUG%2B");
    await page.waitForFunction(() => /^\d+ entries/.test(document.getElementById("state").textContent));
    const before = await page.evaluate(() => entries.length);
    await page.evaluate(() => ws.close());
    await page.waitForFunction(() => /reconnecting/.test(document.getElementById("conn").textContent));
    for (let i = 0; i < 5; i++) appendFileSync(`${mnt}/tasks/mixed/logs/all`, `while away ${i}\n`);
    await page.waitForFunction((n) => entries.length === n + 5, before, { timeout: 10000 });
    const seqs = await page.evaluate(() => entries.map((e) => e.seq));
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    assert.equal(new Set(seqs).size, seqs.length, "duplicates after reconnecting");
    assert.equal(seqs[seqs.length - 1] - seqs[0] + 1, seqs.length, "a gap after reconnecting");
    assert.equal(await page.textContent("#conn"), "live");

    // #e<seq> anchors one entry.
    await page.goto(base + "/?task=mixed&level=DEBUG%2B#e5");
    await page.waitForSelector("#e5.anchor");

    // A deleted task says so.
    await page.goto(base + "/?task=mixed");
    await page.waitForFunction(() => document.querySelectorAll("#rows .row").length > 0);
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: `${shots}/page.png` });
    rmdirSync(`${mnt}/tasks/mixed`);
    await page.waitForFunction(() => /deleted/.test(document.getElementById("state").textContent),
                               null, { timeout: 10000 });
  } finally {
    await browser.close();
  }
});
