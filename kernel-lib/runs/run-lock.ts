/**
 * One writer per run directory (issue 19).
 *
 * Every writer of a run directory (training, the experiment runner, a SLURM task, `evaluate`
 * where it writes results) takes this lock before it reads or writes anything there. Readers
 * (`sample`, `--status`, notebooks, reports) never take it: the run's files are written
 * atomically, so a reader sees complete files without the lock.
 *
 *   <run>/.lock/              the lock: a directory that exists while a writer holds the run
 *   <run>/.lock/owner.json    its holder: {pid, host, startedAt, command, token, purpose, bootId, procStart}
 *   mtime of <run>/.lock      the heartbeat, refreshed every `heartbeatMs` (default 10 s)
 *
 * Taking the lock: the owner.json is written into a private `<run>/.lock.tmp-<token>/`, which is
 * then renamed to `<run>/.lock`. rename(2) of a directory fails when the target is a non-empty
 * directory, so exactly one writer wins, and a lock directory is never seen without its owner.
 *
 * A lock is stale, and is taken over by the next writer with one logged line, when
 *   - its holder ran on this host and is gone: the PID is not running (kill(pid, 0) gives ESRCH),
 *     is a zombie, was reused by another process (its /proc start time differs), is this very
 *     process without this process holding the lock, or the host has rebooted since (boot id);
 *   - its holder ran on another host (a shared file system) and the heartbeat is older than
 *     `staleMs` (default 60 s). Clocks of the hosts must agree to well within that.
 * Takeover renames the stale `.lock` to a tombstone named after the stale holder's token,
 * `<run>/.lock.stale-<token>`, checks that what it moved is the lock it judged stale (and puts it
 * back if not), then races for the lock like any writer. Two writers that judged the same lock
 * stale cannot both remove it: the second rename finds the tombstone there and fails, and a fresh
 * lock of the winner is never mistaken for the stale one. Tombstones are removed after 10 min.
 *
 * Why not `proper-lockfile` (4.1.2, the issue's suggestion)? It has the right base (mkdir, mtime
 * heartbeat, unref'd timer, release on exit, a sync variant), but it lacks what this issue needs:
 *   - no holder information: its lock is an empty directory removed with rmdir, so an owner file
 *     inside breaks its unlock, and a file beside it is not written atomically with the lock;
 *     the refusal could not name PID, host, start time and command;
 *   - stale only by mtime: a SIGKILLed holder on the same host blocks the run until the stale
 *     timeout runs out, instead of being recovered at once by its dead PID;
 *   - its stale takeover is rmdir-then-mkdir: two writers that both judged the lock stale can both
 *     win (the second rmdir removes the first one's fresh lock);
 *   - a compromised lock throws from a timer by default (crashing a notebook kernel).
 * Wrapping it would leave the takeover race and need a second, non-atomic owner file, so this
 * module implements the same semantics (atomic directory creation, mtime heartbeat, NFS-friendly
 * operations only: mkdir, rename, utimes, stat) in about the same amount of code, with no new
 * dependency.
 *
 * Within one process, a second acquire of a directory this process already holds is refused too
 * (an unfinished `train()` in a notebook and a new one on the same run); paths are compared after
 * realpath, so a symlinked alias is the same run. The registry lives on `globalThis`, so two
 * copies of this module in one process still see each other.
 *
 * Release: `lock.release()` (idempotent, never throws); all locks of the process are released
 * synchronously on 'exit', and on SIGINT/SIGTERM/SIGHUP when no other handler is installed for
 * that signal (the signal is then re-raised, so the process still dies of it). The heartbeat
 * timer is unref'd and never keeps the process alive. A lock whose directory was removed or
 * taken over under its holder (forceUnlock, or a holder that stalled past `staleMs`) is "lost":
 * the holder's next heartbeat notices, calls `onLost` once and stops; `assertHeld()` throws.
 */
import { mkdirSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Name of the lock directory inside a run directory. */
export const LOCK_DIR = '.lock';
/** Name of the holder file inside the lock directory. */
export const OWNER_FILE = 'owner.json';
export const DEFAULT_HEARTBEAT_MS = 10_000;
export const DEFAULT_STALE_MS = 60_000;
export const DEFAULT_POLL_MS = 500;
/** Age after which leftovers of takeovers and interrupted acquires/releases are removed. */
const DEBRIS_TTL_MS = 10 * 60_000;

/** What `<run>/.lock/owner.json` holds. */
export interface RunLockOwner {
  version: 1;
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  startedAt: string;
  /** The holder's command line. */
  command: string;
  /** Unique per acquisition: tells one holder's lock from the next one's. */
  token: string;
  /** What the holder does with the run, e.g. `train`, `evaluate`. */
  purpose?: string;
  /** Linux boot id of the holder's host (a reboot makes every lock of that host stale). */
  bootId?: string;
  /** Linux start time of the holder process, in clock ticks since boot (detects a reused PID). */
  procStart?: string;
}

/** A lock as a reader sees it (`readRunLock`, `RunLockedError.holder`). */
export interface RunLockInfo {
  /** The run directory (absolute, symlinks resolved). */
  dir: string;
  lockPath: string;
  /** The holder; null when owner.json is missing or unreadable. */
  owner: RunLockOwner | null;
  /** ISO time of the last heartbeat (mtime of the lock directory). */
  heartbeatAt: string;
  heartbeatAgeMs: number;
  /** Whether the next writer would take the lock over. */
  stale: boolean;
  /** Why it is (or is not) stale, in words. */
  reason: string;
  /** Held by a live RunLock of this very process. */
  heldByThisProcess: boolean;
}

export interface RunLockOptions {
  /** Keep trying for this long when the lock is held (a requeued cluster task); default 0: fail at once. */
  waitMs?: number;
  /** Interval between tries while waiting; default 500 ms. */
  pollMs?: number;
  /** Heartbeat interval; default 10 s. */
  heartbeatMs?: number;
  /** A lock from another host whose heartbeat is older than this is stale; default 60 s. Must exceed 2 x heartbeatMs. */
  staleMs?: number;
  /** Where the one-line takeover, waiting and lost-lock notes go; default console.warn. */
  log?: (line: string) => void;
  /** Called once if the lock is removed or taken over under its holder; default: a line to `log`. */
  onLost?: (reason: string) => void;
  /** What the holder does, shown to the refused writer, e.g. `train`. */
  purpose?: string;
  /** Command line recorded for the holder; default this process's argv. */
  command?: string;
  /** This machine's name; default os.hostname(). Tests set it to play another host. */
  host?: string;
  /** Release on SIGINT/SIGTERM/SIGHUP when nothing else handles the signal; default true. */
  releaseOnSignals?: boolean;
  /** Test seam: called after a lock was judged stale, just before it is moved aside (tests widen the race window with it). */
  beforeTakeover?: (stale: RunLockInfo) => void;
}

/** A held lock. */
export interface RunLock {
  /** The run directory (absolute, symlinks resolved). */
  readonly dir: string;
  readonly lockPath: string;
  readonly owner: RunLockOwner;
  /** True after release() or once the lock was lost. */
  readonly released: boolean;
  /** The reason the lock was lost (removed or taken over under us), else null. */
  readonly lost: string | null;
  /** Removes the lock if it is still ours. Idempotent; never throws. */
  release(): void;
  /** Refreshes the heartbeat now (the timer does it every heartbeatMs); false when the lock was lost. */
  heartbeat(): boolean;
  /** Throws when the lock was released or lost: call before writing to the run. */
  assertHeld(): void;
}

/** A writer was refused because another one holds the run directory. */
export class RunLockedError extends Error {
  readonly code = 'ERUNLOCKED';
  constructor(
    /** The run directory. */
    readonly dir: string,
    /** The holder as last seen. */
    readonly holder: RunLockInfo,
    /** How long the refused writer waited (0: it did not wait). */
    readonly waitedMs = 0,
  ) {
    super(lockedMessage(dir, holder, waitedMs));
    this.name = 'RunLockedError';
  }
}

/** A lock was used after it was released or lost. */
export class RunLockLostError extends Error {
  constructor(
    readonly dir: string,
    readonly reason: string,
  ) {
    super(`the lock on run directory ${dir} is no longer held: ${reason}. Another writer may be using the run; stop here rather than write to it.`);
    this.name = 'RunLockLostError';
  }
}

// ------------------------------------------------------------------ process-wide state

interface Held {
  handle: RunLockHandle;
}
interface Registry {
  /** realpath of the run directory -> the lock this process holds on it. */
  byDir: Map<string, Held>;
  exitHook: boolean;
  signalHooks: Map<NodeJS.Signals, () => void>;
}
const REGISTRY_KEY = Symbol.for('pixnerd-ts.run-lock.registry');
const globalSlots = globalThis as unknown as Record<symbol, Registry | undefined>;
const registry: Registry = (globalSlots[REGISTRY_KEY] ??= { byDir: new Map(), exitHook: false, signalHooks: new Map() });

const SIGNALS: NodeJS.Signals[] = process.platform === 'win32' ? ['SIGINT', 'SIGTERM'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];

function releaseAll(): void {
  for (const { handle } of [...registry.byDir.values()]) handle.release();
}

function installHooks(releaseOnSignals: boolean): void {
  if (!registry.exitHook) {
    registry.exitHook = true;
    process.on('exit', releaseAll);
  }
  if (!releaseOnSignals) return;
  for (const sig of SIGNALS) {
    if (registry.signalHooks.has(sig)) continue;
    const onSignal = () => {
      // Only when we are the sole handler: then the process is about to die of the signal. With
      // another handler (a graceful stop that saves a checkpoint first), that handler decides,
      // and the 'exit' hook releases the lock when the process does end.
      if (process.listenerCount(sig) > 1) return;
      releaseAll();
      removeSignalHooks();
      process.kill(process.pid, sig);
    };
    registry.signalHooks.set(sig, onSignal);
    process.on(sig, onSignal);
  }
}

function removeSignalHooks(): void {
  for (const [sig, fn] of registry.signalHooks) process.removeListener(sig, fn);
  registry.signalHooks.clear();
}

// ------------------------------------------------------------------ host and process facts

let bootIdCache: string | null | undefined;
function bootId(): string | undefined {
  if (bootIdCache === undefined) {
    try {
      bootIdCache = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      bootIdCache = null;
    }
  }
  return bootIdCache ?? undefined;
}

/** State letter and start time of a process from /proc (Linux), or undefined. */
function procStat(pid: number): { state: string; start: string } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); field 22 (starttime) is rest[19].
    return rest.length > 19 ? { state: rest[0]!, start: rest[19]! } : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process with this PID exists on this host (EPERM: it exists, owned by someone else). */
