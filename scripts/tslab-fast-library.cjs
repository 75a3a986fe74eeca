// Makes importing the project's library into a tslab notebook cheap (loaded by
// scripts/tslab-kernel.cjs before tslab starts). Measured with bench/import-cost.ts.
//
// Before every cell, tslab 1.0.22 puts the cell *and every file it imports* into one TypeScript
// program (parsing them all: the front door, `./kernel-lib/index`, is about 130 files and 800 KB
// of source), type-checks all of them, then emits each one and converts it to CommonJS with a
// second TypeScript pass. On a busy 2-core machine that was 15 s of the first cell. Here:
//  - Checking: the library is type-checked by `npm test` (tsc, strict), so only the notebook's
//    own cells and files outside kernel-lib/ and data-loaders/ are checked here. The library's
//    types still check how a cell uses it.
//  - Parsing: the program sees each library file as its *declarations* (what `tsc --declaration`
//    writes for it, a third of the text, no function bodies) once they are known; they are
//    captured from the program the first time a library state is seen and cached on disk
//    (node_modules/.cache/pixnerd-tslab/dts-<digest>.json), keyed by a digest of the whole
//    library's sources (a file's declarations can name types inferred from other files), so any
//    edit under kernel-lib/ or data-loaders/ makes a new digest and one slower first cell.
//  - Emitting: each library file's CommonJS comes from its own source by an isolated transpile
//    (`ts.transpileModule`; tsconfig's `isolatedModules` makes tsc reject code for which that
//    differs from a whole-program emit), cached per file content (js.json). The files a module
//    needs at run time are followed through its require() calls, not through the program (whose
//    declaration views no longer import what only function bodies use). Edited library files are
//    sent again to a running kernel when the program holds them (TypeScript watches those); a
//    file that only function bodies import needs a kernel restart to be reloaded after an edit.
// PIXNERD_TSLAB_CHECK_LIBRARY=1 turns all of this off (tslab's own behaviour).
//
// tslab keeps the functions to patch private, so this patches converter.js's source text; each
// patch checks that the text it replaces is there, else tslab runs unpatched with one line on stderr.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const Module = require('node:module');
const { dirname, join, relative, resolve, sep } = require('node:path');

const ROOT = dirname(__dirname);
const LIBRARY_DIRS = ['kernel-lib', 'data-loaders'].map((d) => join(ROOT, d));
const CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'pixnerd-tslab');
/** How long a computed library digest is trusted (readFile asks for it once per library file). */
const DIGEST_TTL_MS = 1000;

/** Whether a (TypeScript, '/'-separated) file name is a library source. */
function isLibrary(fileName) {
  const f = fileName.split('/').join(sep);
  return LIBRARY_DIRS.some((d) => f.startsWith(d + sep)) && f.endsWith('.ts') && !f.endsWith('.d.ts') && !/\.test\.ts$/.test(f);
}

const sha = (text) => crypto.createHash('sha256').update(text).digest('hex').slice(0, 32);

/** The library as it is now: a digest of every .ts file under the library folders (paths and contents). */
function libraryState() {
  const h = crypto.createHash('sha256');
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && e.name !== 'build' && !e.name.startsWith('.')) walk(p);
      } else if (e.name.endsWith('.ts')) {
        h.update(relative(ROOT, p)).update('\0').update(fs.readFileSync(p)).update('\0');
      }
    }
  };
  for (const d of LIBRARY_DIRS) if (fs.existsSync(d)) walk(d);
  return { digest: h.digest('hex').slice(0, 32), at: Date.now() };
}

const libraryDigest = () => libraryState().digest;

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
}

function writeJson(file, value) {
  try {
    fs.mkdirSync(CACHE_DIR, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(value));
    fs.renameSync(tmp, file);
  } catch {
    // a read-only node_modules only loses the cache
  }
}

/** Process-wide cache state: the last digest, its declarations, the transpiled files. */
const state = { lib: { digest: '', at: 0 }, dts: {}, dtsDirty: false, js: null, jsDirty: false, jsUsed: new Set() };
/** js.json keeps every entry until it holds this many, then only those this process used. */
const JS_CACHE_MAX = 600;

/** The current library digest (recomputed at most every DIGEST_TTL_MS unless `fresh`); loads its declaration cache. */
function currentDigest(fresh) {
  if (fresh || Date.now() - state.lib.at > DIGEST_TTL_MS) {
    const lib = libraryState();
    if (lib.digest !== state.lib.digest) {
      state.dts = readJson(join(CACHE_DIR, `dts-${lib.digest}.json`));
      state.dtsDirty = false;
    }
    state.lib = lib;
  }
  return state.lib.digest;
}

const rel = (fileName) => relative(ROOT, fileName.split('/').join(sep)).split(sep).join('/');

/** Files the program was given as source (no declarations cached yet): their declarations are captured after the cell. */
const servedAsSource = new Set();

/**
 * The text TypeScript reads for a file: a library file's cached declarations when this library
 * state has them, else undefined (read the file itself).
 */
function declarationView(fileName) {
  if (!isLibrary(fileName)) return undefined;
  currentDigest(false);
  const dts = state.dts[rel(fileName)];
  if (dts === undefined) servedAsSource.add(fileName);
  else servedAsSource.delete(fileName);
  return dts;
}

