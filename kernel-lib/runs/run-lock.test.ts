import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../../test/setup';
import {
  acquireRunLock,
  acquireRunLockSync,
  forceUnlock,
  holdsRunLock,
  LOCK_DIR,
  OWNER_FILE,
  readRunLock,
  RunLockedError,
  RunLockLostError,
  withRunLock,
  type RunLockOwner,
} from './run-lock';

const FIXTURE = fileURLToPath(new URL('./run-lock.fixture.ts', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Event {
  event: string;
  pid: number;
  [k: string]: unknown;
}

/** A child process running the fixture, with its JSON events. */
class Child {
  readonly proc: ChildProcess;
  readonly events: Event[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stderr = '';
  private waiters: (() => void)[] = [];

  constructor(job: Record<string, unknown>) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', FIXTURE, JSON.stringify(job)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let buf = '';
    this.proc.stdout!.setEncoding('utf8');
    this.proc.stdout!.on('data', (d: string) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.trim()) this.events.push(JSON.parse(line) as Event);
      }
      for (const w of this.waiters.splice(0)) w();
    });
    this.proc.stderr!.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((r) => this.proc.on('exit', (code, signal) => r({ code, signal })));
    void this.exited.then(() => {
      for (const w of this.waiters.splice(0)) w();
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** The first event of this kind, waiting up to timeoutMs. */
  async waitFor(kind: string, timeoutMs = 20_000): Promise<Event> {
    const t0 = Date.now();
    for (;;) {
      const e = this.events.find((x) => x.event === kind);
      if (e) return e;
      if (this.proc.exitCode !== null || this.proc.signalCode !== null || Date.now() - t0 > timeoutMs) {
        throw new Error(`child ${this.pid}: no '${kind}' event (events ${JSON.stringify(this.events)}; exit ${this.proc.exitCode ?? this.proc.signalCode}; stderr ${this.stderr})`);
      }
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }

  tell(line: string): void {
    this.proc.stdin!.write(`${line}\n`);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL') {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    return this.exited;
  }
}

const children: Child[] = [];
function child(job: Record<string, unknown>): Child {
  const c = new Child(job);
  children.push(c);
  return c;
}
test.after.each(async () => {
  await Promise.all(children.splice(0).map((c) => c.kill()));
});

function collector() {
  const lines: string[] = [];
  return { lines, log: (l: string) => lines.push(l) };
}

function refusal(fn: () => unknown): RunLockedError {
  try {
    fn();
  } catch (e) {
    if (e instanceof RunLockedError) return e;
    throw e;
  }
  assert.unreachable('expected RunLockedError, the lock was granted');
  throw new Error('unreachable');
}

async function refusalAsync(p: Promise<unknown>): Promise<RunLockedError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RunLockedError) return e;
    throw e;
  }
  assert.unreachable('expected RunLockedError, the lock was granted');
  throw new Error('unreachable');
}

