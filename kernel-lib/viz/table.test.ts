import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as aq from 'arquero';
import { asTable, showTable, tableCsv, tableHtml, tableMarkdown } from './table';

const rows = [
  { variant: 'dct', fid: 12.345678, steps: 3 },
  { variant: 'a|b', fid: 0.1, steps: 10 },
];

test('tableMarkdown: header, alignment (numbers right), digits, escaped pipes', () => {
  assert.is(
    tableMarkdown(rows),
    '|variant|fid|steps|\n' + '|:-|-:|-:|\n' + '|dct|12.3457|3|\n' + '|a\\|b|0.1000|10|\n',
  );
  assert.is(tableMarkdown(rows, { maxDigits: 1, limit: 1 }), '|variant|fid|steps|\n|:-|-:|-:|\n|dct|12.3|3|\n');
});

test('tableCsv keeps full precision; tableHtml is a table; an arquero table passes through', () => {
  assert.is(tableCsv(rows), 'variant,fid,steps\ndct,12.345678,3\na|b,0.1,10\n');
  const t = aq.table({ x: [1, 2] });
  assert.is(asTable(t), t);
  assert.match(tableHtml(t), /^<table>.*<td[^>]*>2<\/td>.*<\/table>$/s);
  showTable(t); // no-op outside tslab
});

test.run();
