/**
 * Hostile pickles: each would run a command if unpickled by Python (each command creates a
 * marker file). The reader must refuse each by naming the offending global or opcode, and the
 * marker must not exist afterwards. Where python3 is installed, the same bytes are fed to
 * Python's own pickle.loads in a throwaway directory to prove the payload is live: Python does
 * create the marker. The assertions name the exact refusal, so removing the allowlist check
 * (or letting NEWOBJ/BUILD through) fails these tests.
 */
import { tempDir } from '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from '../util/errors';
import { openTorchCheckpoint } from './torch-checkpoint';
import { openWeights } from './open-weights';
import { PickleWriter } from './pickle-writer';
import { saveTorchArchive, saveTorchCheckpoint, rawPickle, tensorToSave } from './torch-save';
import { TORCH_GLOBALS } from './torch-globals';
import { unpickle } from './unpickle';

const dir = tempDir('pixnerd-hostile-');
const CKPT_FIX = '../shared/fixtures/checkpoints';
const HAS_PYTHON = spawnSync('python3', ['-c', 'import pickle'], { stdio: 'ignore' }).status === 0;

/** Emits `posix.system(cmd)`: GLOBAL + REDUCE. */
const system = (w: PickleWriter, cmd: string) => w.global('posix', 'system').str(cmd).tuple(1).reduce();

interface Payload {
  name: string;
  /** A whole pickle that runs `touch <marker>` in Python. */
  bytes: (marker: string) => Uint8Array;
  /** The refusal the reader must give. */
  refusal: RegExp;
  /** Python can run it without torch installed (for the liveness check). */
  liveInPython: boolean;
}

const PAYLOADS: Payload[] = [
  {
    name: 'REDUCE posix.system at the top level',
    bytes: (m) => system(new PickleWriter().proto(), `touch ${m}`).stop().bytes(),
    refusal: /refused pickle global posix\.system in data\.pkl/,
    liveInPython: true,
  },
  {
    name: 'REDUCE builtins.eval',
    bytes: (m) => new PickleWriter().proto().global('builtins', 'eval').str(`__import__('os').system('touch ${m}')`).tuple(1).reduce().stop().bytes(),
    refusal: /refused pickle global builtins\.eval in data\.pkl/,
    liveInPython: true,
  },
  {
    name: 'REDUCE os.system (the portable spelling)',
    bytes: (m) => new PickleWriter().proto().global('os', 'system').str(`touch ${m}`).tuple(1).reduce().stop().bytes(),
    refusal: /refused pickle global os\.system in data\.pkl/,
    liveInPython: true,
  },
  {
    name: 'NEWOBJ argparse.Namespace + BUILD __setstate__ = posix.system',
    bytes: (m) => {
      const w = new PickleWriter().proto().global('argparse', 'Namespace').emptyTuple().newobj();
      w.emptyDict().str('__setstate__').global('posix', 'system').setitem().build();
      return w.str(`touch ${m}`).build().stop().bytes();
    },
    refusal: /refused pickle global argparse\.Namespace in data\.pkl/,
    liveInPython: true,
  },
  {
    name: 'BUILD on an allowed OrderedDict with __setstate__ = posix.system',
    bytes: (m) => {
      const w = new PickleWriter().proto().global('collections', 'OrderedDict').emptyTuple().reduce();
      w.emptyDict().str('__setstate__').global('posix', 'system').setitem().build();
      return w.str(`touch ${m}`).build().stop().bytes();
    },
    refusal: /refused pickle global posix\.system in data\.pkl/,
    liveInPython: true,
  },
  {
    name: 'subprocess.Popen nested in dict > list > tuple',
    bytes: (m) => {
      const w = new PickleWriter().proto().emptyDict().str('state_dict').emptyDict().str('w');
      w.emptyList().mark().int(1).int(2);
      w.int(3).global('subprocess', 'Popen').emptyList().mark().str('touch').str(m).appends().tuple(1).reduce().tuple(2);
      return w.appends().setitem().setitem().stop().bytes();
    },
    refusal: /refused pickle global subprocess\.Popen in data\.pkl/,
    liveInPython: true,
  },
  {
    name: 'STACK_GLOBAL posix.system (protocol 4 spelling)',
    bytes: (m) => new PickleWriter().proto(4).str('posix').str('system').stackGlobal().str(`touch ${m}`).tuple(1).reduce().stop().bytes(),
    refusal: /refused pickle global posix\.system in data\.pkl/,
    liveInPython: true,
  },
  {
    name: 'NEWOBJ on an allowed global',
    bytes: () => new PickleWriter().proto().global('collections', 'OrderedDict').emptyTuple().newobj().stop().bytes(),
    refusal: /refused pickle opcode NEWOBJ/,
    liveInPython: false,
  },
  {
    name: 'EXT1 (a global from the copyreg extension registry)',
    bytes: () => new PickleWriter().proto().raw(0x82, 1).stop().bytes(),
    refusal: /refused pickle opcode EXT1/,
    liveInPython: false,
  },
  {
    name: 'INST (protocol 0 class call)',
    bytes: (m) => new PickleWriter().proto().mark().str(`touch ${m}`).raw(0x69, ...new TextEncoder().encode('posix\nsystem\n')).stop().bytes(),
    refusal: /refused pickle opcode INST/,
    liveInPython: true,
  },
];

