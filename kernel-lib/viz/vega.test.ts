import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { showVegaLite, svgToPng, vegaLiteToSvg, writeFigure, type VegaLiteSpec } from './vega';
import { captureDisplays } from './display';
import { pngSize, svgSize } from './chart';

const spec: VegaLiteSpec = {
  width: 200,
  height: 100,
  data: { values: [{ a: 'x', b: 1 }, { a: 'y', b: 3 }] },
  mark: 'bar',
  encoding: { x: { field: 'a', type: 'nominal' }, y: { field: 'b', type: 'quantitative' } },
};

test('vegaLiteToSvg renders an SVG document with the chart text', async () => {
  const svg = await vegaLiteToSvg(spec);
  assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /DejaVu Sans/);
  assert.ok(svg.includes('>b</text>'), 'the y axis title');
});

test('svgToPng rasterises at the requested scale', async () => {
  const png = svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="30" height="20"><rect width="30" height="20" fill="#f00"/></svg>', 2);
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.equal([info.width, info.height], [60, 40]);
  assert.equal([...data.subarray(0, 3)], [255, 0, 0]);
});

test('writeFigure writes a valid .svg and .png (creating the folder) and leaves no temp files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'viz-'));
  try {
    const base = join(dir, 'figures', 'e0-bars');
    const { svgPath, pngPath } = await writeFigure(spec, base);
    assert.is(svgPath, `${base}.svg`);
    assert.is(pngPath, `${base}.png`);
    assert.match(readFileSync(svgPath, 'utf8'), /^<svg/);
    const meta = await sharp(readFileSync(pngPath)).metadata();
    assert.is(meta.format, 'png');
    assert.ok(meta.width! > 400 && meta.height! > 200, `${meta.width}x${meta.height} (2x the chart)`);
    assert.equal(readdirSync(join(dir, 'figures')).sort(), ['e0-bars.png', 'e0-bars.svg']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('showVegaLite is a no-op outside tslab', async () => {
  assert.is(await showVegaLite(spec), undefined);
});

test('showVegaLite in a kernel: one bundle; the 2x PNG is shown at the SVG size (also with as: png)', async () => {
  const msgs = await captureDisplays(async () => {
    await showVegaLite({ ...spec, title: 'bars' });
    await showVegaLite(spec, { as: 'png' });
  });
  assert.is(msgs.length, 2);
  for (const m of msgs) {
    assert.equal(Object.keys(m.data).sort(), ['image/png', 'image/svg+xml', 'text/html', 'text/plain']);
    const { width, height } = svgSize(m.data['image/svg+xml'] as string);
    const px = pngSize(Buffer.from(m.data['image/png'] as string, 'base64'));
    assert.equal([px.width, px.height], [2 * width, 2 * height]);
    assert.equal(m.metadata, { 'image/png': { width, height } });
    assert.ok((m.data['text/html'] as string).includes(`width="${width}" height="${height}"`));
  }
  assert.is(msgs[0]!.data['text/plain'], '<chart: bars>');
});

test.run();
