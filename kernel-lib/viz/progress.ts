/**
 * Progress for long jobs (training, sampling, evaluation): step, metrics, it/s and ETA, with one
 * API for notebooks and terminals.
 *
 *   const p = progress({ total: 1000, label: 'train' });
 *   for (let step = 1; step <= 1000; step++) { ...; p.update(step, { loss }); }
 *   p.done();
 *
 * Where it draws (`mode: 'auto'`): inside tslab an output under the cell that redraws itself;
 * in a terminal (stderr is a TTY) a cli-progress bar; otherwise (CI logs, pipes) one plain line
 * every `everyMs` (default 10 s) and at the end.
 */
import * as cliProgress from 'cli-progress';
import { inTslab, newDisplayHandle } from './display';

export type ProgressMode = 'auto' | 'notebook' | 'terminal' | 'log' | 'silent';

export interface ProgressOptions {
  /** The step count at completion. */
  total: number;
  label?: string;
  /** The step the job starts (resumes) from; the rate counts from here. Default 0. */
  start?: number;
  mode?: ProgressMode;
  /** At most one redraw per this many ms (notebook default 250, log default 10000). */
  everyMs?: number;
  /** Where terminal and log output go (default process.stderr). */
  stream?: NodeJS.WriteStream;
  /** Clock in ms (tests). */
  now?: () => number;
}

export interface ProgressStats {
  step: number;
  total: number;
  /** step / total, at most 1. */
  fraction: number;
  elapsedS: number;
  /** Steps per second since the start; 0 before the first step. */
  itPerS: number;
  /** Seconds left at the current rate; Infinity while the rate is unknown. */
  etaS: number;
  metrics: Record<string, number>;
}

export interface Progress {
  /** Records that `step` steps are done (and the latest metrics); redraws when due. */
  update(step: number, metrics?: Record<string, number>): void;
  /** Final redraw; returns the final stats. */
  done(metrics?: Record<string, number>): ProgressStats;
  /** The current numbers. */
  stats(): ProgressStats;
  /** Where it draws (the resolved mode). */
  readonly mode: Exclude<ProgressMode, 'auto'>;
}

// ---------------------------------------------------------------------------------------------
// Arithmetic and formatting
// ---------------------------------------------------------------------------------------------

/** Rate and ETA: it/s = (step - start) / elapsed; ETA = (total - step) / (it/s). */
export function progressStats(
  step: number,
  total: number,
  elapsedMs: number,
  start = 0,
  metrics: Record<string, number> = {},
): ProgressStats {
  const elapsedS = elapsedMs / 1000;
  const itPerS = elapsedS > 0 && step > start ? (step - start) / elapsedS : 0;
  const left = Math.max(0, total - step);
  const etaS = left === 0 ? 0 : itPerS > 0 ? left / itPerS : Infinity;
  return { step, total, fraction: total > 0 ? Math.min(1, step / total) : 1, elapsedS, itPerS, etaS, metrics };
}

/** Seconds as `mm:ss` or `h:mm:ss`; `--:--` when unknown (not finite). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** A metric value with 4 significant digits (exponent form outside [1e-3, 1e4)). */
export function formatMetric(v: number): string {
  if (!Number.isFinite(v) || v === 0) return String(v);
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e4 ? v.toPrecision(4) : v.toExponential(2);
}

const metricsText = (m: Record<string, number>): string =>
  Object.entries(m)
    .map(([k, v]) => `${k} ${formatMetric(v)}`)
    .join('  ');

/** One line: `train 120/1000 12.0% | loss 0.1234 | 3.21 it/s | 00:37 | ETA 04:34`. */
export function formatProgressLine(label: string, s: ProgressStats): string {
  const parts = [
    `${label ? `${label} ` : ''}${s.step}/${s.total} ${(100 * s.fraction).toFixed(1)}%`,
    ...(Object.keys(s.metrics).length ? [metricsText(s.metrics)] : []),
    `${s.itPerS.toFixed(2)} it/s`,
    formatDuration(s.elapsedS),
    `ETA ${formatDuration(s.etaS)}`,
  ];
  return parts.join(' | ');
}

const escapeHtml = (s: string): string => s.replace(/[<>&]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[ch]!);

function progressHtml(label: string, s: ProgressStats): string {
  return (
    `<div style="font-family:monospace;font-size:13px;white-space:pre">` +
    `<progress value="${s.fraction}" max="1" style="width:240px;vertical-align:middle"></progress> ` +
    `${escapeHtml(formatProgressLine(label, s))}</div>`
  );
}

// ---------------------------------------------------------------------------------------------
// The reporter
// ---------------------------------------------------------------------------------------------

function resolveMode(mode: ProgressMode, stream: NodeJS.WriteStream): Exclude<ProgressMode, 'auto'> {
  if (mode !== 'auto') return mode;
  if (inTslab()) return 'notebook';
  return stream.isTTY ? 'terminal' : 'log';
}

/** A progress reporter (see the file comment). */
export function progress(opts: ProgressOptions): Progress {
  const { total } = opts;
  if (!Number.isFinite(total) || total < 0) throw new Error(`progress: total must be a finite number >= 0, got ${total}`);
  const label = opts.label ?? '';
  const start = opts.start ?? 0;
  const stream = opts.stream ?? process.stderr;
  const now = opts.now ?? (() => performance.now());
  const mode = resolveMode(opts.mode ?? 'auto', stream);
  const everyMs = opts.everyMs ?? (mode === 'log' ? 10_000 : 250);
  const t0 = now();
  let step = start;
  let metrics: Record<string, number> = {};
  let lastDraw = -Infinity;
  let finished = false;

  const stats = (): ProgressStats => progressStats(step, total, now() - t0, start, metrics);

  // One drawing function per mode; `final` draws regardless of the throttle.
  let draw: (final: boolean) => void;
  switch (mode) {
    case 'notebook': {
      const handle = newDisplayHandle();
      draw = () => handle.show({ mime: 'text/html', data: progressHtml(label, stats()) });
      break;
    }
    case 'terminal': {
      const bar = new cliProgress.SingleBar(
        { format: '{label} [{bar}] {value}/{total} {percentage}% | {metrics} | {rate} it/s | ETA {etaText}', stream, hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      const payload = (s: ProgressStats) => ({
        label,
        metrics: metricsText(s.metrics),
        rate: s.itPerS.toFixed(2),
        etaText: formatDuration(s.etaS),
      });
      bar.start(total, start, payload(stats()));
      draw = (final) => {
        const s = stats();
        bar.update(s.step, payload(s));
        if (final) bar.stop();
      };
      break;
    }
    case 'log':
      draw = () => stream.write(formatProgressLine(label, stats()) + '\n');
      break;
    case 'silent':
      draw = () => {};
      break;
    default: {
      const never: never = mode;
      throw new Error(`unknown progress mode ${String(never)}`);
    }
  }

  return {
    mode,
    update(s, m) {
      step = s;
      if (m) metrics = { ...metrics, ...m };
      const t = now();
      if (t - lastDraw >= everyMs) {
        lastDraw = t;
        draw(false);
      }
    },
    done(m) {
      if (m) metrics = { ...metrics, ...m };
      if (!finished) {
        finished = true;
        draw(true);
      }
      return stats();
    },
    stats,
  };
}
