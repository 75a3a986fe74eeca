#!/usr/bin/env node
// Looks at executed notebooks the way a reader of the exported HTML does: exports each with
// Debian's nbconvert (`--to html`, the lab template), opens it in headless Chromium (Debian's
// /usr/bin/chromium, driven by npm playwright-core; no browser is downloaded) in a window
// 1280 px wide, and checks
//   - every image and chart output has a non-zero rendered size and is not one flat colour
//     (nbconvert 6.5 empties SVG outputs: an SVG-only chart is a blank box of the right size),
//     every SVG in an output has content, every <img> on the page has loaded (naturalWidth > 0),
//     and every plotly chart has drawn (or shows its static PNG);
//   - no page errors (uncaught exceptions in the page's scripts);
//   - no output is wider than 1280 px, declares a width over 1280 px, or reaches past the
//     window's right edge, and the page does not scroll sideways.
// Full-page screenshots (and the HTML) go to --out (default: a new temp folder), printed at the end.
// Closes with `N passed, N failed`; exit code 1 if any notebook fails.
//
// Usage: node scripts/browser-check.mjs [--out DIR] [notebook.ipynb | folder ...]
//   default: notebooks/*.ipynb (committed executed; or run-notebooks.mjs --out DIR first and pass DIR)
//   JUPYTER_NBCONVERT=/path overrides /usr/bin/jupyter-nbconvert, CHROMIUM=/path /usr/bin/chromium
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const VIEWPORT = { width: 1280, height: 900 };
export const MAX_OUTPUT_WIDTH = 1280;
/** How long plotly charts may take to draw after the page loaded (ms). */
const CHART_WAIT_MS = 15000;

function parseArgs(argv) {
  const opts = { out: null, inputs: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') opts.out = argv[++i];
    else if (a === '--help' || a === '-h') opts.help = true;
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else opts.inputs.push(resolve(a));
  }
  return opts;
}

/** The notebooks named by files and folders (a folder: its *.ipynb, in name order). */
function notebookPaths(inputs) {
  const list = inputs.length ? inputs : [join(ROOT, 'notebooks')];
  return list.flatMap((p) => {
    if (!existsSync(p)) throw new Error(`${p} does not exist`);
    if (statSync(p).isDirectory()) return readdirSync(p).filter((f) => f.endsWith('.ipynb')).sort().map((f) => join(p, f));
    return [p];
  });
}

