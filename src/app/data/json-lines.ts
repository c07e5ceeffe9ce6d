/**
 * Line numbers for JSON input. `JSON.parse` gives values without positions; these helpers find the
 * line of a value by its path (`['scores', 12]`) by scanning the text, so that errors in JSON files
 * can name a line like errors in CSV files do. Only used on the error path, so it favours simplicity.
 */
import { CollabperfError } from '../../errors.js';

/** A path into a JSON document: object keys and array indices. */
export type JsonPath = ReadonlyArray<string | number>;

/** 1-based line of character offset `pos` in `text`. */
export function lineOfOffset(text: string, pos: number): number {
  let line = 1;
  const end = Math.min(pos, text.length);
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) line++;
    else if (c === 13 && text.charCodeAt(i + 1) !== 10) line++;
  }
  return line;
}

/**
 * Parse JSON text; on a syntax error throw `E_PARSE` with the line of the error when the engine's
 * message gives a position. A leading byte-order mark is ignored.
 */
export function parseJsonText(text: string, file?: string): unknown {
  const t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(t);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const m = /position (\d+)/.exec(msg);
    const lm = /line (\d+)/.exec(msg);
    const line = m ? lineOfOffset(t, Number(m[1])) : lm ? Number(lm[1]) : undefined;
    throw new CollabperfError('E_PARSE', `invalid JSON: ${msg}`, { file, line }, { cause: e });
  }
}

/**
 * The 1-based line where the value at `path` starts, or `undefined` if the path does not exist or the
 * text is not valid JSON.
 */
export function jsonLineOf(text: string, path: JsonPath): number | undefined {
  try {
    const s = new Scanner(text);
    s.ws();
    for (const key of path) {
      if (!s.enter(key)) return undefined;
    }
    return lineOfOffset(text, s.pos);
  } catch {
    return undefined;
  }
}

class Scanner {
  pos = 0;
  constructor(private readonly t: string) {
    if (t.charCodeAt(0) === 0xfeff) this.pos = 1;
  }

  ws(): void {
    const t = this.t;
    while (this.pos < t.length && (t[this.pos] === ' ' || t[this.pos] === '\n' || t[this.pos] === '\r' || t[this.pos] === '\t')) this.pos++;
  }

  /** Move from the start of a container value to the start of its member `key`. */
  enter(key: string | number): boolean {
    const t = this.t;
    const open = t[this.pos];
    if (typeof key === 'number') {
      if (open !== '[') return false;
      this.pos++;
      this.ws();
      if (t[this.pos] === ']') return false;
      for (let i = 0; ; i++) {
        this.ws();
        if (i === key) return true;
        this.skipValue();
        this.ws();
        if (t[this.pos] !== ',') return false;
        this.pos++;
      }
    }
    if (open !== '{') return false;
    this.pos++;
    this.ws();
    if (t[this.pos] === '}') return false;
    for (;;) {
      this.ws();
      const k = this.readString();
      this.ws();
      if (t[this.pos] !== ':') return false;
      this.pos++;
      this.ws();
      if (k === key) return true;
      this.skipValue();
      this.ws();
      if (t[this.pos] !== ',') return false;
      this.pos++;
    }
  }

  readString(): string {
    const t = this.t;
    if (t[this.pos] !== '"') throw new Error('string expected');
    const start = this.pos;
    this.pos++;
    while (this.pos < t.length && t[this.pos] !== '"') this.pos += t[this.pos] === '\\' ? 2 : 1;
    this.pos++;
    return JSON.parse(t.slice(start, this.pos)) as string;
  }

  skipValue(): void {
    const t = this.t;
    const c = t[this.pos];
    if (c === '"') {
      this.readString();
      return;
    }
    if (c === '[' || c === '{') {
      let depth = 0;
      while (this.pos < t.length) {
        const ch = t[this.pos];
        if (ch === '"') {
          this.readString();
          continue;
        }
        if (ch === '[' || ch === '{') depth++;
        else if (ch === ']' || ch === '}') {
          depth--;
          if (depth === 0) {
            this.pos++;
            return;
          }
        }
        this.pos++;
      }
      throw new Error('unterminated container');
    }
    while (this.pos < t.length && !',]} \n\r\t'.includes(t[this.pos])) this.pos++;
  }
}
