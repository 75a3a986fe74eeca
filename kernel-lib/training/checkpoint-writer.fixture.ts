/** Test helper process: writes checkpoints of a micro model in a loop until killed. */
import { initBackend } from '../backend/backend-ladder';
import { PRESETS } from '../config/presets';
import { saveCheckpoint } from '../runs/run-dir';
import { createTrainConfig } from './train-config';
import { initTrainState } from './train';

await initBackend({ quiet: true });
const model = PRESETS['tiny-32/8']; // ~37 MB per checkpoint: a kill often lands mid-write
const state = initTrainState(model, createTrainConfig({}, model));
for (let step = 1; ; step++) {
  state.step = step;
  saveCheckpoint(process.argv[2]!, model, state);
}
