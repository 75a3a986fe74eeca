/**
 * What `import ... from './kernel-lib/index'` adds to a notebook's first cell, measured where it
 * matters: in the tslab kernel (which type-checks and compiles the imported .ts files itself).
 *
 *   npx tsx bench/import-cost.ts [--rounds 3] [--json bench/import-cost.json]
 *
 * Each round executes two one-cell notebooks headlessly (scripts/run-notebooks.mjs, Debian's
 * Jupyter), in alternating order: `tfjs` imports @tensorflow/tfjs only, `front door` also imports
 * a name from ./kernel-lib/index and touches it. Each time is the whole headless run (kernel
 * start + the cell; tslab reports no per-cell timing), so the difference is the first cell's
 * extra cost. Reports the medians and their difference (target: <= 1 s), with the load
 * average: the machine may be shared.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, json: { type: 'string' } } });
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be an integer >= 1, got ${values.rounds}`);

const CELLS = {
  tfjs: "import * as tf from '@tensorflow/tfjs';\nconsole.log(tf.version.tfjs);",
  'front door': "import * as tf from '@tensorflow/tfjs';\nimport { PRESETS } from './kernel-lib/index';\nconsole.log(tf.version.tfjs, PRESETS['tiny-32/8'].hiddenSize);",
} as const;
type Variant = keyof typeof CELLS;

function notebook(source: string): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'tslab', display_name: 'TypeScript', language: 'typescript' } },
    cells: [{ cell_type: 'code', id: 'c1', execution_count: null, metadata: {}, source, outputs: [] }],
  });
}

/** Seconds run-notebooks took for the one-cell notebook (kernel start + the cell). */
function notebookSeconds(dir: string, name: string): number {
  const src = join(dir, `${name}.ipynb`);
  const r = spawnSync(process.execPath, ['scripts/run-notebooks.mjs', '--out', join(dir, 'out'), src], { encoding: 'utf8' });
  const m = r.stdout.match(/^PASS \S+ +([\d.]+) s$/m);
  if (r.status !== 0 || !m) throw new Error(`${name}: run-notebooks failed\n${r.stdout}\n${r.stderr}`);
  return Number(m[1]);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const dir = mkdtempSync(join(tmpdir(), 'import-cost-'));
const names: Record<Variant, string> = { tfjs: 'tfjs', 'front door': 'front-door' };
const times: Record<Variant, number[]> = { tfjs: [], 'front door': [] };
const load: number[] = [];
try {
  for (const v of Object.keys(CELLS) as Variant[]) writeFileSync(join(dir, `${names[v]}.ipynb`), notebook(CELLS[v]));
  for (let r = 0; r < rounds; r++) {
    const order: Variant[] = r % 2 === 0 ? ['tfjs', 'front door'] : ['front door', 'tfjs'];
    for (const v of order) {
      load.push(loadavg()[0]!);
      times[v].push(notebookSeconds(dir, names[v]));
      console.log(`round ${r + 1}/${rounds} ${v}: ${times[v].at(-1)!.toFixed(2)} s (load ${load.at(-1)!.toFixed(1)})`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const result = {
  bench: 'import-cost',
  date: new Date().toISOString(),
  rounds,
  tfjsSeconds: median(times.tfjs),
  frontDoorSeconds: median(times['front door']),
  addedSeconds: median(times['front door']) - median(times.tfjs),
  target: 'addedSeconds <= 1',
  loadAverage: { min: Math.min(...load), max: Math.max(...load) },
  samples: times,
};
console.log(JSON.stringify(result));
if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2) + '\n');
