import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { captureDisplays, display, displayBundle, findTslab, inTslab, newDisplayHandle, showHtml, showMarkdown, showPng, showSvg } from './display';
import type { RequireLike } from '../util/load-module';

/** Captures what is written to stdout and stderr while `fn` runs. */
function captureOutput(fn: () => void): string {
  let out = '';
  const write = (chunk: unknown) => ((out += String(chunk)), true);
  const [o, e] = [process.stdout.write, process.stderr.write];
  process.stdout.write = write as typeof process.stdout.write;
  process.stderr.write = write as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
  return out;
}

test('outside tslab every display function is a silent no-op', () => {
  assert.is(inTslab(), false);
  const out = captureOutput(() => {
    showHtml('<b>x</b>');
    showPng(new Uint8Array([1, 2, 3]));
    showSvg('<svg/>');
    showMarkdown('# x');
    display({ mime: 'text/plain', data: 'x' });
    const h = newDisplayHandle();
    assert.is(h.live, false);
    h.show({ mime: 'text/html', data: 'x' });
  });
  assert.is(out, '');
});

/** A fake require whose cache holds tslab's jupyter module with or without a display callback. */
function fakeRequire(sendFn: unknown, resolvable = true): { req: RequireLike; shown: string[] } {
  const shown: string[] = [];
  const target = { html: (s: string) => shown.push(`html:${s}`), png: () => {}, svg: () => {}, markdown: () => {}, text: () => {} };
  const tslab = { display: target, newDisplay: () => target };
  const path = '/x/node_modules/tslab/dist/jupyter.js';
  const req = Object.assign((id: string) => (id === 'tslab' ? tslab : undefined), {
    resolve: (id: string) => {
      if (!resolvable) throw new Error(`Cannot find module '${id}'`);
      return path;
    },
    cache: { [path]: { exports: { lastWriteDisplayData: sendFn } } },
  });
  return { req, shown };
}

test('findTslab: a kernel is recognised by the display callback in the require cache', () => {
  const inKernel = fakeRequire(() => {});
  const tslab = findTslab(inKernel.req);
  assert.ok(tslab);
  tslab!.display.html('hi');
  assert.equal(inKernel.shown, ['html:hi']);
  assert.is(findTslab(fakeRequire(null).req), null, 'tslab loaded but no cell running');
  assert.is(findTslab(fakeRequire(() => {}, false).req), null, 'tslab not installed');
  assert.is(findTslab(null), null, 'ES module: never a kernel');
});

test('captureDisplays: bundles as Jupyter messages (bytes as base64, JSON as is); handles update in place', async () => {
  let inside = false;
  const msgs = await captureDisplays(async () => {
    inside = inTslab();
    displayBundle({ data: { 'image/png': new Uint8Array([1, 2, 3]), 'image/svg+xml': '<svg/>', 'application/vnd.plotly.v1+json': { data: [] } }, metadata: { 'image/png': { width: 10 } } });
    showHtml('<b>x</b>');
    const h = newDisplayHandle();
    assert.is(h.live, true);
    h.show({ mime: 'text/plain', data: 'a' });
    await Promise.resolve();
    h.showBundle({ data: { 'text/plain': 'b', 'text/html': '<i>b</i>' } });
  });
  assert.is(inside, true);
  assert.is(inTslab(), false, 'only while capturing');
  assert.equal(msgs[0], {
    data: { 'image/png': 'AQID', 'image/svg+xml': '<svg/>', 'application/vnd.plotly.v1+json': { data: [] } },
    metadata: { 'image/png': { width: 10 } },
    update: false,
  });
  assert.equal(msgs[1], { data: { 'text/html': '<b>x</b>' }, metadata: {}, update: false });
  assert.equal(msgs.slice(2).map((m) => [m.update, Object.keys(m.data)]), [[false, ['text/plain']], [true, ['text/plain', 'text/html']]]);
  assert.match(msgs[2]!.transient!.display_id, /^[0-9a-f]{16}$/);
  assert.is(msgs[3]!.transient!.display_id, msgs[2]!.transient!.display_id);
});

test.run();