/** Runs the bytes through Python's pickle.loads in `cwd` (errors after the payload are ignored). */
function pythonLoads(bytes: Uint8Array, cwd: string): void {
  spawnSync('python3', ['-c', 'import pickle,sys\ntry: pickle.loads(sys.stdin.buffer.read())\nexcept Exception: pass'], { input: bytes, cwd, stdio: ['pipe', 'ignore', 'ignore'] });
}

/** Waits up to `ms` for a file (Popen's child runs after Python returns). */
function appears(path: string, ms = 3000): boolean {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (existsSync(path)) return true;
    execFileSync('sleep', ['0.05']);
  }
  return existsSync(path);
}

PAYLOADS.forEach((p, i) => {
  test(`hostile pickle refused, nothing ran: ${p.name}`, async () => {
    const marker = join(dir, `marker-${i}`);
    const file = join(dir, `hostile-${i}.ckpt`);
    saveTorchArchive(file, p.bytes(marker), new Map());
    try {
      await openTorchCheckpoint(file);
      assert.unreachable('a hostile pickle was accepted');
    } catch (e) {
      assert.instance(e, CheckpointError);
      assert.match((e as Error).message, p.refusal);
    }
    assert.not.ok(existsSync(marker), 'the payload ran');
    // The same refusal through the public entry point.
    try {
      await openWeights(file);
      assert.unreachable('openWeights accepted a hostile pickle');
    } catch (e) {
      assert.match((e as Error).message, p.refusal);
    }
    assert.not.ok(existsSync(marker), 'the payload ran');
  });
});

test('the hostile payloads are live: Python itself runs them (creates the marker)', () => {
  if (!HAS_PYTHON) {
    console.log('  (python3 not found: liveness check skipped)');
    return;
  }
  PAYLOADS.forEach((p, i) => {
    if (!p.liveInPython) return;
    const marker = join(dir, `live-${i}`);
    pythonLoads(p.bytes(marker), dir);
    assert.ok(appears(marker), `payload "${p.name}" did not run under Python: the test would prove nothing`);
  });
});

test('evil-system.ckpt (real torch zip calling posix.system) is refused by name; nothing ran', async () => {
  const marker = 'pixnerd-evil-ran-system'; // its payload: `touch pixnerd-evil-ran-system` in the cwd
  assert.not.ok(existsSync(marker));
  try {
    await openWeights(`${CKPT_FIX}/evil-system.ckpt`);
    assert.unreachable('evil-system.ckpt was accepted');
  } catch (e) {
    assert.instance(e, CheckpointError);
    assert.match((e as Error).message, /^refused pickle global posix\.system in data\.pkl/);
  }
  assert.not.ok(existsSync(marker), 'the payload ran');
});

test('a hostile global after real tensors is still refused before anything is read or called', async () => {
  const marker = join(dir, 'marker-late');
  const file = join(dir, 'late.ckpt');
  const sd = new Map<string, Parameters<typeof saveTorchCheckpoint>[1]>([
    ['ema_denoiser.w', tensorToSave('float32', [2], [1, 2])],
    ['ema_denoiser.z', rawPickle((w) => system(w, `touch ${marker}`))],
  ]);
  saveTorchCheckpoint(file, new Map([['state_dict', sd]]));
  try {
    await openWeights(file);
    assert.unreachable('accepted');
  } catch (e) {
    assert.match((e as Error).message, /refused pickle global posix\.system in data\.pkl/);
  }
  assert.not.ok(existsSync(marker));
});

test('the allowlist is exactly what a weights file needs', () => {
  const names = [...TORCH_GLOBALS.keys()];
  assert.equal(names.filter((n) => !/^torch\.[A-Za-z0-9]+Storage$/.test(n)), ['collections.OrderedDict', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter']);
});

test('a storage class is data only: REDUCE on it is refused', () => {
  const bytes = new PickleWriter().proto().global('torch', 'FloatStorage').emptyTuple().reduce().stop().bytes();
  assert.throws(() => unpickle(bytes, { source: 'data.pkl', globals: TORCH_GLOBALS }), /REDUCE on torch\.FloatStorage, which is not callable/);
});

test('a raw pickle file (not a zip) is refused without being parsed', async () => {
  const marker = join(dir, 'marker-raw');
  const file = join(dir, 'raw.pkl');
  writeFileSync(file, system(new PickleWriter().proto(), `touch ${marker}`).stop().bytes());
  try {
    await openWeights(file);
    assert.unreachable('accepted');
  } catch (e) {
    assert.match((e as Error).message, /a raw pickle, not a PyTorch zip checkpoint/);
  }
  assert.not.ok(existsSync(marker));
});

test.run();
