import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { maxAbsDiff } from '../../test/setup';
import { col2im3x3, conv3x3, im2col3x3, im2col3x3Into, patches3x3 } from './im2col';

const TOL = 1e-4;

test('im2col3x3: hand-checked 3x3 image, stride 1, zero padding', () => {
  // x [1, 3, 3, 1] = 1..9; the patch of the centre pixel is the whole image,
  // the patch of the top-left pixel has zeros above and to the left.
  const x = Float32Array.from({ length: 9 }, (_, i) => i + 1);
  const p = im2col3x3(x, 1, 3, 3, 1, 1);
  assert.is(p.length, 9 * 9);
  assert.equal(Array.from(p.subarray(4 * 9, 5 * 9)), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(Array.from(p.subarray(0, 9)), [0, 0, 0, 0, 1, 2, 0, 4, 5]);
});

test('patches3x3 on the wasm heap (add-on or JS loop) equals the host im2col bit for bit; a garbage-filled output buffer is overwritten', () => {
  for (const [B, H, W, C, s] of [[2, 5, 4, 3, 1], [2, 6, 6, 1, 2], [1, 7, 5, 32, 2], [3, 8, 8, 17, 1]] as const) {
    const x = Float32Array.from({ length: B * H * W * C }, (_, i) => Math.sin(i * 0.37) + 2);
    const host = im2col3x3(x, B, H, W, C, s);
    tf.tidy(() => {
      // leave non-zero garbage where the next output buffer may be allocated
      tf.fill([host.length + 64], 7).dataSync();
      const p = patches3x3(tf.tensor4d(x, [B, H, W, C]), s).dataSync();
      assert.is(p.length, host.length);
      assert.ok(p.every((v, i) => Object.is(v, host[i])), `[${B}, ${H}, ${W}, ${C}] stride ${s}`);
    });
    const into = new Float32Array(host.length).fill(NaN);
    im2col3x3Into(x, into, B, H, W, C, s);
    assert.ok(into.every((v, i) => Object.is(v, host[i])), 'im2col3x3Into writes zeros too');
  }
});

test('col2im3x3 is the adjoint of im2col3x3: <im2col(x), p> = <x, col2im(p)>', () => {
  const B = 2, H = 5, W = 4, C = 3;
  for (const s of [1, 2]) {
    const x = Float32Array.from({ length: B * H * W * C }, (_, i) => Math.sin(i * 0.7));
    const px = im2col3x3(x, B, H, W, C, s);
    const p = Float32Array.from({ length: px.length }, (_, i) => Math.cos(i * 0.3));
    const back = col2im3x3(p, B, H, W, C, s);
    let a = 0, b = 0;
    for (let i = 0; i < px.length; i++) a += px[i]! * p[i]!;
    for (let i = 0; i < x.length; i++) b += x[i]! * back[i]!;
    assert.ok(Math.abs(a - b) < 1e-3 * Math.max(1, Math.abs(a)), `stride ${s}: ${a} vs ${b}`);
  }
});

test('conv3x3 matches tf.conv2d (stride 1 any size; stride 2 on odd sizes), shape first', () => {
  const cases: Array<[number, number, number]> = [[6, 1, 1], [7, 2, 3], [8, 1, 2]];
  for (const [H, s, C] of cases) {
    tf.tidy(() => {
      const x = tf.randomNormal([2, H, H, C], 0, 1, 'float32', 1) as tf.Tensor4D;
      const w = tf.randomNormal([9 * C, 5], 0, 1, 'float32', 2);
      const b = tf.randomNormal([5], 0, 1, 'float32', 3);
      const y = conv3x3(x, w, b, s);
      const ref = tf.add(tf.conv2d(x, w.reshape([3, 3, C, 5]) as tf.Tensor4D, s, 'same'), b);
      assert.equal(y.shape, [2, Math.ceil(H / s), Math.ceil(H / s), 5]);
      if (s === 1 || H % 2 === 1) {
        assert.equal(y.shape, ref.shape);
        assert.ok(maxAbsDiff(y.dataSync(), ref.dataSync()) < TOL, `H ${H} s ${s} C ${C}`);
      }
    });
  }
});

test('conv3x3 gradients: input gradient equals tf.conv2d input gradient; filter gradient equals finite differences', () => {
  tf.tidy(() => {
    const x = tf.randomNormal([2, 5, 5, 2], 0, 1, 'float32', 4) as tf.Tensor4D;
    const w = tf.randomNormal([18, 3], 0, 1, 'float32', 5);
    const b = tf.zeros([3]);
    const loss = (xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.square(conv3x3(xx as tf.Tensor4D, ww, b, 1)));
    const [gx, gw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => loss(xx, ww))([x, w]);
    const gxRef = tf.grad((xx: tf.Tensor) => tf.sum(tf.square(tf.conv2d(xx as tf.Tensor4D, w.reshape([3, 3, 2, 3]) as tf.Tensor4D, 1, 'same'))))(x);
    assert.equal(gx!.shape, x.shape);
    assert.ok(maxAbsDiff(gx!.dataSync(), gxRef.dataSync()) < 1e-3, 'input gradient');
    // Central differences on a few filter entries (float32: relative tolerance 1e-2).
    const wv = w.dataSync() as Float32Array;
    const gwv = gw!.dataSync();
    for (const i of [0, 7, 20, 53]) {
      const h = 1e-2;
      const plus = Float32Array.from(wv); plus[i] += h;
      const minus = Float32Array.from(wv); minus[i] -= h;
      const fd = (loss(x, tf.tensor2d(plus, [18, 3])).dataSync()[0]! - loss(x, tf.tensor2d(minus, [18, 3])).dataSync()[0]!) / (2 * h);
      assert.ok(Math.abs(fd - gwv[i]!) < 1e-2 * Math.max(1, Math.abs(fd)), `dL/dw[${i}]: ${gwv[i]} vs finite difference ${fd}`);
    }
  });
});

test('conv3x3 trains on wasm: a few SGD steps lower the loss, no tensors leak', () => {
  const x = tf.randomNormal([4, 8, 8, 1], 0, 1, 'float32', 6) as tf.Tensor4D;
  const target = tf.randomNormal([4, 4, 4, 2], 0, 1, 'float32', 7);
  const w = tf.variable(tf.randomNormal([9, 2], 0, 0.3, 'float32', 8));
  const b = tf.variable(tf.zeros([2]));
  const opt = tf.train.sgd(0.02);
  const losses: number[] = [];
  let before = 0;
  for (let i = 0; i < 5; i++) {
    if (i === 1) before = tf.memory().numTensors;
    const l = opt.minimize(() => tf.mean(tf.square(tf.sub(conv3x3(x, w, b, 2), target))) as tf.Scalar, true)!;
    losses.push(l.dataSync()[0]!);
    l.dispose();
  }
  assert.is(tf.memory().numTensors, before, 'tensor count flat across steps');
  assert.ok(losses[4]! < losses[0]!, `loss ${losses.join(' -> ')}`);
  tf.dispose([x, target, w, b]);
  opt.dispose();
});

test('throws on a bad weight shape or stride', () => {
  const x = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
  assert.throws(() => conv3x3(x, tf.zeros([9, 3]), tf.zeros([3]), 1), /conv3x3 weight for 2 input channels: expected shape \[18, \*\], got \[9, 3\]/);
  assert.throws(() => patches3x3(x, 3), /stride must be 1 or 2, got 3/);
  x.dispose();
});

test.run();