/** A library file's CommonJS (isolated transpile of its source, cached per content and target). */
function transpiled(ts, fileName, target) {
  if (!state.js) state.js = readJson(join(CACHE_DIR, 'js.json'));
  const source = fs.readFileSync(fileName.split('/').join(sep), 'utf8');
  const key = sha(`${target}\0${source}`);
  state.jsUsed.add(key);
  let js = state.js[key];
  if (js === undefined) {
    js = ts.transpileModule(source, {
      fileName,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target,
        esModuleInterop: true,
        isolatedModules: true,
        newLine: ts.NewLineKind.LineFeed,
        noImplicitUseStrict: true,
        resolveJsonModule: true,
      },
    }).outputText;
    state.js[key] = js;
    state.jsDirty = true;
  }
  return { key, js };
}

/** The library .ts files a transpiled module require()s (relative specifiers that name one). */
function runtimeImports(fileName, js) {
  const out = [];
  for (const m of js.matchAll(/\brequire\("(\.{1,2}\/[^"]+)"\)/g)) {
    const target = resolve(dirname(fileName.split('/').join(sep)), m[1]).split(sep).join('/');
    const ts = target.endsWith('.ts') ? target : `${target}.ts`;
    if (isLibrary(ts) && fs.existsSync(ts)) out.push(ts);
  }
  return out;
}

/**
 * tslab's side outputs ({ path: <file>.js, data: CommonJS }) for a library file and every library
 * file it needs at run time that `sent` does not hold yet; adds them to `sent`.
 */
function libraryOutputs(ts, fileName, sent, target) {
  const outs = [];
  const todo = [fileName];
  while (todo.length) {
    const f = todo.pop();
    if (sent.has(f)) continue;
    sent.add(f);
    const { js } = transpiled(ts, f, target);
    outs.push({ path: f.replace(/\.ts$/, '.js'), data: js });
    todo.push(...runtimeImports(f, js));
  }
  return outs;
}

/** After a cell: capture the declarations of library files the program read as source, then save the caches. */
function finishCell(builder) {
  const digest = currentDigest(true);
  let captured = 0;
  for (const f of servedAsSource) {
    const sf = builder.getSourceFile(f);
    if (!sf || state.dts[rel(f)] !== undefined) continue;
    builder.emit(sf, (outName, data) => {
      if (outName.endsWith('.d.ts')) {
        state.dts[rel(f)] = data;
        captured++;
      }
    }, undefined, true);
  }
  servedAsSource.clear();
  if (captured) state.dtsDirty = true;
  if (state.dtsDirty) {
    writeJson(join(CACHE_DIR, `dts-${digest}.json`), state.dts);
    try {
      for (const old of fs.readdirSync(CACHE_DIR)) if (old !== 'js.json' && old !== `dts-${digest}.json`) fs.rmSync(join(CACHE_DIR, old), { force: true });
    } catch {
      // nothing cached yet
    }
    state.dtsDirty = false;
  }
  if (state.jsDirty) {
    if (Object.keys(state.js).length > JS_CACHE_MAX) state.js = Object.fromEntries([...state.jsUsed].map((k) => [k, state.js[k]]));
    writeJson(join(CACHE_DIR, 'js.json'), state.js);
    state.jsDirty = false;
  }
}

const PATCHES = [
  [
    'return ts.getPreEmitDiagnosticsOfFiles(builder.getProgram(), files);',
    'return ts.getPreEmitDiagnosticsOfFiles(builder.getProgram(), files.filter((f) => !__pixnerd.isLibrary(f.fileName)));',
  ],
  [
    `        return ts.sys.readFile(forwardTslabPath(cwd, path), encoding);
    };`,
    `        const __view = __pixnerd.declarationView(path);
        if (__view !== undefined) {
            return __view;
        }
        return ts.sys.readFile(forwardTslabPath(cwd, path), encoding);
    };`,
  ],
  [
    `        let sideOutputs;
        for (const dep of getAllSrcDependencies(builder, srcFile)) {
            if (sideInputsConverted.has(dep)) {
                continue;
            }`,
    `        let sideOutputs;
        for (const dep of getAllSrcDependencies(builder, srcFile)) {
            if (sideInputsConverted.has(dep)) {
                continue;
            }
            if (dep !== srcFilename && __pixnerd.isLibrary(dep)) {
                for (const __out of __pixnerd.libraryOutputs(ts, dep, sideInputsConverted, transpileTarget)) {
                    (sideOutputs || (sideOutputs = [])).push(__out);
                }
                continue;
            }`,
  ],
  [
    `        if (sideOutputs) {
            sideOutputs.sort(`,
    `        __pixnerd.finishCell(builder);
        if (sideOutputs) {
            sideOutputs.sort(`,
  ],
];

/** Loads tslab's converter.js with the patches into the module cache (before tslab requires it). */
function install(parent) {
  if (process.env.PIXNERD_TSLAB_CHECK_LIBRARY === '1') return false;
  const convPath = require.resolve('tslab/dist/converter.js', { paths: [ROOT] });
  let src = fs.readFileSync(convPath, 'utf8');
  for (const [from, to] of PATCHES) {
    if (!src.includes(from)) {
      process.stderr.write('tslab-fast-library: tslab/dist/converter.js is not the expected 1.0.22; the library is checked and compiled in every kernel (slow first cell)\n');
      return false;
    }
    src = src.replace(from, to);
  }
  globalThis.__pixnerd = { isLibrary, declarationView, libraryOutputs, finishCell };
  const m = new Module(convPath, parent);
  m.filename = convPath;
  m.paths = Module._nodeModulePaths(dirname(convPath));
  m._compile(`const __pixnerd = globalThis.__pixnerd;\n${src}`, convPath);
  m.loaded = true;
  require.cache[convPath] = m;
  return true;
}

module.exports = { install, isLibrary, libraryDigest, libraryOutputs, declarationView };