/** A PID that ran on this host and has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

function writeLock(dir: string, owner: Partial<RunLockOwner>, heartbeatAgeMs = 0): void {
  const lockPath = join(dir, LOCK_DIR);
  mkdirSync(lockPath, { recursive: true });
  const full: RunLockOwner = { version: 1, pid: 1, host: hostname(), startedAt: new Date().toISOString(), command: 'handmade', token: `hand-${Math.random()}`, ...owner };
  writeFileSync(join(lockPath, OWNER_FILE), JSON.stringify(full));
  const t = new Date(Date.now() - heartbeatAgeMs);
  utimesSync(lockPath, t, t);
}

const lockEntries = (dir: string) => readdirSync(dir).filter((n) => n.startsWith(LOCK_DIR));

// ------------------------------------------------------------------ one process

test('acquire creates the run directory and the lock with its holder; release removes it and leaves nothing', () => {
  const dir = join(tempDir('run-lock-'), 'runs', 'x');
  const lock = acquireRunLockSync(dir, { purpose: 'train', command: 'pixnerd train --run runs/x' });
  assert.ok(existsSync(join(dir, LOCK_DIR, OWNER_FILE)));
  const owner = JSON.parse(readFileSync(join(dir, LOCK_DIR, OWNER_FILE), 'utf8')) as RunLockOwner;
  assert.is(owner.pid, process.pid);
  assert.is(owner.host, hostname());
  assert.is(owner.command, 'pixnerd train --run runs/x');
  assert.is(owner.purpose, 'train');
  assert.ok(Math.abs(Date.parse(owner.startedAt) - Date.now()) < 10_000);
  assert.ok(holdsRunLock(dir));
  const info = readRunLock(dir)!;
  assert.is(info.owner!.token, lock.owner.token);
  assert.is(info.stale, false);
  assert.is(info.heldByThisProcess, true);
  lock.assertHeld();

  lock.release();
  assert.is(existsSync(join(dir, LOCK_DIR)), false);
  assert.equal(lockEntries(dir), []);
  assert.is(readRunLock(dir), null);
  assert.is(holdsRunLock(dir), false);
  assert.is(lock.released, true);
  lock.release(); // idempotent
  assert.throws(() => lock.assertHeld(), (e: unknown) => e instanceof RunLockLostError);
  acquireRunLockSync(dir).release(); // free again
});

test('in-process: a second acquire of a held directory is refused, through a symlink too, sync and async', async () => {
  const root = tempDir('run-lock-');
  const dir = join(root, 'run');
  const lock = acquireRunLockSync(dir, { purpose: 'train' });
  const e = refusal(() => acquireRunLockSync(dir));
  assert.is(e.holder.owner!.pid, process.pid);
  assert.ok(e.holder.heldByThisProcess);
  assert.ok(e.message.includes(realpathSync(dir)), e.message);
  assert.ok(e.message.includes(`PID ${process.pid} on host ${hostname()} (this process)`), e.message);
  assert.ok(e.message.includes('This same process holds it'), e.message);
  symlinkSync(dir, join(root, 'alias'));
  assert.is(refusal(() => acquireRunLockSync(join(root, 'alias'))).holder.owner!.token, lock.owner.token);
  const e2 = await refusalAsync(acquireRunLock(dir));
  assert.is(e2.waitedMs, 0);
  // withRunLock releases however its function ends
  lock.release();
  await withRunLock(dir, () => assert.ok(holdsRunLock(dir)));
  assert.is(holdsRunLock(dir), false);
  try {
    await withRunLock(dir, () => {
      throw new Error('boom');
    });
  } catch (err) {
    assert.is((err as Error).message, 'boom');
  }
  assert.is(existsSync(join(dir, LOCK_DIR)), false);
});

test('in-process: a lock naming this PID that this process does not hold (PID reused) is recovered', () => {
  const dir = tempDir('run-lock-');
  writeLock(dir, { pid: process.pid, token: 'an-earlier-life' });
  const log = collector();
  const lock = acquireRunLockSync(dir, log);
  assert.is(log.lines.length, 1);
  assert.ok(log.lines[0]!.includes('PID was reused'), log.lines[0]);
  lock.release();
});

test('different host: a fresh heartbeat is respected, one older than the timeout is recovered with one line', () => {
  const dir = tempDir('run-lock-');
  writeLock(dir, { pid: 424242, host: 'gpu-node-7', command: 'pixnerd train --run runs/x' }, 5_000);
  const e = refusal(() => acquireRunLockSync(dir));
  assert.is(e.holder.stale, false);
  assert.ok(e.message.includes('PID 424242 on host gpu-node-7'), e.message);
  assert.ok(e.message.includes('command: pixnerd train --run runs/x'), e.message);
  assert.ok(e.message.includes('--force-unlock'), e.message);

  const t = new Date(Date.now() - 61_000); // default timeout 60 s
  utimesSync(join(dir, LOCK_DIR), t, t);
  assert.ok(readRunLock(dir)!.stale);
  const log = collector();
  const lock = acquireRunLockSync(dir, log);
  assert.is(log.lines.length, 1);
  assert.match(log.lines[0]!, /recovered the stale lock .*PID 424242 on host gpu-node-7.*heartbeat is 6\d s old, over the 60 s timeout/);
  assert.is(readRunLock(dir)!.owner!.pid, process.pid);
  lock.release();
  assert.equal(lockEntries(dir).filter((n) => !n.startsWith(`${LOCK_DIR}.stale-`)), []);
});

test('same host: a dead PID is recovered at once whatever its heartbeat', () => {
  const dir = tempDir('run-lock-');
  const pid = deadPid();
  writeLock(dir, { pid }, 0);
  const info = readRunLock(dir)!;
  assert.ok(info.stale);
  assert.ok(info.reason.includes(`PID ${pid} is no longer running`), info.reason);
  const log = collector();
  acquireRunLockSync(dir, log).release();
  assert.is(log.lines.length, 1);
  assert.ok(log.lines[0]!.includes(`PID ${pid}`));
});

test('forceUnlock in-process: the holder is marked lost, a new lock is not removed by the old release', () => {
  const dir = tempDir('run-lock-');
  assert.is(forceUnlock(dir), null);
  const lost: string[] = [];
  const a = acquireRunLockSync(dir, { onLost: (r) => lost.push(r) });
  const was = forceUnlock(dir)!;
  assert.is(was.owner!.token, a.owner.token);
  assert.is(existsSync(join(dir, LOCK_DIR)), false);
  assert.is(lost.length, 1);
  assert.ok(a.lost);
  assert.throws(() => a.assertHeld(), (e: unknown) => e instanceof RunLockLostError && e.message.includes('forceUnlock'));
  const b = acquireRunLockSync(dir);
  a.release();
  assert.is(readRunLock(dir)!.owner!.token, b.owner.token);
  assert.is(a.heartbeat(), false);
  b.release();
});

test('options are checked: the stale timeout must exceed two heartbeats', () => {
  const dir = tempDir('run-lock-');
  assert.throws(() => acquireRunLockSync(dir, { heartbeatMs: 10_000, staleMs: 15_000 }), /staleMs/);
  assert.throws(() => acquireRunLockSync(dir, { heartbeatMs: 0 }), /heartbeatMs/);
});

// ------------------------------------------------------------------ real processes

test('two processes: the second writer is refused at once, naming PID, host, start time and command', async () => {
  const dir = join(tempDir('run-lock-'), 'run');
  const holder = child({ dir, mode: 'hold', opts: { purpose: 'train' } });
  await holder.waitFor('acquired');

  const t0 = Date.now();
  const e = refusal(() => acquireRunLockSync(dir));
  assert.ok(Date.now() - t0 < 1000, 'refused at once');
  assert.is(e.holder.owner!.pid, holder.pid);
  assert.is(e.holder.heldByThisProcess, false);
  assert.ok(e.message.includes(`run directory ${realpathSync(dir)} is locked`), e.message);
  assert.ok(e.message.includes(`PID ${holder.pid} on host ${hostname()}, train, started ${e.holder.owner!.startedAt}`), e.message);
  assert.ok(e.message.includes('run-lock.fixture.ts'), e.message); // the command line
  assert.ok(e.message.includes(`kill ${holder.pid}`) && e.message.includes('--force-unlock'), e.message);
  assert.is(readRunLock(dir)!.stale, false);

  // A second child is refused too, naming the first.
  const other = child({ dir, mode: 'hold', holdMs: 0 });
  const r = await other.waitFor('refused');
  assert.is(r.holderPid, holder.pid);
  assert.is((await other.exited).code, 3);

  holder.tell('release');
  await holder.waitFor('released');
  acquireRunLockSync(dir).release();
});

test('a SIGKILLed holder: its lock stays, the next acquire recovers it with one line naming it', async () => {
  const dir = tempDir('run-lock-');
  const holder = child({ dir, mode: 'hold' });
  await holder.waitFor('acquired');
  const { signal } = await holder.kill('SIGKILL');
  assert.is(signal, 'SIGKILL');
  assert.ok(existsSync(join(dir, LOCK_DIR, OWNER_FILE)), 'a SIGKILL leaves the lock behind');
  const log = collector();
  const lock = acquireRunLockSync(dir, log);
  assert.is(log.lines.length, 1);
  assert.ok(log.lines[0]!.includes(`PID ${holder.pid} on host ${hostname()}`), log.lines[0]);
  assert.ok(log.lines[0]!.includes('no longer running'), log.lines[0]);
  assert.is(readRunLock(dir)!.owner!.pid, process.pid);
  lock.release();
});

test('another host: a live heartbeat keeps the lock past the timeout; once the holder dies it is recovered after the timeout', async () => {
  const dir = tempDir('run-lock-');
  const fast = { heartbeatMs: 100, staleMs: 700 };
  const holder = child({ dir, mode: 'hold', opts: { ...fast, host: 'node-b' } });
  await holder.waitFor('acquired');
  await sleep(1500); // > staleMs: only the heartbeat keeps it fresh
  const e = refusal(() => acquireRunLockSync(dir, fast));
  assert.ok(e.message.includes(`PID ${holder.pid} on host node-b`), e.message);
  assert.ok(e.holder.heartbeatAgeMs < 700);

  await holder.kill('SIGKILL');
  // Its PID is dead, but on "another host" only the heartbeat can tell: not yet.
  refusal(() => acquireRunLockSync(dir, fast));
  await sleep(900);
  const log = collector();
  const lock = acquireRunLockSync(dir, { ...fast, ...log });
  assert.is(log.lines.length, 1);
  assert.ok(log.lines[0]!.includes('on host node-b') && log.lines[0]!.includes('over the 0.7 s timeout'), log.lines[0]);
  lock.release();
});

test('forceUnlock: removes a live holder\'s lock; the holder reports it lost and its release leaves the new lock alone', async () => {
  const dir = tempDir('run-lock-');
  const holder = child({ dir, mode: 'hold', opts: { heartbeatMs: 100, staleMs: 1000 } });
  await holder.waitFor('acquired');
  const was = forceUnlock(dir)!;
  assert.is(was.owner!.pid, holder.pid);
  assert.is(existsSync(join(dir, LOCK_DIR)), false);
  const lock = acquireRunLockSync(dir);
  const lost = await holder.waitFor('lost', 5000);
  // The holder's next heartbeat sees the lock gone, or already someone else's.
  assert.match(String(lost.reason), new RegExp(`was removed|taken over by PID ${process.pid} `));
  holder.tell('release');
  await holder.waitFor('released');
  assert.is(readRunLock(dir)!.owner!.token, lock.owner.token);
  lock.release();
});

test('bounded wait: succeeds when the holder releases in time', async () => {
  const dir = tempDir('run-lock-');
  const holder = child({ dir, mode: 'hold', holdMs: 800 });
  await holder.waitFor('acquired');
  const log = collector();
  const lock = await acquireRunLock(dir, { waitMs: 20_000, pollMs: 50, ...log });
  const got = Date.now();
  const released = await holder.waitFor('released');
  assert.ok(got >= (released.t as number), 'acquired only after the holder released');
  assert.is(log.lines.length, 1);
  assert.ok(log.lines[0]!.includes(`PID ${holder.pid}`) && log.lines[0]!.includes('waiting up to'), log.lines[0]);
  lock.release();
});

test('bounded wait: fails with the holder named when the time is up', async () => {
  const dir = tempDir('run-lock-');
  const holder = child({ dir, mode: 'hold' });
  await holder.waitFor('acquired');
  const t0 = Date.now();
  const e = await refusalAsync(acquireRunLock(dir, { waitMs: 600, pollMs: 50, log: () => {} }));
  const took = Date.now() - t0;
  assert.ok(took >= 600 && took < 5000, `waited ${took} ms`);
  assert.ok(e.waitedMs >= 600);
  assert.is(e.holder.owner!.pid, holder.pid);
  assert.ok(e.message.includes('after waiting') && e.message.includes(`PID ${holder.pid}`), e.message);
  assert.ok(existsSync(join(dir, LOCK_DIR)));
});

test('a holder that ends without release() exits promptly (unref\'d heartbeat) and its exit hook removes the lock; so does SIGTERM', async () => {
  const dir = tempDir('run-lock-');
  const a = child({ dir, mode: 'exit', opts: { heartbeatMs: 50, staleMs: 1000 } });
  await a.waitFor('acquired');
  const { code } = await Promise.race([a.exited, sleep(10_000).then(() => ({ code: -1 }))]);
  assert.is(code, 0, 'the heartbeat timer kept the process alive');
  assert.is(existsSync(join(dir, LOCK_DIR)), false);

  const b = child({ dir, mode: 'hold' });
  await b.waitFor('acquired');
  const { signal } = await b.kill('SIGTERM');
  assert.is(signal, 'SIGTERM', 'the process still dies of the signal');
  assert.is(existsSync(join(dir, LOCK_DIR)), false);
  assert.equal(lockEntries(dir), []);
});

test('race: writers racing for one stale lock: exactly one wins, exactly one takeover line', async () => {
  const dir = tempDir('run-lock-');
  const pid = deadPid();
  writeLock(dir, { pid });
  const startAt = Date.now() + 4000;
  // All judge the lock stale at about the same time, then stall 300 ms before moving it aside: a
  // remove-then-create takeover would let several of them win.
  const racers = Array.from({ length: 6 }, () => child({ dir, mode: 'hold', holdMs: 2500, startAt, takeoverDelayMs: 300 }));
  await Promise.all(racers.map((c) => c.exited));
  const won = racers.filter((c) => c.events.some((e) => e.event === 'acquired'));
  const refused = racers.filter((c) => c.events.some((e) => e.event === 'refused'));
  assert.is(won.length, 1, `winners: ${won.map((c) => c.pid)}; events ${JSON.stringify(racers.map((c) => c.events))}`);
  assert.is(refused.length, 5);
  for (const c of refused) assert.is(c.events.find((e) => e.event === 'refused')!.holderPid, won[0]!.pid);
  const lines = racers.flatMap((c) => c.events.filter((e) => e.event === 'log'));
  assert.is(lines.length, 1, JSON.stringify(lines));
  assert.ok(String(lines[0]!.line).includes(`PID ${pid}`));
  assert.is(existsSync(join(dir, LOCK_DIR)), false);
});

test.run();
