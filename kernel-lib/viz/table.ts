/**
 * Result tables with arquero: inline HTML in tslab, Markdown and CSV strings for files.
 *
 *   const t = asTable([{ variant: 'dct', fid: 12.3 }, { variant: 'sincos', fid: 14.1 }]);
 *   showTable(t);
 *   writeFileAtomic('figures/e3-results.md', tableMarkdown(t));
 *
 * Numbers in a column share one number of fractional digits: as many as the column needs, at
 * most `maxDigits` (default 4).
 */
import type * as aq from 'arquero';
import { loadArquero } from '../util/heavy-modules';
import { showHtml } from './display';

export type Table = aq.ColumnTable;
/** A table, or rows as plain objects (one key per column). */
export type TableInput = Table | ReadonlyArray<Record<string, unknown>>;

export interface TableFormatOptions {
  /** At most this many rows (default all). */
  limit?: number;
  /** Fractional digits for numbers (default 4). */
  maxDigits?: number;
}

/**
 * An arquero table from a table (returned as is) or from row objects. A table is recognised by
 * its methods, not by `instanceof`: a notebook's `import * as aq from 'arquero'` and this
 * module's lazy load can be two instances of the package.
 */
export function asTable(x: TableInput): Table {
  return isTable(x) ? x : loadArquero().from(x as Array<Record<string, unknown>>);
}

function isTable(x: TableInput): x is Table {
  const t = x as Partial<Table>;
  return !Array.isArray(x) && typeof t.numRows === 'function' && typeof t.columnNames === 'function' && typeof t.toMarkdown === 'function';
}

/** GitHub-flavoured Markdown; numeric columns right-aligned. */
export function tableMarkdown(x: TableInput, opts: TableFormatOptions = {}): string {
  return asTable(x).toMarkdown({ limit: opts.limit, maxdigits: opts.maxDigits ?? 4 });
}

/** CSV with a header row; numbers at full precision (for machines, not for reading). */
export function tableCsv(x: TableInput): string {
  return asTable(x).toCSV();
}

/** An HTML <table>. */
export function tableHtml(x: TableInput, opts: TableFormatOptions = {}): string {
  return asTable(x).toHTML({ limit: opts.limit, maxdigits: opts.maxDigits ?? 4 });
}

/** Shows the table under the cell (default at most 50 rows); does nothing outside tslab. */
export function showTable(x: TableInput, opts: TableFormatOptions = {}): void {
  const t = asTable(x);
  const limit = opts.limit ?? 50;
  const more = t.numRows() > limit ? `<p><i>${limit} of ${t.numRows()} rows</i></p>` : '';
  showHtml(tableHtml(t, { ...opts, limit }) + more);
}
