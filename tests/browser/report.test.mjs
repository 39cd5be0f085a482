// The compliance report's HTML in a real browser: for every shipped example, `truce report`
// writes the page, a local server on 127.0.0.1 serves it (and it is opened once from disk),
// and headless Chromium must show it with nothing on the console, no request off the test
// origin, every section, drawn figures with text alternatives, a PDF when printed, and no
// sideways scrolling on a phone or on paper. A page built to be wrong checks the checks.
//
// Run from the repository root: `node --test tests/browser/` (after `npm ci --prefix
// tests/browser` and `cargo build -p truce`). `TRUCE_BIN` names the truce binary (default
// target/debug/truce, relative to the repository root).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import { chromium } from 'playwright-core';

import {
  CHROMIUM_ARGS,
  CHROMIUM_PATH,
  allowedUnder,
  clippedTextProblems,
  figureProblems,
  headingProblems,
  overflowProblems,
  scriptProblems,
  trafficProblems,
  watchPage,
} from './page-watch.mjs';

const run = promisify(execFile);

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TRUCE_BIN = resolve(REPO_ROOT, process.env.TRUCE_BIN || join('target', 'debug', 'truce'));

/** The shipped examples: every folder of examples/ with an agreement and a reports file. */
const EXAMPLES = readdirSync(join(REPO_ROOT, 'examples'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .filter((name) =>
    ['agreement.toml', 'reports.csv'].every((file) => existsSync(join(REPO_ROOT, 'examples', name, file))),
  )
  .sort();

/** A4 less 10 mm margins on each side, in CSS pixels (96 per inch). */
const A4_CONTENT_WIDTH_PX = Math.floor(((210 - 2 * 10) / 25.4) * 96);
const PHONE = { width: 390, height: 844 };
/** A safety net for a hung browser, not a measure of speed. */
const TEST_TIMEOUT_MS = 120_000;

/** Set up by `before`. */
let outDir;
let server;
let origin;
let browser;

/** Serves the files of `root` (GET only) on 127.0.0.1 at a free port. */
async function serveFolder(root) {
  const types = { '.html': 'text/html; charset=utf-8' };
  const folder = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url, 'http://127.0.0.1').pathname);
    const file = resolve(root, `.${path}`);
    if (request.method === 'GET' && file.startsWith(root + sep)) {
      try {
        const body = await readFile(file);
        const type = types[extname(file)] ?? 'application/octet-stream';
        response.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
        response.end(body);
        return;
      } catch {
        // Not there: answered below.
      }
    }
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('not found');
  });
  await new Promise((done, fail) => {
    folder.once('error', fail);
    folder.listen(0, '127.0.0.1', done);
  });
  return folder;
}

/** `truce report` on one example, into `outDir/NAME.html`. */
async function writeReport(name) {
  const out = join(outDir, `${name}.html`);
  const example = join('examples', name);
  const args = ['report', join(example, 'agreement.toml'), join(example, 'reports.csv'), '--out', out];
  try {
    await run(TRUCE_BIN, args, { cwd: REPO_ROOT });
  } catch (error) {
    throw new Error(`\`truce ${args.join(' ')}\` failed: ${error.stderr || error.message}`);
  }
  return out;
}

/** Opens `url` in a fresh context and returns the page with what it did while loading. */
async function open(url, allowedPrefix, contextOptions = {}) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  const isAllowed = allowedUnder(allowedPrefix);
  const record = await watchPage(page, isAllowed);
  const response = await page.goto(url, { waitUntil: 'load' });
  return { context, page, record, isAllowed, response };
}

/** Opens a page served by the test server. */
function openServed(file, contextOptions) {
  return open(`${origin}/${file}`, `${origin}/`, contextOptions);
}

function noProblems(problems) {
  assert.deepEqual(problems, [], `\n${problems.join('\n')}`);
}

before(async () => {
  assert.ok(
    existsSync(TRUCE_BIN),
    `the truce binary is not at ${TRUCE_BIN}: run \`cargo build -p truce\` or set TRUCE_BIN`,
  );
  assert.ok(EXAMPLES.length > 0, 'no example with agreement.toml and reports.csv under examples/');
  outDir = await mkdtemp(join(tmpdir(), 'truce-browser-'));
  await Promise.all(EXAMPLES.map(writeReport));
  server = await serveFolder(outDir);
  origin = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  await new Promise((done) => (server ? server.close(done) : done()));
  if (outDir) {
    await rm(outDir, { recursive: true, force: true });
  }
});

