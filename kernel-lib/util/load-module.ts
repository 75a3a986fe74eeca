/**
 * Loading packages from code that runs both as ES modules (tsx: tests, scripts, CLI) and as
 * CommonJS (tslab compiles every notebook cell and every local .ts file it imports to CommonJS).
 *
 * Two things differ under tslab and are handled here, once:
 *  - `import.meta` does not exist, so we cannot `createRequire(import.meta.url)`; we use the
 *    CommonJS `require` when there is one, else a require rooted at the working directory.
 *  - TypeScript rewrites `await import('x')` into `require('x')`, and `require()` of an ES module
 *    graph with top-level await fails (vega and vega-lite reach `vega-canvas`, which awaits an
 *    optional `import('canvas')`). `importEsm` keeps a real dynamic import by building it with
 *    `new Function`, which TypeScript does not see.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The subset of Node's `require` that we use. */
export interface RequireLike {
  (id: string): unknown;
  resolve(id: string): string;
  cache: Record<string, { exports: unknown } | undefined>;
}

/** `require` of this module when it runs as CommonJS (tslab), else null (ES module). */
export function commonJsRequire(): RequireLike | null {
  return typeof require === 'function' ? (require as unknown as RequireLike) : null;
}

/** A require that resolves packages: CommonJS `require`, else one rooted at the working directory. */
export function projectRequire(): RequireLike {
  return commonJsRequire() ?? (createRequire(join(process.cwd(), 'package.json')) as unknown as RequireLike);
}

const dynamicImport = new Function('url', 'return import(url)') as (url: string) => Promise<unknown>;
const esmCache = new Map<string, Promise<unknown>>();

/**
 * Imports an ES module package by its resolved file URL with a real dynamic import (see above).
 * The type parameter is the caller's description of the exports it uses.
 */
export function importEsm<T>(specifier: string): Promise<T> {
  let p = esmCache.get(specifier);
  if (!p) {
    const url = pathToFileURL(projectRequire().resolve(specifier)).href;
    p = dynamicImport(url);
    esmCache.set(specifier, p);
  }
  return p as Promise<T>;
}

let root: string | undefined;

/**
 * The project's root folder (the one whose package.json is pixnerd-ts), found by walking up
 * from this file's folder under CommonJS, else from the working directory. For files that ship
 * inside the repository (the native add-on, classifier weights) without `import.meta`.
 */
export function projectRoot(): string {
  if (root) return root;
  const start = typeof __dirname === 'string' ? __dirname : process.cwd();
  for (let d = start; ; d = dirname(d)) {
    const pkg = join(d, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'pixnerd-ts') return (root = d);
    if (dirname(d) === d) throw new Error(`cannot find the pixnerd-ts project root above ${start}`);
  }
}
