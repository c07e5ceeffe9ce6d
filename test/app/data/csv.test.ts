import { describe, expect, it } from 'vitest';
import { detectDelimiter, parseCsv, stripBom } from '../../../src/app/data/csv.js';
import { expectError } from './helpers.js';

describe('parseCsv', () => {
  it('reads quotes, escaped quotes, delimiters and line breaks inside quotes, CRLF and BOM', () => {
    const t = parseCsv('\ufeffa,"b, c","say ""hi"""\r\n1,"two\r\nlines",3\r\n');
    expect(t.delimiter).toBe(',');
    expect(t.records).toEqual([
      { line: 1, fields: ['a', 'b, c', 'say "hi"'] },
      { line: 2, fields: ['1', 'two\nlines', '3'] },
    ]);
  });

  it('counts lines across quoted line breaks, skips blank lines, handles lone CR and no final newline', () => {
    const t = parseCsv('h1,h2\n\n"x\ny",1\rz,2');
    expect(t.records.map((r) => r.line)).toEqual([1, 3, 5]);
    expect(t.records[2].fields).toEqual(['z', '2']);
  });

  it('keeps empty fields and empty quoted fields', () => {
    expect(parseCsv('a,,""\n').records[0].fields).toEqual(['a', '', '']);
    expect(parseCsv('"",x\n').records[0].fields).toEqual(['', 'x']);
  });

  it('detects tab, comma and semicolon from the header line', () => {
    expect(detectDelimiter('a\tb\tc\n1,2\t3')).toBe('\t');
    expect(detectDelimiter('a;b;c\n')).toBe(';');
    expect(detectDelimiter('"x;y",b,c\n')).toBe(',');
    expect(detectDelimiter('single\n')).toBe(',');
    expect(parseCsv('a;b\n1;2\n').records[1].fields).toEqual(['1', '2']);
    expect(parseCsv('a;b\n1;2\n', { delimiter: ',' }).records[1].fields).toEqual(['1;2']);
  });

  it('reports an unterminated quote at the line where it opened', () => {
    expectError(() => parseCsv('a,b\n1,"oops\n2,3\n', { file: 'f.csv' }), 'E_PARSE', { line: 2, field: 'column 2', file: 'f.csv' });
  });

  it('reports text after a closing quote', () => {
    expectError(() => parseCsv('a,b\n"x"y,1\n'), 'E_PARSE', { line: 2, field: 'column 1' });
  });

  it('stripBom removes only a leading BOM', () => {
    expect(stripBom('\ufeffab')).toBe('ab');
    expect(stripBom('ab')).toBe('ab');
  });
});
