/**
 * Inline display in a tslab (TypeScript Jupyter) kernel: HTML, PNG, SVG, Markdown and text.
 *
 *   import { showHtml, showPng } from './kernel-lib/viz/display';
 *   showPng(await imageGridPng(x));          // an image under the cell
 *
 * Outside a kernel (plain Node, tests, the CLI) every function does nothing; none of them throws.
 * They return nothing, so a call as a cell's last line prints nothing. How a kernel is detected: tslab compiles notebook code and the local
 * files it imports to CommonJS, and while a cell runs, tslab's `jupyter` module holds the
 * callback that sends display messages (`lastWriteDisplayData`). We look for that module in the
 * require cache and never load tslab ourselves (it pulls in zeromq and a TypeScript compiler).
 */
import { commonJsRequire, type RequireLike } from '../util/load-module';

/** One piece of content, tagged by its MIME type. */
export type Displayable =
  | { mime: 'text/html'; data: string }
  | { mime: 'image/png'; data: Uint8Array }
  | { mime: 'image/svg+xml'; data: string }
  | { mime: 'text/markdown'; data: string }
  | { mime: 'text/plain'; data: string };

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

/**
 * Finds the running kernel's tslab module through `req`, or null when not inside a kernel.
 * `req` defaults to this module's CommonJS require (null under ES modules: not a kernel).
 */
export function findTslab(req: RequireLike | null = commonJsRequire()): TslabModule | null {
  if (!req) return null;
  try {
    const jupyter = req.cache[req.resolve('tslab/dist/jupyter.js')];
    const send = (jupyter?.exports as { lastWriteDisplayData?: unknown } | undefined)?.lastWriteDisplayData;
    if (typeof send !== 'function') return null;
    return req('tslab') as TslabModule;
  } catch {
    return null; // tslab not installed, or not resolvable from here: not a kernel
  }
}

/** True when running inside a tslab kernel (so `display` shows something). */
export function inTslab(): boolean {
  return findTslab() !== null;
}

function send(target: TslabDisplay, content: Displayable): void {
  switch (content.mime) {
    case 'text/html':
      return target.html(content.data);
    case 'image/png':
      return target.png(content.data);
    case 'image/svg+xml':
      return target.svg(content.data);
    case 'text/markdown':
      return target.markdown(content.data);
    case 'text/plain':
      return target.text(content.data);
    default: {
      const never: never = content;
      throw new Error(`unknown display content ${JSON.stringify(never)}`);
    }
  }
}

/** Shows `content` under the current cell; does nothing outside tslab. */
export function display(content: Displayable): void {
  const tslab = findTslab();
  if (tslab) send(tslab.display, content);
}

export const showHtml = (html: string): void => display({ mime: 'text/html', data: html });
export const showPng = (png: Uint8Array): void => display({ mime: 'image/png', data: png });
export const showSvg = (svg: string): void => display({ mime: 'image/svg+xml', data: svg });
export const showMarkdown = (md: string): void => display({ mime: 'text/markdown', data: md });

/** One output area that each `show` replaces (Jupyter display ids); for live plots and progress. */
export interface DisplayHandle {
  /** Replaces the handle's output with `content`; does nothing outside tslab. */
  show(content: Displayable): void;
  /** Whether this handle displays anything (it was made inside a kernel). */
  readonly live: boolean;
}

/**
 * A new updatable output. In a kernel the first `show` creates the output and later calls
 * replace it, even from later cells; headless runs (nbconvert) keep the last content.
 * Each update leaves the kernel at once (measured: also from a synchronous loop that never awaits).
 */
export function newDisplayHandle(): DisplayHandle {
  const tslab = findTslab();
  const target = tslab ? tslab.newDisplay() : null;
  return {
    live: target !== null,
    show(content: Displayable): void {
      if (target) send(target, content);
    },
  };
}
