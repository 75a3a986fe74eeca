/**
 * Inline display in a tslab (TypeScript Jupyter) kernel: HTML, PNG, SVG, Markdown and text, and
 * bundles that carry several of them at once (one output, each viewer picks what it can show).
 *
 *   import { showHtml, showPng } from './kernel-lib/viz/display';
 *   showPng(await imageGridPng(x));          // an image under the cell
 *   displayBundle({ data: { 'image/svg+xml': svg, 'image/png': png }, metadata: { 'image/png': { width: 640 } } });
 *
 * Outside a kernel (plain Node, tests, the CLI) every function does nothing; none of them throws.
 * They return nothing, so a call as a cell's last line prints nothing. How a kernel is detected: tslab compiles notebook code and the local
 * files it imports to CommonJS, and while a cell runs, tslab's `jupyter` module holds the
 * callback that sends display messages (`lastWriteDisplayData`). We look for that module in the
 * require cache and never load tslab ourselves (it pulls in zeromq and a TypeScript compiler).
 * Messages are sent through that callback directly (what tslab's own `display.raw` does), so
 * that one `display_data` message can carry several MIME types and their metadata.
 */
import { randomBytes } from 'node:crypto';
import { commonJsRequire, type RequireLike } from '../util/load-module';

/** One piece of content, tagged by its MIME type. */
export type Displayable =
  | { mime: 'text/html'; data: string }
  | { mime: 'image/png'; data: Uint8Array }
  | { mime: 'image/svg+xml'; data: string }
  | { mime: 'text/markdown'; data: string }
  | { mime: 'text/plain'; data: string };

/**
 * One output with several representations (a Jupyter MIME bundle): strings, bytes (sent as
 * base64, e.g. image/png) or JSON objects (application/*+json). `metadata` is keyed by MIME type,
 * e.g. `{ 'image/png': { width: 640, height: 300 } }` (the size to show a 2x PNG at).
 */
export interface DisplayBundle {
  data: Record<string, string | Uint8Array | object>;
  metadata?: Record<string, unknown>;
}

/** The Jupyter message content tslab's writer sends (display_data / update_display_data). */
export interface DisplayMessage {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  transient?: { display_id: string };
}
/** tslab's `lastWriteDisplayData`: sends one message; `update` makes it an update_display_data. */
export type DisplayWriter = (msg: DisplayMessage, update: boolean) => void;

/** tslab's `Display` (the part we use). */
interface TslabDisplay {
  html(s: string): void;
  png(b: Uint8Array): void;
  svg(s: string): void;
  markdown(s: string): void;
  text(s: string): void;
}
interface TslabModule {
  display: TslabDisplay;
  newDisplay(): TslabDisplay;
}

/** The display callback of the running cell, read at each call (tslab sets it per cell), or null. */
function kernelWriter(req: RequireLike | null): DisplayWriter | null {
  if (!req) return null;
  try {
    const jupyter = req.cache[req.resolve('tslab/dist/jupyter.js')];
    const send = (jupyter?.exports as { lastWriteDisplayData?: unknown } | undefined)?.lastWriteDisplayData;
    return typeof send === 'function' ? (send as DisplayWriter) : null;
  } catch {
    return null; // tslab not installed, or not resolvable from here: not a kernel
  }
}

/**
 * Finds the running kernel's tslab module through `req`, or null when not inside a kernel.
 * `req` defaults to this module's CommonJS require (null under ES modules: not a kernel).
 */
export function findTslab(req: RequireLike | null = commonJsRequire()): TslabModule | null {
  if (!req || !kernelWriter(req)) return null;
  try {
    return req('tslab') as TslabModule;
  } catch {
    return null;
  }
}

/** Set by captureDisplays: receives every message instead of a kernel. */
let capture: DisplayWriter | null = null;

function writer(): DisplayWriter | null {
  return capture ?? kernelWriter(commonJsRequire());
}

/** True when running inside a tslab kernel (so `display` shows something), or inside captureDisplays. */
export function inTslab(): boolean {
  return writer() !== null;
}

/**
 * Runs `fn` as if inside a kernel and returns every display message it sent, in order (for
 * tests, and to look at what a notebook cell would receive). Awaits `fn` when it is async.
 */
export async function captureDisplays(fn: () => unknown): Promise<Array<DisplayMessage & { update: boolean }>> {
  const got: Array<DisplayMessage & { update: boolean }> = [];
  const previous = capture;
  capture = (msg, update) => void got.push({ ...msg, update });
  try {
    await fn();
  } finally {
    capture = previous;
  }
  return got;
}

/** The message content of a bundle: bytes as base64, the rest as given. */
function message(b: DisplayBundle, displayId?: string): DisplayMessage {
  const data: Record<string, unknown> = {};
  for (const [mime, v] of Object.entries(b.data)) data[mime] = v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : v;
  return { data, metadata: b.metadata ?? {}, ...(displayId ? { transient: { display_id: displayId } } : {}) };
}

const asBundle = (content: Displayable): DisplayBundle => ({ data: { [content.mime]: content.data } });

/** Shows one output carrying every representation in `b`; does nothing outside tslab. */
export function displayBundle(b: DisplayBundle): void {
  writer()?.(message(b), false);
}

/** Shows `content` under the current cell; does nothing outside tslab. */
export function display(content: Displayable): void {
  displayBundle(asBundle(content));
}

export const showHtml = (html: string): void => display({ mime: 'text/html', data: html });
export const showPng = (png: Uint8Array): void => display({ mime: 'image/png', data: png });
export const showSvg = (svg: string): void => display({ mime: 'image/svg+xml', data: svg });
export const showMarkdown = (md: string): void => display({ mime: 'text/markdown', data: md });

/** One output area that each `show` replaces (Jupyter display ids); for live plots and progress. */
export interface DisplayHandle {
  /** Replaces the handle's output with `content`; does nothing outside tslab. */
  show(content: Displayable): void;
  /** Replaces the handle's output with a bundle of several representations. */
  showBundle(b: DisplayBundle): void;
  /** Whether this handle displays anything (it was made inside a kernel). */
  readonly live: boolean;
}

/**
 * A new updatable output. In a kernel the first `show` creates the output and later calls
 * replace it, even from later cells; headless runs (nbconvert) keep the last content.
 * Each update leaves the kernel at once (measured: also from a synchronous loop that never awaits).
 */
export function newDisplayHandle(): DisplayHandle {
  const live = writer() !== null;
  const id = randomBytes(8).toString('hex');
  let shown = false;
  const showBundle = (b: DisplayBundle): void => {
    if (!live) return;
    const w = writer(); // the writer of the cell running now (an update may come from a later cell)
    if (!w) return;
    w(message(b, id), shown);
    shown = true;
  };
  return { live, show: (content) => showBundle(asBundle(content)), showBundle };
}
