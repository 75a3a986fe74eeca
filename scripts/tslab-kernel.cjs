#!/usr/bin/env node
// Starts the tslab kernel (what node_modules/.bin/tslab does) with two fixes, for the kernelspec
// that scripts/install-kernel.mjs writes.
//
// tslab (1.0.22) compiles cells with a TypeScript watch program whose timers it replaces by
// one slot: a second pending timer throws "Unexpected pending rebuildTimer", and the kernel
// then fails every later cell. TypeScript's *directory* watchers (node_modules, and each
// folder a local import lives in: kernel-lib/, data-loaders/, recursively) schedule such a
// second timer on any change in those trees: editing, creating or deleting any file under
// kernel-lib/ while a notebook runs broke the next cell. Changes to the files a notebook
// imports are seen by TypeScript's *file* watchers, which are kept; only the directory
// watchers are turned off (a module created after an import of it failed needs a kernel restart).
//
// And a second fix: zeromq.js (6.x) sends at most 512 messages on a socket synchronously; the
// 513th is deferred to the next turn of the event loop, and any send before that turn throws
// "Socket is busy writing". A cell that never yields to the event loop (a training loop: its
// awaits resolve as microtasks) and updates a display at every step reached that after ~500
// updates, and the exception killed the kernel. With `sendTimeout = 0` every send is made at
// once (ZMQ_DONTWAIT; Jupyter's sockets are PUB and ROUTER, which drop rather than block).
// A PUB socket drops once its queue holds its high-water mark (1,000 messages by default): a
// burst of 1,500 display updates then lost the messages that followed it (the cell's next
// stdout line went missing in about one run of four). The IOPub socket is created with no
// high-water mark (ZMQ_SNDHWM 0), so it queues instead of dropping; the option must be set
// before the socket binds, hence in the constructor.
//
// And a third (scripts/tslab-fast-library.cjs): the library is neither type-checked nor
// recompiled in every kernel, so that importing ./kernel-lib/index costs a notebook little.
'use strict';
const { dirname } = require('node:path');

const tslabDir = dirname(require.resolve('tslab/package.json'));
const ts = require(require.resolve('@tslab/typescript-for-tslab', { paths: [tslabDir] }));
ts.sys.watchDirectory = () => ({ close() {} });

const zmq = require(require.resolve('zeromq', { paths: [tslabDir] }));
const Publisher = zmq.Publisher;
zmq.Publisher = class extends Publisher {
  constructor(options) {
    super({ sendHighWaterMark: 0, ...options });
  }
};

const { ZmqServer } = require(require.resolve('tslab/dist/jupyter.js'));
const init = ZmqServer.prototype.init;
ZmqServer.prototype.init = async function (...args) {
  const result = await init.apply(this, args); // creates and binds the sockets
  for (const s of [this.iopub, this.shell, this.control, this.stdin]) s.sendTimeout = 0;
  return result;
};
require('./tslab-fast-library.cjs').install(module);

require(require.resolve('tslab/dist/main.js')).main();
