/**
 * Child process for run-lock.test.ts: `node --import tsx run-lock.fixture.ts '<json>'`.
 *
 * Writes one JSON line per event to stdout: {event: 'acquired' | 'refused' | 'released' | 'lost', ...}.
 *   {dir, mode: 'hold', holdMs?, opts?}  take the lock (waiting per opts.waitMs), hold it holdMs
 *                                        (absent: until killed or stdin says "release"), release, exit
 *   {dir, mode: 'exit', opts?}           take the lock and just end, without release()
 *   {startAt}                            before trying, sleep until this epoch ms (a start barrier)
 *   {takeoverDelayMs}                    stall this long between judging a lock stale and moving it aside
 */
import { acquireRunLock, RunLockedError, type RunLock, type RunLockOptions } from './run-lock';

interface Job {
  dir: string;
  mode: 'hold' | 'exit';
  holdMs?: number;
  startAt?: number;
  takeoverDelayMs?: number;
  opts?: RunLockOptions;
}

const job = JSON.parse(process.argv[2]!) as Job;
const say = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ pid: process.pid, ...o })}\n`);

if (job.startAt) await new Promise((r) => setTimeout(r, Math.max(0, job.startAt! - Date.now())));
let lock: RunLock;
try {
  lock = await acquireRunLock(job.dir, {
    ...job.opts,
    log: (line) => say({ event: 'log', line }),
    onLost: (reason) => say({ event: 'lost', reason }),
    ...(job.takeoverDelayMs ? { beforeTakeover: () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, job.takeoverDelayMs) } : {}),
  });
} catch (e) {
  if (!(e instanceof RunLockedError)) throw e;
  say({ event: 'refused', message: e.message, holderPid: e.holder.owner?.pid ?? null });
  process.exit(3);
}
say({ event: 'acquired', t: Date.now() });

if (job.mode === 'hold') {
  const done = () => {
    const t = Date.now(); // before the release: a waiter may take the lock before this process says so
    lock.release();
    say({ event: 'released', t });
    process.exit(0);
  };
  if (job.holdMs !== undefined) setTimeout(done, job.holdMs);
  else {
    // Hold until told, or until killed; stdin keeps the process alive.
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d: string) => {
      if (d.includes('release')) done();
    });
  }
}
// mode 'exit': nothing keeps the process alive (the heartbeat timer is unref'd); the exit hook releases.
