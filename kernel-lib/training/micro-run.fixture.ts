/**
 * Test helper: a micro model and a step-seeded batch stream for training tests, and, when run as
 * a process (`node --import tsx micro-run.fixture.ts RUN_DIR STEPS DELAY_MS [resume]`), a
 * training run of it into RUN_DIR that prints `step k` after every step (and waits DELAY_MS).
 */
import * as tf from '@tensorflow/tfjs';
import { createConfig } from '../config/model-config';
import { createTrainConfig } from './train-config';
import type { Batch } from './train-step';

export const MICRO_RUN_MODEL = createConfig({ imageSize: 16, inChannels: 1, patchSize: 4, hiddenSize: 32, numHeads: 2, depth: 2, numClasses: 4, head: { width: 8, mlpRatio: 2, blocks: 1 } });
export const microRunConfig = (steps: number) => createTrainConfig({ steps, batchSize: 8, labelDropout: 0, optimizer: { lr: 3e-3 }, logEvery: 1, checkpointEvery: 2 }, MICRO_RUN_MODEL);

/** The batch of step s: smooth class patterns scaled by the step (deterministic in s). */
export function microBatch(step: number): Batch {
  return tf.tidy(() => {
    const xs = tf.linspace(-1, 1, 16);
    const grid = tf.add(xs.reshape([1, 16, 1, 1]), tf.mul(xs.reshape([1, 1, 16, 1]), 0.5));
    const labels = Array.from({ length: 8 }, (_, i) => i % 4);
    const phase = tf.tensor1d(labels.map((l) => l + 1)).reshape([8, 1, 1, 1]);
    const x = tf.mul(tf.sin(tf.mul(grid, phase)), 0.5 + 0.05 * step) as tf.Tensor4D;
    return { x, raw: tf.div(tf.add(x, 1), 2) as tf.Tensor4D, y: tf.tensor1d(labels, 'int32') };
  });
}

if (process.argv[1]?.endsWith('micro-run.fixture.ts')) {
  const [dir, steps, delay, resume] = process.argv.slice(2);
  const { initBackend } = await import('../backend/backend-ladder');
  const { train, disposeTrainState } = await import('./train');
  await initBackend({ quiet: true });
  try {
    const state = await train({
      model: MICRO_RUN_MODEL, train: microRunConfig(Number(steps)), runDir: dir!, resume: resume === 'resume',
      nextBatch: async (s) => {
        await new Promise((r) => setTimeout(r, Number(delay)));
        return microBatch(s);
      },
      onStep: (r) => console.log(`step ${r.step}`),
    });
    disposeTrainState(state);
    console.log('done');
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    process.exit(1);
  }
}
