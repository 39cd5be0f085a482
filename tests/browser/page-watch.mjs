// What the browser tests look for in a page: messages on the console, script errors,
// requests that leave the test origin, the report's headings, figures that draw nothing or
// say nothing to a screen reader, and a layout wider than the screen or the paper.
//
// Every check returns a list of problems in words (empty when the page is fine), so a failing
// test prints what is wrong, and the checks can be tried on a page built to be wrong.

/** The flags Chromium is started with: no sandbox (tests run as root in CI), no GPU, and no
 * traffic of the browser's own (updates, sync, field trials). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Chromium from the system's package, never a browser download. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** The report's sections in order: anchor and heading text (crates/truce-report/src/document.rs). */
export const REPORT_SECTIONS = [
  ['summary', 'Summary'],
  ['headline', '1. Findings per party'],
  ['truce-test', '2. The truce test'],
  ['trends', '3. Trends'],
  ['toll', '4. Humanitarian toll'],
  ['map', '5. Map'],
  ['coverage', '6. Coverage and access'],
  ['readings', '7. Competing readings'],
  ['violations', '8. Violations'],
  ['inputs', '9. Inputs and method'],
];

/**
 * A test whether a URL may be requested: `data:` URLs, and URLs under `allowedPrefix` (the
 * test server's origin followed by `/`, or the `file://` URL of the folder the page is in).
 */
export function allowedUnder(allowedPrefix) {
  return (url) => url.startsWith('data:') || new URL(url).href.startsWith(allowedPrefix);
}

/**
 * Starts recording what `page` does: console messages, uncaught script errors, every request
 * and every failed request. Requests that `isAllowed` refuses are recorded and then aborted,
 * so nothing leaves the machine whatever the page asks for.
 */
export async function watchPage(page, isAllowed) {
  const record = { console: [], pageErrors: [], requests: [], failedRequests: [] };
  page.on('console', (message) => {
    const { url, lineNumber } = message.location();
    record.console.push({ type: message.type(), text: message.text(), url, line: lineNumber });
  });
  page.on('pageerror', (error) => record.pageErrors.push(String(error)));
  page.on('request', (request) => record.requests.push(request.url()));
  page.on('requestfailed', (request) =>
    record.failedRequests.push({ url: request.url(), error: request.failure()?.errorText ?? '' }),
  );
  await page.route('**/*', (route) =>
    isAllowed(route.request().url()) ? route.continue() : route.abort('blockedbyclient'),
  );
  return record;
}

/** Console errors and warnings, script errors, failed requests and requests off the origin. */
export function trafficProblems(record, isAllowed) {
  const problems = [];
  for (const message of record.console) {
    if (message.type === 'error' || message.type === 'warning') {
      problems.push(`console ${message.type}: ${message.text} (${message.url}:${message.line})`);
    }
  }
  for (const error of record.pageErrors) {
    problems.push(`page error: ${error}`);
  }
  for (const url of record.requests) {
    if (!isAllowed(url)) {
      problems.push(`request off the test origin: ${url}`);
    }
  }
  for (const failed of record.failedRequests) {
    problems.push(`request failed: ${failed.url} (${failed.error})`);
  }
  return problems;
}

/** Scripts in the page: the report has none. */
export async function scriptProblems(page) {
  const scripts = await page.evaluate(() => document.scripts.length);
  return scripts === 0 ? [] : [`the page holds ${scripts} script element(s)`];
}

/** The title, the contents and the sections, in order, each with its anchor. */
export async function headingProblems(page, sections = REPORT_SECTIONS) {
  const found = await page.evaluate(() => ({
    title: document.title,
    h1: [...document.querySelectorAll('h1')].map((h) => h.textContent.trim()),
    h2: [...document.querySelectorAll('h2')].map((h) => [h.id, h.textContent.trim()]),
    links: [...document.querySelectorAll('nav a')].map((a) => a.getAttribute('href')),
    ids: [...document.querySelectorAll('[id]')].map((element) => element.id),
  }));
  const problems = [];
  if (found.h1.length !== 1 || !found.h1[0].startsWith('Compliance report')) {
    problems.push(`expected one h1 starting "Compliance report", found ${JSON.stringify(found.h1)}`);
  }
  if (found.title !== found.h1[0]) {
    problems.push(`the document title ${JSON.stringify(found.title)} is not the h1`);
  }
  if (JSON.stringify(found.h2) !== JSON.stringify(sections)) {
    problems.push(
      `sections differ:\n  expected ${JSON.stringify(sections)}\n  found    ${JSON.stringify(found.h2)}`,
    );
  }
  const expectedLinks = sections.map(([anchor]) => `#${anchor}`);
  if (JSON.stringify(found.links) !== JSON.stringify(expectedLinks)) {
    problems.push(`contents links ${JSON.stringify(found.links)}, expected ${JSON.stringify(expectedLinks)}`);
  }
  for (const link of found.links) {
    if (!found.ids.includes(link.slice(1))) {
      problems.push(`contents link ${link} leads nowhere`);
    }
  }
  return problems;
}

