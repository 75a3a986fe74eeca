import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fmtMeanStd } from './aggregate';

test('mean ± std: std to 2 significant digits, the mean to the same decimal place', () => {
  assert.is(fmtMeanStd(159.43, 0.7683), '159.43 ± 0.77');
  assert.is(fmtMeanStd(0.305, 0.007071), '0.3050 ± 0.0071');
  assert.is(fmtMeanStd(855.5, 63.57), '856 ± 64');
  assert.is(fmtMeanStd(12.31, 0.4089), '12.31 ± 0.41');
  assert.is(fmtMeanStd(0.096, 0), '0.096 ± 0');
  assert.is(fmtMeanStd(2.5e-4, 1e-5), '2.50e-4 ± 1.0e-5');
});

test.run();