function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function quoteArg(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

function defaultCommand(): string {
  const cmd = [basename(process.argv0 || process.execPath), ...process.argv.slice(1)].map(quoteArg).join(' ');
  return cmd.length > 1000 ? `${cmd.slice(0, 997)}...` : cmd;
}

// ------------------------------------------------------------------ files

type OwnerRead = { kind: 'ok'; owner: RunLockOwner } | { kind: 'missing' } | { kind: 'unreadable' };

function readOwner(lockDir: string): OwnerRead {
  let text: string;
  try {
    text = readFileSync(join(lockDir, OWNER_FILE), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? { kind: 'missing' } : { kind: 'unreadable' };
  }
  try {
    const o = JSON.parse(text) as RunLockOwner;
    if (typeof o !== 'object' || o === null || typeof o.token !== 'string' || typeof o.pid !== 'number' || typeof o.host !== 'string') return { kind: 'unreadable' };
    return { kind: 'ok', owner: o };
  } catch {
    return { kind: 'unreadable' };
  }
}

function tokenAt(lockDir: string): string | null {
  const r = readOwner(lockDir);
  return r.kind === 'ok' ? r.owner.token : null;
}

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

/** rename failed because the target exists (Linux: ENOTEMPTY/EEXIST; Windows: EPERM). */
function targetExists(e: unknown, target: string): boolean {
  const c = errCode(e);
  if (c === 'ENOTEMPTY' || c === 'EEXIST') return true;
  if (c === 'EPERM' || c === 'EACCES') {
    try {
      statSync(target);
      return true;
    } catch {
      return false;
    }
  }
  return false;
}

/**
 * Moves `from` to `to` only if the lock there has token `expected` (null: no readable owner).
 * Renames first, then checks what it moved; if it moved someone else's lock it puts it back.
 */
function moveAsideIf(from: string, to: string, expected: string | null): boolean {
  try {
    renameSync(from, to);
  } catch (e) {
    if (errCode(e) === 'ENOENT' || targetExists(e, to)) return false;
    throw e;
  }
  if (tokenAt(to) === expected) return true;
  try {
    renameSync(to, from);
  } catch {
    // Someone took the lock in the microseconds between: the displaced holder notices at its next heartbeat.
  }
  return false;
}

/** Removes leftovers (tombstones, interrupted acquires/releases) older than DEBRIS_TTL_MS. Best effort. */
function cleanDebris(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const now = Date.now();
  for (const n of names) {
    if (!n.startsWith(`${LOCK_DIR}.`)) continue;
    const p = join(dir, n);
    try {
      if (now - statSync(p).mtimeMs > DEBRIS_TTL_MS) rmSync(p, { recursive: true, force: true });
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
}

// ------------------------------------------------------------------ judging a lock

interface Settings {
  waitMs: number;
  pollMs: number;
  heartbeatMs: number;
  staleMs: number;
  log: (line: string) => void;
  onLost?: (reason: string) => void;
  purpose?: string;
  command: string;
  host: string;
  releaseOnSignals: boolean;
  beforeTakeover?: (stale: RunLockInfo) => void;
}

function settings(opts: RunLockOptions): Settings {
  const s: Settings = {
    waitMs: opts.waitMs ?? 0,
    pollMs: opts.pollMs ?? DEFAULT_POLL_MS,
    heartbeatMs: opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    staleMs: opts.staleMs ?? DEFAULT_STALE_MS,
    log: opts.log ?? ((line) => console.warn(line)),
    onLost: opts.onLost,
    purpose: opts.purpose,
    command: opts.command ?? defaultCommand(),
    host: opts.host ?? hostname(),
    releaseOnSignals: opts.releaseOnSignals ?? true,
    beforeTakeover: opts.beforeTakeover,
  };
  for (const k of ['waitMs', 'pollMs', 'heartbeatMs', 'staleMs'] as const) {
    if (!Number.isFinite(s[k]) || s[k] < 0) throw new RangeError(`run lock: ${k} = ${s[k]}: must be a finite number >= 0`);
  }
  if (s.heartbeatMs <= 0) throw new RangeError(`run lock: heartbeatMs = ${s.heartbeatMs}: must be > 0`);
  if (s.pollMs <= 0) throw new RangeError(`run lock: pollMs = ${s.pollMs}: must be > 0`);
  if (s.staleMs <= 2 * s.heartbeatMs) {
    throw new RangeError(`run lock: staleMs = ${s.staleMs} must exceed 2 x heartbeatMs = ${2 * s.heartbeatMs}, or a live holder on another host could be taken for dead`);
  }
  return s;
}

function secs(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

function judge(owner: RunLockOwner | null, ageMs: number, s: Pick<Settings, 'host' | 'staleMs'>): { stale: boolean; reason: string; heldByThisProcess: boolean } {
  const byHeartbeat = (what: string) =>
    ageMs > s.staleMs
      ? { stale: true, reason: `${what}; its heartbeat is ${secs(ageMs)} old, over the ${secs(s.staleMs)} timeout`, heldByThisProcess: false }
      : { stale: false, reason: `${what}; its heartbeat is ${secs(ageMs)} old, within the ${secs(s.staleMs)} timeout`, heldByThisProcess: false };
  if (!owner) return byHeartbeat('the lock has no readable owner.json');
  if (owner.host !== s.host) return byHeartbeat(`the holder runs on another host (${owner.host})`);
  const boot = bootId();
  if (owner.bootId && boot && owner.bootId !== boot) return { stale: true, reason: `host ${owner.host} has rebooted since the lock was taken`, heldByThisProcess: false };
  if (owner.pid === process.pid) {
    for (const { handle } of registry.byDir.values()) {
      if (handle.owner.token === owner.token) return { stale: false, reason: `held by this process (PID ${owner.pid})`, heldByThisProcess: true };
    }
    return { stale: true, reason: `PID ${owner.pid} is this process, which does not hold the lock (the PID was reused)`, heldByThisProcess: false };
  }
  if (!Number.isInteger(owner.pid) || owner.pid <= 0) return { stale: true, reason: `the owner's PID ${owner.pid} is not a process id`, heldByThisProcess: false };
  if (!pidExists(owner.pid)) return { stale: true, reason: `PID ${owner.pid} is no longer running on ${owner.host}`, heldByThisProcess: false };
  const st = procStat(owner.pid);
  if (st && (st.state === 'Z' || st.state === 'X')) return { stale: true, reason: `PID ${owner.pid} on ${owner.host} has exited (zombie)`, heldByThisProcess: false };
  if (st && owner.procStart && st.start !== owner.procStart) return { stale: true, reason: `PID ${owner.pid} on ${owner.host} now belongs to another process (the PID was reused)`, heldByThisProcess: false };
  return { stale: false, reason: `PID ${owner.pid} is running on ${owner.host}`, heldByThisProcess: false };
}

function canonicalDir(runDir: string): string {
  try {
    return realpathSync(runDir);
  } catch {
    return resolve(runDir);
  }
}

function inspect(dir: string, s: Pick<Settings, 'host' | 'staleMs'>): RunLockInfo | null {
  const lockPath = join(dir, LOCK_DIR);
  let mtimeMs: number;
  try {
    mtimeMs = statSync(lockPath).mtimeMs;
  } catch (e) {
    if (errCode(e) === 'ENOENT') return null;
    throw e;
  }
  const r = readOwner(lockPath);
  if (r.kind === 'missing') {
    // Released (or taken over) between the stat and the read?
    try {
      statSync(lockPath);
    } catch (e) {
      if (errCode(e) === 'ENOENT') return null;
    }
  }
  const owner = r.kind === 'ok' ? r.owner : null;
  const ageMs = Math.max(0, Date.now() - mtimeMs);
  return { dir, lockPath, owner, heartbeatAt: new Date(mtimeMs).toISOString(), heartbeatAgeMs: ageMs, ...judge(owner, ageMs, s) };
}

/** One line naming a holder: PID, host, start time, command, heartbeat. */
export function describeHolder(info: RunLockInfo): string {
  const o = info.owner;
  if (!o) return `an unknown holder (no readable ${OWNER_FILE} in ${info.lockPath}), last heartbeat ${secs(info.heartbeatAgeMs)} ago`;
  return (
    `PID ${o.pid} on host ${o.host}${info.heldByThisProcess ? ' (this process)' : ''}` +
    `${o.purpose ? `, ${o.purpose}` : ''}, started ${o.startedAt}, command: ${o.command}, last heartbeat ${secs(info.heartbeatAgeMs)} ago`
  );
}

function lockedMessage(dir: string, h: RunLockInfo, waitedMs: number): string {
  const what = `run directory ${dir} is locked by another writer${waitedMs > 0 ? ` (still, after waiting ${secs(waitedMs)})` : ''}: ${describeHolder(h)}.`;
  if (h.heldByThisProcess) {
    return (
      `${what}\nThis same process holds it: an earlier train()/evaluate() on this run has not finished (a notebook cell still running, or a call ` +
      `that failed without releasing its lock). Await it or call release() on its lock first; two writers would mix their histories in one run.`
    );
  }
  const o = h.owner;
  const stop = o ? `stop it (kill ${o.pid} on host ${o.host})` : `stop it`;
  return (
    `${what}\nOnly one writer may use a run directory at a time. Wait for it to finish, ${stop}, or, if you are sure it is dead, ` +
    `rerun with --force-unlock (library: forceUnlock(${JSON.stringify(dir)})).`
  );
}

// ------------------------------------------------------------------ the lock

class RunLockHandle implements RunLock {
  released = false;
  lost: string | null = null;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly dir: string,
    readonly lockPath: string,
    readonly owner: RunLockOwner,
    private readonly s: Settings,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.heartbeat(), this.s.heartbeatMs);
    this.timer.unref();
  }

  heartbeat(): boolean {
    if (this.released) return false;
    const r = readOwner(this.lockPath);
    if (r.kind === 'missing' || (r.kind === 'ok' && r.owner.token !== this.owner.token)) {
      const why = r.kind === 'missing' ? `${this.lockPath} was removed (forceUnlock?)` : `it was taken over by PID ${r.owner.pid} on host ${r.owner.host}`;
      this.markLost(why);
      return false;
    }
    try {
      const now = new Date();
      utimesSync(this.lockPath, now, now);
    } catch {
      // A transient error (NFS): the next beat retries; staleMs allows for a few missed beats.
    }
    return true;
  }

  assertHeld(): void {
    if (this.lost) throw new RunLockLostError(this.dir, this.lost);
    if (this.released) throw new RunLockLostError(this.dir, 'it was released');
  }

  release(): void {
    if (this.released) return;
    this.stop();
    try {
      if (tokenAt(this.lockPath) !== this.owner.token) return; // not ours any more: leave the new holder's lock alone
      const aside = join(this.dir, `${LOCK_DIR}.released-${this.owner.token}`);
      if (moveAsideIf(this.lockPath, aside, this.owner.token)) rmSync(aside, { recursive: true, force: true });
    } catch {
      // Never throw from release (it runs in finally blocks and exit hooks); a leftover lock of a
      // dead process is recovered by the next writer.
    }
  }

  /** Called by forceUnlock for a lock of this process. */
  markLost(why: string): void {
    if (this.released) return;
    this.lost = why;
    this.stop();
    const line = `pixnerd: lost the lock on run directory ${this.dir}: ${why}; stop writing to it`;
    if (this.s.onLost) this.s.onLost(why);
    else this.s.log(line);
  }

  private stop(): void {
    this.released = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const held = registry.byDir.get(this.dir);
    if (held?.handle === this) registry.byDir.delete(this.dir);
    if (registry.byDir.size === 0) removeSignalHooks();
  }
}

/** One try: the lock, or RunLockedError naming the holder. Synchronous, so two tries in one process cannot interleave. */
function tryAcquire(runDir: string, s: Settings): RunLock {
  mkdirSync(runDir, { recursive: true });
  const dir = canonicalDir(runDir);
  const lockPath = join(dir, LOCK_DIR);
  const mine = registry.byDir.get(dir);
  if (mine && !mine.handle.released) {
    const info = inspect(dir, s);
    throw new RunLockedError(dir, info && info.heldByThisProcess ? info : ownInfo(mine.handle), 0);
  }
  cleanDebris(dir);
  for (let attempt = 0; attempt < 8; attempt++) {
    const proc = procStat(process.pid);
    const owner: RunLockOwner = {
      version: 1,
      pid: process.pid,
      host: s.host,
      startedAt: new Date().toISOString(),
      command: s.command,
      token: `${process.pid}-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`,
      ...(s.purpose ? { purpose: s.purpose } : {}),
      ...(bootId() ? { bootId: bootId() } : {}),
      ...(proc ? { procStart: proc.start } : {}),
    };
    const tmp = join(dir, `${LOCK_DIR}.tmp-${owner.token}`);
    mkdirSync(tmp);
    let won = false;
    try {
      writeFileSync(join(tmp, OWNER_FILE), `${JSON.stringify(owner, null, 2)}\n`);
      renameSync(tmp, lockPath);
      won = true;
    } catch (e) {
      // An NFS retransmit can report a failure for a rename that happened: trust what is there.
      if (tokenAt(lockPath) === owner.token) won = true;
      else if (!targetExists(e, lockPath)) {
        rmSync(tmp, { recursive: true, force: true });
        throw e;
      }
    }
    if (won) {
      const handle = new RunLockHandle(dir, lockPath, owner, s);
      registry.byDir.set(dir, { handle });
      installHooks(s.releaseOnSignals);
      handle.start();
      return handle;
    }
    rmSync(tmp, { recursive: true, force: true });
    const info = inspect(dir, s);
    if (!info) continue; // released meanwhile: try again
    if (!info.stale) throw new RunLockedError(dir, info, 0);
    s.beforeTakeover?.(info);
    const tomb = join(dir, `${LOCK_DIR}.stale-${info.owner?.token ?? `unowned-${Date.parse(info.heartbeatAt)}`}`);
    if (moveAsideIf(lockPath, tomb, info.owner?.token ?? null)) {
      // Logged by the one writer that moved this stale lock aside, whether or not it then wins the lock.
      s.log(`pixnerd: recovered the stale lock on run directory ${dir} from ${describeHolder(info)}: ${info.reason}`);
      try {
        const now = new Date();
        utimesSync(tomb, now, now); // the tombstone ages from the takeover, not from the dead heartbeat
      } catch {
        // best effort
      }
    }
    // Whether we removed it or someone else did, race for the lock again.
  }
  const info = inspect(dir, s);
  if (info) throw new RunLockedError(dir, info, 0);
  throw new Error(`run lock: could not take ${lockPath}: it kept changing hands`);
}

function ownInfo(h: RunLockHandle): RunLockInfo {
  return { dir: h.dir, lockPath: h.lockPath, owner: h.owner, heartbeatAt: new Date().toISOString(), heartbeatAgeMs: 0, stale: false, reason: 'held by this process', heldByThisProcess: true };
}

/**
 * Takes the run directory's lock without waiting (creating the directory if needed). Throws
 * RunLockedError naming the holder when another writer, in this process or any other, holds it;
 * takes over a stale lock with one line to `log`.
 */
export function acquireRunLockSync(runDir: string, opts: Omit<RunLockOptions, 'waitMs' | 'pollMs'> = {}): RunLock {
  return tryAcquire(runDir, settings(opts));
}

/**
 * Takes the run directory's lock (creating the directory if needed). With `waitMs`, a held lock
 * is polled every `pollMs` until it frees or the time is up; then RunLockedError names the holder.
 */
export async function acquireRunLock(runDir: string, opts: RunLockOptions = {}): Promise<RunLock> {
  const s = settings(opts);
  const t0 = Date.now();
  let announced = false;
  for (;;) {
    try {
      return tryAcquire(runDir, s);
    } catch (e) {
      if (!(e instanceof RunLockedError)) throw e;
      const waited = Date.now() - t0;
      if (waited >= s.waitMs) throw s.waitMs > 0 ? new RunLockedError(e.dir, e.holder, waited) : e;
      if (!announced) {
        announced = true;
        s.log(`pixnerd: run directory ${e.dir} is locked by ${describeHolder(e.holder)}; waiting up to ${secs(s.waitMs)} for it`);
      }
      await new Promise((r) => setTimeout(r, Math.min(s.pollMs, s.waitMs - waited)));
    }
  }
}

/** Runs `fn` holding the run directory's lock; releases it however `fn` ends. */
export async function withRunLock<T>(runDir: string, fn: (lock: RunLock) => T | Promise<T>, opts: RunLockOptions = {}): Promise<T> {
  const lock = await acquireRunLock(runDir, opts);
  try {
    return await fn(lock);
  } finally {
    lock.release();
  }
}

/**
 * The run directory's lock as a reader sees it, or null when nobody holds it. Never blocks and
 * never changes anything (for `--status` and reports). `staleMs` and `host` as for acquiring.
 */
export function readRunLock(runDir: string, opts: Pick<RunLockOptions, 'staleMs' | 'host'> = {}): RunLockInfo | null {
  return inspect(canonicalDir(runDir), { host: opts.host ?? hostname(), staleMs: opts.staleMs ?? DEFAULT_STALE_MS });
}

/**
 * Removes the run directory's lock whoever holds it (`--force-unlock`); returns what it removed,
 * or null when there was no lock. Only for a holder known to be dead that automatic recovery
 * cannot see (another host, heartbeat not yet timed out). A live holder in another process
 * notices at its next heartbeat and reports the lock lost; one in this process is marked lost now.
 */
export function forceUnlock(runDir: string, opts: Pick<RunLockOptions, 'staleMs' | 'host'> = {}): RunLockInfo | null {
  const dir = canonicalDir(runDir);
  const s = { host: opts.host ?? hostname(), staleMs: opts.staleMs ?? DEFAULT_STALE_MS };
  for (let attempt = 0; attempt < 8; attempt++) {
    const info = inspect(dir, s);
    if (!info) return null;
    const aside = join(dir, `${LOCK_DIR}.forced-${randomBytes(6).toString('hex')}`);
    if (!moveAsideIf(info.lockPath, aside, info.owner?.token ?? null)) continue;
    rmSync(aside, { recursive: true, force: true });
    const mine = registry.byDir.get(dir);
    if (mine && info.owner && mine.handle.owner.token === info.owner.token) mine.handle.markLost(`${info.lockPath} was removed by forceUnlock`);
    return info;
  }
  throw new Error(`forceUnlock: the lock ${join(dir, LOCK_DIR)} kept changing hands; try again`);
}

/** Whether this process holds the run directory's lock. */
export function holdsRunLock(runDir: string): boolean {
  const h = registry.byDir.get(canonicalDir(runDir));
  return !!h && !h.handle.released;
}