/**
 * The map and the charts: at least one of each, every drawing rendered at a non-zero size
 * with something drawn in it, and every drawing an image with a text alternative.
 */
export async function figureProblems(page) {
  const problems = [];
  const drawings = await page.locator('svg').all();
  const classes = await Promise.all(drawings.map((svg) => svg.getAttribute('class')));
  if (!classes.includes('map')) {
    problems.push('no map (svg.map)');
  }
  if (!classes.includes('chart')) {
    problems.push('no chart (svg.chart)');
  }
  for (const [index, svg] of drawings.entries()) {
    const described = await svg.evaluate((element) => ({
      role: element.getAttribute('role'),
      title: element.querySelector(':scope > title')?.textContent.trim() ?? '',
      label: element.getAttribute('aria-label')?.trim() ?? '',
      drawn: (() => {
        const box = element.getBBox();
        return box.width > 0 && box.height > 0;
      })(),
    }));
    const name = `svg #${index + 1} (${classes[index] ?? 'no class'}, "${described.title || described.label}")`;
    const box = await svg.boundingBox();
    if (box === null || !(box.width > 0 && box.height > 0)) {
      problems.push(`${name} has no rendered size: ${JSON.stringify(box)}`);
    }
    if (!described.drawn) {
      problems.push(`${name} draws nothing (empty getBBox)`);
    }
    if (described.role !== 'img') {
      problems.push(`${name} has role ${JSON.stringify(described.role)}, not "img"`);
    }
    if (described.title === '' && described.label === '') {
      problems.push(`${name} has neither a <title> nor an aria-label`);
    }
  }
  return problems;
}

/**
 * Content wider than the viewport: the page scrolls sideways. Names the widest elements that
 * stick out, to say where the cause is.
 */
export async function overflowProblems(page) {
  const found = await page.evaluate(() => {
    const root = document.scrollingElement;
    const width = root.clientWidth;
    const outside = [];
    for (const element of document.body.querySelectorAll('*')) {
      // A drawing clips what is inside it: only the drawing itself can widen the page.
      if (element.ownerSVGElement) {
        continue;
      }
      const right = element.getBoundingClientRect().right + window.scrollX;
      // Only the outermost element that sticks out: its children say nothing more.
      if (right > width + 1 && !outside.some((parent) => parent.element.contains(element))) {
        outside.push({ element, right: Math.round(right) });
      }
    }
    return {
      scrollWidth: root.scrollWidth,
      clientWidth: width,
      outside: outside.slice(0, 5).map(({ element, right }) => {
        const text = element.textContent.replace(/\s+/g, ' ').trim().slice(0, 60);
        return `<${element.tagName.toLowerCase()}> reaching ${right}px: "${text}"`;
      }),
    };
  });
  if (found.scrollWidth <= found.clientWidth + 1) {
    return [];
  }
  return [
    `the page is ${found.scrollWidth}px wide in a ${found.clientWidth}px viewport; sticking out: ` +
      found.outside.join('; '),
  ];
}

/** Text of a drawing that runs past its edge, where the drawing cuts it off. */
export async function clippedTextProblems(page) {
  return page.evaluate(() => {
    const problems = [];
    for (const [index, svg] of [...document.querySelectorAll('svg')].entries()) {
      const frame = svg.getBoundingClientRect();
      for (const text of svg.querySelectorAll('text')) {
        const box = text.getBoundingClientRect();
        const past = {
          left: frame.left - box.left,
          right: box.right - frame.right,
          top: frame.top - box.top,
          bottom: box.bottom - frame.bottom,
        };
        const cut = Object.entries(past)
          .filter(([, by]) => by > 0.5)
          .map(([edge, by]) => `${edge} by ${Math.round(by)}px`);
        if (cut.length > 0) {
          const name = svg.querySelector(':scope > title')?.textContent ?? svg.getAttribute('class');
          problems.push(`svg #${index + 1} ("${name}"): "${text.textContent}" is cut off at the ${cut.join(', ')}`);
        }
      }
    }
    return problems;
  });
}