for (const name of EXAMPLES) {
  describe(name, { timeout: TEST_TIMEOUT_MS }, () => {
    test('served over HTTP: quiet console, only the test origin, every section and figure', async () => {
      const { context, page, record, isAllowed, response } = await openServed(`${name}.html`);
      try {
        assert.equal(response?.status(), 200);
        noProblems([
          ...trafficProblems(record, isAllowed),
          ...(await scriptProblems(page)),
          ...(await headingProblems(page)),
          ...(await figureProblems(page)),
          ...(await overflowProblems(page)),
        ]);
        // The recorder saw the page itself: an empty list would prove nothing.
        assert.ok(record.requests.includes(`${origin}/${name}.html`), JSON.stringify(record.requests));
      } finally {
        await context.close();
      }
    });

    test('opened from disk (file://): quiet console, nothing requested beyond the file', async () => {
      const file = pathToFileURL(join(outDir, `${name}.html`)).href;
      const { context, page, record, isAllowed } = await open(file, file);
      try {
        noProblems([...trafficProblems(record, isAllowed), ...(await headingProblems(page))]);
        assert.deepEqual(record.requests, [file]);
      } finally {
        await context.close();
      }
    });

    test('prints: a PDF of A4 pages, no contents list, nothing wider than the paper', async () => {
      const { context, page, record, isAllowed } = await openServed(`${name}.html`);
      try {
        const pdf = await page.pdf({
          format: 'A4',
          margin: { top: '10mm', right: '10mm', bottom: '10mm', left: '10mm' },
          printBackground: true,
        });
        assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
        const pages = pdf.toString('latin1').match(/\/Type\s*\/Page(?!s)/g) ?? [];
        assert.ok(pages.length >= 2, `the PDF has ${pages.length} page(s)`);

        await page.emulateMedia({ media: 'print' });
        await page.setViewportSize({ width: A4_CONTENT_WIDTH_PX, height: 1000 });
        const navDisplay = await page.locator('nav').evaluate((nav) => getComputedStyle(nav).display);
        assert.equal(navDisplay, 'none', 'the print style sheet hides the contents');
        noProblems([
          ...trafficProblems(record, isAllowed),
          ...(await overflowProblems(page)),
          ...(await figureProblems(page)),
        ]);
      } finally {
        await context.close();
      }
    });

    test('no text of the map or a chart is cut off at the edge of its drawing', async () => {
      const { context, page } = await openServed(`${name}.html`);
      try {
        noProblems(await clippedTextProblems(page));
      } finally {
        await context.close();
      }
    });

    test(`on a ${PHONE.width}×${PHONE.height} phone: no sideways scrolling`, async () => {
      const { context, page, record, isAllowed } = await openServed(`${name}.html`, {
        viewport: PHONE,
        isMobile: true,
        hasTouch: true,
      });
      try {
        // The viewport meta tag is honoured: without it a phone lays the page out 980px wide
        // and the overflow check below would pass on a page that does not fit.
        const layoutWidth = await page.evaluate(() => document.scrollingElement.clientWidth);
        assert.ok(layoutWidth <= PHONE.width, `laid out ${layoutWidth}px wide on a ${PHONE.width}px phone`);
        noProblems([
          ...trafficProblems(record, isAllowed),
          ...(await overflowProblems(page)),
          ...(await figureProblems(page)),
        ]);
      } finally {
        await context.close();
      }
    });
  });
}

describe('the checks themselves', { timeout: TEST_TIMEOUT_MS }, () => {
  test('a page built to be wrong is reported on every count', async () => {
    const good = await readFile(join(outDir, `${EXAMPLES[0]}.html`), 'utf8');
    const faults = [
      '<img src="http://example.invalid/x.png" alt="">',
      '<script>console.warn("deliberate warning"); throw new Error("deliberate error");</script>',
      '<div style="width: 2000px">too wide</div>',
      '<svg class="chart" width="0" height="0"></svg>',
      '<svg role="img" viewBox="0 0 100 20" width="100" height="20"><title>cut</title><text x="90" y="15">cut off</text></svg>',
    ].join('\n');
    assert.ok(good.includes('<body>\n') && good.includes('<h2 id="map">5. Map</h2>'));
    const bad = good.replace('<body>\n', `<body>\n${faults}\n`).replace('<h2 id="map">5. Map</h2>', '<h2 id="map">Map</h2>');
    await writeFile(join(outDir, 'deliberately-bad.html'), bad);

    const { context, page, record, isAllowed } = await openServed('deliberately-bad.html');
    try {
      const traffic = trafficProblems(record, isAllowed);
      const has = (list, text) => assert.ok(list.some((p) => p.includes(text)), `"${text}" not in:\n${list.join('\n')}`);
      has(traffic, 'request off the test origin: http://example.invalid/x.png');
      has(traffic, 'request failed: http://example.invalid/x.png');
      assert.ok(
        record.console.some((m) => m.type === 'error' && m.text.includes('Failed to load resource')),
        `no console error for the blocked image: ${JSON.stringify(record.console)}`,
      );
      has(traffic, 'console error: Failed to load resource');
      has(traffic, 'console warning: deliberate warning');
      has(traffic, 'page error: Error: deliberate error');
      has(await scriptProblems(page), 'script element');
      has(await overflowProblems(page), '<div> reaching');
      has(await clippedTextProblems(page), '"cut off" is cut off at the right');
      const figures = await figureProblems(page);
      has(figures, 'has no rendered size');
      has(figures, 'has neither a <title> nor an aria-label');
      has(figures, 'not "img"');
      has(await headingProblems(page), '["map","Map"]');
    } finally {
      await context.close();
    }
  });
});
