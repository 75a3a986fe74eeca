/**
 * The training loop's step reports, shown live: a progress line (step, loss parts, it/s, ETA;
 * a bar in a terminal, a redrawing line in a notebook, a plain line every few seconds in logs)
 * and, in a notebook, a loss chart that redraws in place (outside notebooks the curves are only
 * collected, e.g. for lossPlotSpec).
 *
 *   const monitor = trainingMonitor({ label: 'train' });
 *   await train({ ..., onStep: monitor.onStep });
 *   monitor.done();
 */
import type { StepReport } from '../training/train';
import { livePlot, type LivePlot } from './loss-plot';
import { progress, type Progress, type ProgressMode } from './progress';

export interface TrainingMonitorOptions {
  label?: string;
  /** Progress display mode (default auto: notebook, terminal bar or log lines). */
  mode?: ProgressMode;
  /** Chart redraw interval in ms (default 2000). */
  plotEveryMs?: number;
  /** Chart title. */
  title?: string;
  /**
   * The live chart: 'plotly' (default) an interactive one (zoom, hover; the notebook carries the
   * 1.1 MB plotly bundle once per kernel session), whose output also holds the SVG chart and its
   * PNG, which viewers that run no scripts (GitHub, nbconvert without JS) show; 'svg' only the
   * static chart (SVG, PNG, HTML <img>), without the plotly bundle.
   */
  chart?: 'svg' | 'plotly';
}

export interface TrainingMonitor {
  onStep(r: StepReport): void;
  /** Final redraws; returns the collected loss curves' plot (also useful outside notebooks). */
  done(): LivePlot;
}

/** The loss parts of a report as named values (total, fm, repa when present). */
export function lossValues(r: StepReport): Record<string, number> {
  return { loss: r.loss.total, fm: r.loss.fm, ...(r.loss.repa !== undefined ? { repa: r.loss.repa } : {}) };
}

/** A monitor whose onStep feeds one progress reporter and one live chart. */
export function trainingMonitor(opts: TrainingMonitorOptions = {}): TrainingMonitor {
  const plot = livePlot({ title: opts.title ?? 'training loss', logY: true, everyMs: opts.plotEveryMs ?? 2000, chart: opts.chart ?? 'plotly' });
  let bar: Progress | null = null;
  return {
    onStep(r) {
      const values = lossValues(r);
      // Created at the first report (the rate counts from there, also for a resumed run).
      if (!bar) bar = progress({ total: r.totalSteps, start: r.step, label: opts.label ?? 'train', mode: opts.mode });
      else bar.update(r.step, { ...values, 'img/s': r.imagesPerSec });
      plot.update(r.step, values); // draws only inside tslab; elsewhere it collects the curves
    },
    done() {
      bar?.done();
      plot.flush();
      return plot;
    },
  };
}
