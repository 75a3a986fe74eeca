/**
 * The shape of the codebase, enforced: the library never imports the CLI, notebooks import only
 * the front door (./kernel-lib/index), and every kernel-lib module compiles the way tslab
 * compiles it (CommonJS: no import.meta, no top-level await, no top-level `require` binding).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

function* files(dir: string, ext: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.') || name === 'generated') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p, ext);
    else if (p.endsWith(ext)) yield p;
  }
}

/** Module specifiers imported by a TypeScript source (static and dynamic imports). */
export function importsOf(src: string): string[] {
  return [...src.matchAll(/(?:import|export)\s[^'";]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)|^import\s+'([^']+)'/gm)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

test('importsOf finds static, re-export and dynamic imports', () => {
  assert.equal(importsOf("import { a } from '../cli/x';\nexport * from './y';\nconst m = await import('./z');\nimport './w';"), ['../cli/x', './y', './z', './w']);
});

test('no module outside kernel-lib/cli imports from it', () => {
  const bad: string[] = [];
  for (const dir of ['kernel-lib', 'data-loaders', 'experiments', 'bench', 'scripts', 'test']) {
    for (const f of files(dir, '.ts')) {
      if (f.startsWith(join('kernel-lib', 'cli')) || f === join('test', 'architecture.test.ts')) continue;
      for (const spec of importsOf(readFileSync(f, 'utf8'))) if (/(^|\/)cli\//.test(spec)) bad.push(`${f} imports ${spec}`);
    }
  }
  assert.equal(bad, [], bad.join('\n'));
});

test('notebooks import only ./kernel-lib/index, tfjs and node built-ins', () => {
  const bad: string[] = [];
  let count = 0;
  for (const f of files('notebooks', '.ipynb')) {
    const nb = JSON.parse(readFileSync(f, 'utf8')) as { cells: { cell_type: string; source: string[] | string }[] };
    for (const c of nb.cells) {
      if (c.cell_type !== 'code') continue;
      for (const spec of importsOf(Array.isArray(c.source) ? c.source.join('') : c.source)) {
        count++;
        if (!(spec === './kernel-lib/index' || spec.startsWith('@tensorflow/tfjs') || spec.startsWith('node:'))) bad.push(`${f}: ${spec}`);
      }
    }
  }
  assert.ok(count > 5, `found only ${count} imports in the notebooks`);
  assert.equal(bad, [], bad.join('\n'));
});

// tslab compiles local files to CommonJS with its own TypeScript; these diagnostics are what
// broke it: import.meta (1343, 1470), top-level await (1375, 1378, 1432), a top-level `require`
// binding (2441).
const TSLAB_BREAKERS = new Set([1343, 1470, 1375, 1378, 1432, 2441]);

test('every kernel-lib and data-loaders module compiles as tslab compiles it (CommonJS)', () => {
  const roots = [...files('kernel-lib', '.ts'), ...files('data-loaders', '.ts')].filter((f) => !f.endsWith('.test.ts') && !f.endsWith('.fixture.ts') && !f.startsWith(join('kernel-lib', 'cli')));
  assert.ok(roots.length > 50, `only ${roots.length} modules found`);
  const program = ts.createProgram(roots, {
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    target: ts.ScriptTarget.ES2020,
    esModuleInterop: true,
    skipLibCheck: true,
    noEmit: true,
    resolveJsonModule: true,
    types: ['node'],
  });
  const bad = [...program.getSyntacticDiagnostics(), ...program.getSemanticDiagnostics()]
    .filter((d) => TSLAB_BREAKERS.has(d.code) && d.file && !d.file.fileName.includes('node_modules'))
    .map((d) => `${d.file!.fileName}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
  assert.equal(bad, [], bad.join('\n'));
});

test('the tslab check catches import.meta and top-level await', () => {
  const host = ts.createCompilerHost({});
  const src = "export const here = import.meta.url;\nawait Promise.resolve(1);\nexport {};\n";
  const orig = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang) => (name === 'probe.ts' ? ts.createSourceFile(name, src, lang) : orig(name, lang));
  const program = ts.createProgram(['probe.ts'], { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020, noEmit: true, types: [] }, host);
  const codes = [...program.getSyntacticDiagnostics(), ...program.getSemanticDiagnostics()].map((d) => d.code).filter((c) => TSLAB_BREAKERS.has(c));
  assert.ok(codes.length >= 2, `expected import.meta and top-level await to be flagged, got ${codes.join(', ')}`);
});

test.run();