/** Exports the notebooks to HTML in `htmlDir` with one nbconvert run; returns the HTML paths. */
function exportHtml(nbconvert, notebooks, htmlDir) {
  const names = notebooks.map((nb) => basename(nb, '.ipynb'));
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`two notebooks named ${dup}.ipynb: check them in separate runs`);
  const env = { ...process.env };
  // Debian's Jupyter runs on /usr/bin/python3; another Python's settings must not leak in.
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  const r = spawnSync(nbconvert, ['--to', 'html', '--output-dir', htmlDir, ...notebooks], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${nbconvert} --to html failed (exit ${r.status ?? r.signal}):\n${(r.stderr || String(r.error ?? '')).trim().split('\n').slice(-20).join('\n')}`);
  return names.map((n) => join(htmlDir, `${n}.html`));
}

/**
 * Runs in the page: marks the image and chart outputs (data-bc-index) and returns what is
 * wrong with each output, plus page-wide numbers.
 */
function inspectPage(maxWidth) {
  const problems = [];
  const visual = [];
  const vw = document.documentElement.clientWidth;
  const cells = [...document.querySelectorAll('.jp-Cell')];
  const where = (el) => {
    const cell = el.closest('.jp-Cell');
    const prompt = cell?.querySelector('.jp-InputPrompt')?.textContent?.trim();
    const mime = el.getAttribute('data-mime-type') || '';
    return `cell ${cells.indexOf(cell)}${prompt ? ` ${prompt}` : ''}${mime ? ` ${mime}` : ''}`;
  };
  const size = (el) => {
    const r = el.getBoundingClientRect();
    return { w: Math.round(r.width), h: Math.round(r.height), right: Math.round(r.right) };
  };
  const widthProblems = (el, what) => {
    const s = size(el);
    const out = [];
    if (s.w > maxWidth) out.push(`${what} is ${s.w} px wide (more than ${maxWidth})`);
    else if (s.right > vw + 1) out.push(`${what} reaches ${s.right} px, past the window's right edge (${vw} px)`);
    const declared = Number(el.getAttribute?.('width'));
    if (declared > maxWidth) out.push(`${what} declares width=${declared} (more than ${maxWidth})`);
    return out;
  };
  const outputs = [...document.querySelectorAll('.jp-OutputArea-output')];
  outputs.forEach((el, i) => {
    const at = `output ${i} (${where(el)})`;
    const mime = el.getAttribute('data-mime-type') || '';
    const imgs = [...el.querySelectorAll('img')];
    const plots = [...el.querySelectorAll('.js-plotly-plot')];
    // SVGs of the output itself, not plotly's (its modebar icons are hidden until hover) and not nested ones
    const svgs = [...el.querySelectorAll('svg')].filter((s) => !s.closest('.js-plotly-plot') && !s.parentElement?.closest('svg'));
    const charts = [...el.querySelectorAll('[data-pixnerd-chart]')];
    const isVisual = mime.startsWith('image/') || el.classList.contains('jp-RenderedImage') || el.classList.contains('jp-RenderedSVG') || imgs.length + plots.length + svgs.length + charts.length > 0;
    const p = [];
    for (const x of new Set([el, ...el.children, ...imgs, ...svgs, ...plots, ...el.querySelectorAll('canvas, table')])) p.push(...widthProblems(x, x === el ? 'the output' : `a <${x.tagName.toLowerCase()}>`));
    if (isVisual) {
      const s = size(el);
      if (!(s.w > 0 && s.h > 0)) p.push(`rendered size ${s.w} x ${s.h}`);
      for (const img of imgs) {
        const r = size(img);
        if (!img.complete || !(img.naturalWidth > 0)) p.push(`an <img> did not load (naturalWidth ${img.naturalWidth})`);
        else if (!(r.w > 0 && r.h > 0) && !img.closest('[data-pixnerd-chart="drawn"]')) p.push(`an <img> is shown at ${r.w} x ${r.h}`);
      }
      for (const svg of svgs) {
        const r = size(svg);
        if (!svg.querySelector('*')) p.push('an SVG without content (nbconvert 6.5 strips SVG outputs: the bundle needs a PNG and an HTML <img>)');
        else if (!(r.w > 0 && r.h > 0)) p.push(`an SVG is shown at ${r.w} x ${r.h}`);
      }
      for (const c of charts) if (c.getAttribute('data-pixnerd-chart') === 'pending') p.push('a plotly chart never drew (plotly.js missing or failing, and no static picture left)');
      for (const plot of plots) {
        const r = size(plot);
        if (!(r.w > 0 && r.h > 0) || !plot.querySelector('.main-svg')) p.push(`a plotly chart is ${r.w} x ${r.h} without its SVG`);
      }
      el.setAttribute('data-bc-index', String(visual.length));
      visual.push({ at, mime });
    }
    for (const x of p) problems.push(`${at}: ${x}`);
  });
  for (const img of document.querySelectorAll('img')) {
    if (!img.closest('.jp-OutputArea-output') && (!img.complete || !(img.naturalWidth > 0))) problems.push(`an <img> outside the outputs did not load: ${img.src.slice(0, 80)}`);
  }
  const codeCells = document.querySelectorAll('.jp-CodeCell').length;
  if (outputs.length === 0 && codeCells > 0) problems.push(`${codeCells} code cells and no outputs: check executed notebooks (node scripts/run-notebooks.mjs --out DIR, then pass DIR)`);
  const sw = document.documentElement.scrollWidth;
  if (sw > vw + 1) problems.push(`the page scrolls sideways: ${sw} px of content in a ${vw} px window`);
  return { problems, visual, outputs: outputs.length };
}

/** Whether a PNG is (nearly) one flat colour: every channel's standard deviation under 1. */
async function isBlank(png) {
  const sharp = (await import('sharp')).default;
  const { channels } = await sharp(png).stats();
  return channels.slice(0, 3).every((c) => c.stdev < 1);
}

