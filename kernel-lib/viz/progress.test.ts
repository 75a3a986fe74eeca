import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatDuration, formatMetric, formatProgressLine, progress, progressStats } from './progress';

test('progressStats: it/s = (step - start) / elapsed, ETA = (total - step) / rate', () => {
  const s = progressStats(250, 1000, 50_000);
  assert.is(s.itPerS, 5);
  assert.is(s.etaS, 150);
  assert.is(s.fraction, 0.25);
  assert.is(s.elapsedS, 50);
  const resumed = progressStats(600, 1000, 20_000, 500); // 100 steps in 20 s since resuming at 500
  assert.is(resumed.itPerS, 5);
  assert.is(resumed.etaS, 80);
  assert.is(progressStats(0, 10, 0).etaS, Infinity, 'no rate yet');
  assert.is(progressStats(10, 10, 1000).etaS, 0);
  assert.is(progressStats(12, 10, 1000).fraction, 1);
});

test('formatting: durations, metrics, the one-line summary', () => {
  assert.equal([formatDuration(0), formatDuration(75.4), formatDuration(3725), formatDuration(Infinity)], ['00:00', '01:15', '1:02:05', '--:--']);
  assert.equal([formatMetric(0.123456), formatMetric(3.2e-5), formatMetric(12345), formatMetric(Number.NaN)], ['0.1235', '3.20e-5', '1.23e+4', 'NaN']);
  const line = formatProgressLine('train', progressStats(250, 1000, 50_000, 0, { loss: 0.5 }));
  assert.is(line, 'train 250/1000 25.0% | loss 0.5000 | 5.00 it/s | 00:50 | ETA 02:30');
});

test('log mode: a line when due and at done(), with a fake clock', () => {
  let t = 0;
  const lines: string[] = [];
  const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
  const p = progress({ total: 100, label: 'eval', stream, now: () => t, everyMs: 1000 });
  assert.is(p.mode, 'log', 'auto: not a kernel, not a TTY');
  t = 500;
  p.update(10, { loss: 2 }); // first update draws
  t = 900;
  p.update(20); // throttled
  t = 2000;
  p.update(40, { loss: 1 });
  t = 4000;
  const final = p.done();
  assert.equal(lines, [
    'eval 10/100 10.0% | loss 2.000 | 20.00 it/s | 00:01 | ETA 00:05\n',
    'eval 40/100 40.0% | loss 1.000 | 20.00 it/s | 00:02 | ETA 00:03\n',
    'eval 40/100 40.0% | loss 1.000 | 10.00 it/s | 00:04 | ETA 00:06\n',
  ]);
  assert.is(final.itPerS, 10);
  p.done();
  assert.is(lines.length, 3, 'done() draws once');
});

test('silent mode draws nothing; bad totals throw', () => {
  const p = progress({ total: 3, mode: 'silent' });
  p.update(3);
  assert.is(p.done().fraction, 1);
  assert.throws(() => progress({ total: Number.NaN }), /total/);
});

test.run();
