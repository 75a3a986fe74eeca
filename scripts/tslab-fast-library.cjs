// Makes importing the project's library into a tslab notebook cheap (loaded by
// scripts/tslab-kernel.cjs before tslab starts). Measured with bench/import-cost.ts.
//
// Before every cell, tslab 1.0.22 type-checks the cell *and every file it imports* (semantic and
// declaration diagnostics of each), then emits each imported file and converts it to CommonJS
// with a second TypeScript pass. For the front door (`./kernel-lib/index`, about 130 files)
// that took 15 s of the first cell on a busy 2-core machine: 4.7 s checking, 6.7 s emitting.
//  - Checking: the library is type-checked by `npm test` (tsc, strict), so only the notebook's
//    own cells and files outside kernel-lib/ and data-loaders/ are checked here. The library's
//    types still check how a cell uses it.
//  - Emitting: the CommonJS of each library file is cached on disk
//    (node_modules/.cache/pixnerd-tslab/), keyed by a digest of the whole library's sources (an
//    emit can depend on other files: type-only imports are dropped), so a kernel started after
//    the first reuses it; any edit under kernel-lib/ or data-loaders/ makes a new digest.
// PIXNERD_TSLAB_CHECK_LIBRARY=1 turns both off (tslab's own behaviour).
//
// tslab keeps the functions to patch private, so this patches converter.js's source text; each
// patch checks that the text it replaces is there, else tslab runs unpatched with one line on stderr.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const Module = require('node:module');
const { dirname, join, relative, sep } = require('node:path');

const ROOT = dirname(__dirname);
const LIBRARY_DIRS = ['kernel-lib', 'data-loaders'].map((d) => join(ROOT, d));
const CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'pixnerd-tslab');

/** Whether a (TypeScript, '/'-separated) file name is a library source. */
function isLibrary(fileName) {
  const f = fileName.split('/').join(sep);
  return LIBRARY_DIRS.some((d) => f.startsWith(d + sep)) && !/\.test\.ts$/.test(f);
}

/** Digest of every .ts file under the library folders (paths and contents). */
function libraryDigest() {
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
  return h.digest('hex').slice(0, 32);
}

/** The entries of the last digest seen, so that each cell does not re-read the cache file. */
let loaded = { digest: '', entries: {} };

/** The emit cache for the library as it is now: get(dep) / put(dep, sideOutput) / save(). */
function emitCache() {
  const digest = libraryDigest();
  const file = join(CACHE_DIR, `${digest}.json`);
  if (loaded.digest !== digest) {
    let fromDisk = {};
    try {
      fromDisk = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      // no cache yet for this library state
    }
    loaded = { digest, entries: fromDisk };
  }
  const entries = loaded.entries;
  let dirty = false;
  return {
    get: (dep) => entries[dep],
    put(dep, out) {
      entries[dep] = out;
      dirty = true;
      return out;
    },
    save() {
      if (!dirty) return;
      dirty = false;
      try {
        fs.mkdirSync(CACHE_DIR, { recursive: true });
        for (const old of fs.readdirSync(CACHE_DIR)) if (old !== `${digest}.json`) fs.rmSync(join(CACHE_DIR, old), { force: true });
        const tmp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, JSON.stringify(entries));
        fs.renameSync(tmp, file);
      } catch {
        // a read-only node_modules only loses the cache
      }
    },
  };
}

const PATCHES = [
  [
    'return ts.getPreEmitDiagnosticsOfFiles(builder.getProgram(), files);',
    'return ts.getPreEmitDiagnosticsOfFiles(builder.getProgram(), files.filter((f) => !__pixnerd.isLibrary(f.fileName)));',
  ],
  [
    `        let sideOutputs;
        for (const dep of getAllSrcDependencies(builder, srcFile)) {
            if (sideInputsConverted.has(dep)) {
                continue;
            }`,
    `        let sideOutputs;
        const __cache = __pixnerd.emitCache();
        for (const dep of getAllSrcDependencies(builder, srcFile)) {
            if (sideInputsConverted.has(dep)) {
                continue;
            }
            const __cached = dep !== srcFilename && __pixnerd.isLibrary(dep) ? __cache.get(dep) : undefined;
            if (__cached) {
                sideInputsConverted.add(dep);
                (sideOutputs || (sideOutputs = [])).push(__cached);
                continue;
            }`,
  ],
  [
    `                sideOutputs.push({
                    path: (0, tspath_1.normalizeJoin)(cwd, rel),
                    data: esModuleToCommonJSModule(data, transpileTarget),
                });`,
    `                const __out = {
                    path: (0, tspath_1.normalizeJoin)(cwd, rel),
                    data: esModuleToCommonJSModule(data, transpileTarget),
                };
                sideOutputs.push(__pixnerd.isLibrary(dep) ? __cache.put(dep, __out) : __out);`,
  ],
  [
    `        if (sideOutputs) {
            sideOutputs.sort(`,
    `        __cache.save();
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
  globalThis.__pixnerd = { isLibrary, emitCache };
  const m = new Module(convPath, parent);
  m.filename = convPath;
  m.paths = Module._nodeModulePaths(dirname(convPath));
  m._compile(`const __pixnerd = globalThis.__pixnerd;\n${src}`, convPath);
  m.loaded = true;
  require.cache[convPath] = m;
  return true;
}

module.exports = { install, isLibrary, libraryDigest };
