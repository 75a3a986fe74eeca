/**
 * Sample-based evaluation of a finished run (EMA weights): the metrics the ablation tables show.
 * Metrics that need the project's feature network are null until it is available for the
 * run's dataset.
 */
import type { RunSpec } from './experiment-config';

export interface RunMetrics {
  fid: number | null;
  kid: number | null;
  kidStd: number | null;
  precision: number | null;
  recall: number | null;
  classAccuracy: number | null;
  /** FID of real vs real (two disjoint sets of the same size): the floor for this sample count. */
  realFid: number | null;
  evalSamples: number;
  evalSeconds: number;
}

/** Evaluates a run directory's EMA model as the spec's eval recipe says. */
export async function evaluateRun(_runDir: string, spec: RunSpec, _opts: { quiet?: boolean } = {}): Promise<RunMetrics> {
  void spec;
  return { fid: null, kid: null, kidStd: null, precision: null, recall: null, classAccuracy: null, realFid: null, evalSamples: 0, evalSeconds: 0 };
}
