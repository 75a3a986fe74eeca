import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../util/errors';
import { expandRuns, readExperimentFile } from './experiment-config';
import { evalExtractorFor, evaluateRun, validateEvalConfig } from '../runs/evaluate-run';
import { runOne } from './run-one';
import { loadTeacher, resolveTeacherName } from '../training/teachers';

test('the feature network follows the dataset unless eval.classifier names one', () => {
  const ev = { samples: 8, sampler: 'euler' as const, steps: 2, cfg: 1, interval: [0.1, 1] as [number, number] };
  assert.is(evalExtractorFor({ data: { dataset: 'mnist' }, eval: ev }), 'mnist');
  assert.is(evalExtractorFor({ data: { dataset: 'fashion-mnist' }, eval: ev }), 'fashion-mnist');
  assert.is(evalExtractorFor({ data: { dataset: 'emoji' }, eval: ev }), 'mobilenet-v2');
  assert.is(evalExtractorFor({ data: { dataset: 'emoji' }, eval: { ...ev, classifier: 'none' } }), 'none');
  assert.throws(() => evalExtractorFor({ data: { dataset: 'mnist' }, eval: { ...ev, classifier: 'vgg' } }), (e: Error) => e instanceof ConfigError && /eval.classifier/.test(e.message));
  assert.is(resolveTeacherName('auto', 'fashion-mnist'), 'fashion-mnist');
  assert.is(resolveTeacherName('auto', 'folder'), 'mobilenet-v2');
  assert.is(resolveTeacherName('random', 'mnist'), 'random');
});

test('eval.shift: absent or > 0; anything else is a config error naming eval.shift', () => {
  const ev = { samples: 8, sampler: 'heun' as const, steps: 2, cfg: 1, interval: [0.1, 1] as [number, number] };
  assert.is(validateEvalConfig({ ...ev }).shift, undefined);
  assert.is(validateEvalConfig({ ...ev, shift: 3 }).shift, 3);
  for (const bad of [0, -1, Number.NaN, '2' as unknown as number]) {
    assert.throws(() => validateEvalConfig({ ...ev, shift: bad }), (e: Error) => e instanceof ConfigError && /eval\.shift/.test(e.message), String(bad));
  }
  assert.is(validateEvalConfig({ ...ev, lastStep: 0.4 }).lastStep, 0.4);
  for (const bad of [0, 1.5, Number.NaN]) {
    assert.throws(() => validateEvalConfig({ ...ev, lastStep: bad }), (e: Error) => e instanceof ConfigError && /eval\.lastStep.*\(0, 1\]/.test(e.message), String(bad));
  }
});

test('a finished run is evaluated with the MNIST classifier: FID, KID, P/R, class accuracy, real-vs-real floor', async () => {
  const root = mkdtempSync(join(tmpdir(), 'pixnerd-eval-'));
  try {
    const exp = readExperimentFile('experiments/smoke-head.json');
    const [warm, vSpec] = expandRuns({ ...exp, eval: { ...exp.eval, samples: 20, steps: 2 } });
    // x-prediction: a barely trained v-model outputs v ~ 0 on any time grid; an x-model does not
    const spec = { ...vSpec!, train: { ...vSpec!.train, prediction: 'x' as const } };
    await runOne(warm!, root, { quiet: true }); // first use builds the cached constant tables (RoPE, DCT)
    const before = tf.memory().numTensors;
    const r = await runOne(spec!, root, { quiet: true });
    assert.is(tf.memory().numTensors, before, 'no tensors left behind');
    assert.is(r.extractor, 'small-cnn/mnist');
    assert.is(r.evalSamples, 20);
    for (const k of ['fid', 'kid', 'precision', 'recall', 'realFid'] as const) assert.ok(Number.isFinite(r[k]), `${k} = ${r[k]}`);
    assert.ok(r.fid! > r.realFid!, `an untrained model's FID ${r.fid} is above the real-vs-real floor ${r.realFid}`);
    assert.ok(r.classAccuracy! >= 0 && r.classAccuracy! <= 1);
    assert.ok(r.precision! >= 0 && r.precision! <= 1 && r.recall! >= 0 && r.recall! <= 1);
    // the same samples' noise on a shifted time grid: the shift reaches the sampler
    const shifted = await evaluateRun(join(root, spec!.dir), { eval: { ...spec!.eval, shift: 3 }, quiet: true });
    assert.is(shifted.evalSamples, 20);
    assert.ok(Number.isFinite(shifted.fid) && shifted.fid !== r.fid, `shift 3 changes the samples: FID ${shifted.fid} vs ${r.fid}`);
    const early = await evaluateRun(join(root, spec!.dir), { eval: { ...spec!.eval, lastStep: 0.8 }, quiet: true });
    assert.ok(Number.isFinite(early.fid) && early.fid !== r.fid, `lastStep 0.8 changes the samples: FID ${early.fid} vs ${r.fid}`);
    for (const m of [r, early]) assert.ok(m.speckle! >= 0 && m.realSpeckle! > 0, `speckle ${m.speckle}, real ${m.realSpeckle}`);
    assert.is(early.realSpeckle, r.realSpeckle, 'the same real images');
    for (const m of [r, early]) assert.ok(m.strayMarks! >= 0 && m.strayMarks! <= 1 && m.realStrayMarks! >= 0 && m.realStrayMarks! < 0.2, `stray marks ${m.strayMarks}, real ${m.realStrayMarks}`);
    assert.is(early.realStrayMarks, r.realStrayMarks, 'the same real images');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the project classifier is a REPA teacher on an 8 x 8 grid; unknown teachers are config errors', async () => {
  const t = await loadTeacher('auto', { dataset: 'mnist', channels: 1, cell: 4, seed: 0 });
  try {
    const f = tf.tidy(() => t.features(tf.zeros([2, 32, 32, 1])));
    assert.equal(f.shape, [2, 8, 8, t.dim]);
    assert.match(t.name, /mnist/);
    f.dispose();
  } finally {
    t.dispose();
  }
});

test.run();
