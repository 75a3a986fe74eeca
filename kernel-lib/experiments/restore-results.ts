/**
 * A sweep resumes on a fresh clone: run directories (runs/, not committed) are lost between
 * machines, but the runner's report (experiments/results/<id>/results.jsonl, committed) keeps
 * every finished run's result with its config hash. restoreReportedResults writes such a row
 * back as the run's result.json, so the runner skips that run and the report counts it again.
 * Only a row whose experiment, variant, seed and config hash all match is restored; the loss
 * curve of a restored run is not (the report's loss chart averages the seeds that have one).
 *
 *   restoreReportedResults(expandRuns(exp), 'runs', 'experiments/results/regime-ablations');
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write';
import type { RunSpec } from './experiment-config';
import { RESULT_FILE, type RunResult } from './run-one';

/** Restores the reported results of runs that have none in runsRoot; returns the restored run directories. */
export function restoreReportedResults(specs: readonly RunSpec[], runsRoot: string, reportDir: string): string[] {
  const file = join(reportDir, 'results.jsonl');
  if (!existsSync(file)) return [];
  const rows = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as RunResult);
  const restored: string[] = [];
  for (const s of specs) {
    const dir = join(runsRoot, s.dir);
    if (existsSync(join(dir, RESULT_FILE))) continue;
    const row = rows.find((r) => r.experimentId === s.experimentId && r.variant === s.variant && r.seed === s.seed && r.hash === s.hash);
    if (!row) continue;
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(join(dir, RESULT_FILE), JSON.stringify({ ...row, restoredFrom: file }, null, 2) + '\n');
    restored.push(s.dir);
  }
  return restored;
}