/** Checks one exported page; returns { problems, outputs, visual, screenshot }. */
async function checkPage(context, htmlPath, shotDir) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`page error: ${String(e.message ?? e).split('\n')[0]}`));
  try {
    await page.goto(pathToFileURL(htmlPath).href, { waitUntil: 'load', timeout: 60000 });
    // plotly charts draw once window.Plotly exists: wait for every one to leave 'pending'
    await page.waitForFunction(() => !document.querySelector('[data-pixnerd-chart="pending"]'), null, { timeout: CHART_WAIT_MS }).catch(() => {});
    await page.waitForTimeout(200);
    const r = await page.evaluate(inspectPage, MAX_OUTPUT_WIDTH);
    for (const [k, v] of r.visual.entries()) {
      const shot = await page.locator(`[data-bc-index="${k}"]`).screenshot({ timeout: 10000 }).catch((e) => e);
      if (shot instanceof Error) r.problems.push(`${v.at}: no screenshot of it (${shot.message.split('\n')[0]})`);
      else if (await isBlank(shot)) r.problems.push(`${v.at}: shows one flat colour (an empty box)`);
    }
    const screenshot = join(shotDir, `${basename(htmlPath, '.html')}.png`);
    await page.screenshot({ path: screenshot, fullPage: true });
    const order = (p) => Number(p.match(/^output (\d+) /)?.[1] ?? -1);
    const problems = r.problems.map((p, i) => [p, i]).sort((a, b) => order(a[0]) - order(b[0]) || a[1] - b[1]).map(([p]) => p);
    return { problems: [...errors, ...problems], outputs: r.outputs, visual: r.visual.length, screenshot };
  } finally {
    await page.close();
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    console.log('usage: node scripts/browser-check.mjs [--out DIR] [notebook.ipynb | folder ...]');
    return 0;
  }
  const nbconvert = process.env.JUPYTER_NBCONVERT ?? '/usr/bin/jupyter-nbconvert';
  const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
  for (const [what, path, pkg] of [['nbconvert', nbconvert, 'jupyter-nbconvert'], ['Chromium', chromiumPath, 'chromium']]) {
    if (!existsSync(path)) {
      console.error(`${what} not found at ${path}: apt-get install -y --no-install-recommends ${pkg}`);
      console.log('0 passed, 1 failed');
      return 1;
    }
  }
  const t0 = performance.now();
  const notebooks = notebookPaths(opts.inputs);
  const out = opts.out ? resolve(opts.out) : mkdtempSync(join(tmpdir(), 'pixnerd-browser-check-'));
  const htmlDir = join(out, 'html');
  const shotDir = join(out, 'screenshots');
  mkdirSync(htmlDir, { recursive: true });
  mkdirSync(shotDir, { recursive: true });
  console.log(`exporting ${notebooks.length} notebook(s) with ${nbconvert} --to html`);
  const pages = exportHtml(nbconvert, notebooks, htmlDir);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu', '--font-render-hinting=none'] });
  let passed = 0;
  let failed = 0;
  try {
    const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 });
    // the page must not need the network: anything but local files is refused
    await context.route(/^(?!file:|data:|blob:|about:)/, (route) => route.abort());
    for (const html of pages) {
      const name = basename(html, '.html');
      const t = performance.now();
      let r;
      try {
        r = await checkPage(context, html, shotDir);
      } catch (e) {
        r = { problems: [`could not check the page: ${e.message.split('\n')[0]}`], outputs: 0, visual: 0 };
      }
      const secs = ((performance.now() - t) / 1000).toFixed(1);
      if (r.problems.length === 0) {
        passed++;
        console.log(`PASS ${name}  ${r.outputs} outputs, ${r.visual} images/charts  ${secs} s`);
      } else {
        failed++;
        console.log(`FAIL ${name}  ${r.outputs} outputs, ${r.visual} images/charts  ${secs} s`);
        for (const p of r.problems) console.log(`  | ${p}`);
      }
    }
  } finally {
    await browser.close();
  }
  console.log(`screenshots: ${shotDir}`);
  console.log(`html: ${htmlDir}`);
  console.log(`${((performance.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e.message);
    console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
