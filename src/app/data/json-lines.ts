/**
 * Line numbers for JSON input. `JSON.parse` gives values without positions; these helpers find the
 * line of a value by its path (`['scores', 12]`) by scanning the text, so that errors in JSON files
 * can name a line like errors in CSV files do. Only used on the error path, so it favours simplicity.
 */
import { CollabperfError } from '../../errors.js';

/** A path into a JSON document: object keys and array indices. */
export type JsonPath = ReadonlyArray<string | number>;

// Shared with the model-file reader below the data layer; re-exported for the data readers.
export { jsonText } from '../../util/json-text.js';

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
    const offset = m ? Number(m[1]) : jsonErrorOffset(t);
    const line = offset !== undefined ? lineOfOffset(t, offset) : undefined;
    throw new CollabperfError('E_PARSE', `invalid JSON: ${msg}`, { file, line }, { cause: e });
  }
}

/**
 * Offset of the first syntax error in `text` (where a strict JSON reader gets stuck), or `undefined`
 * when the text is valid JSON. Used because engine messages do not always give a position.
 */
export function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const n = text.length;
  const fail = (): never => {
    throw i;
  };
  const ws = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const str = () => {
    i++; // opening quote
    while (i < n && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail();
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) fail();
      }
      i++;
    }
    if (i >= n) fail();
    i++;
  };
  // Iterative with an explicit stack of open containers: documents nested 50k deep must give a
  // position, not a RangeError from the call stack.
  const stack: string[] = [];
  const scalar = (): void => {
    if (text[i] === '"') return str();
    const m = /^(-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
    if (!m) fail();
    i += m![0].length;
  };
  const key = (): void => {
    ws();
    if (text[i] !== '"') fail();
    str();
    ws();
    if (text[i] !== ':') fail();
    i++;
  };
  const value = (): void => {
    for (;;) {
      // at the start of a value
      ws();
      const c = text[i];
      if (c === '{' || c === '[') {
        i++;
        ws();
        if (text[i] === (c === '{' ? '}' : ']')) i++;
        else {
          stack.push(c === '{' ? '}' : ']');
          if (c === '{') key();
          continue;
        }
      } else scalar();
      // after a value: close containers or move on to the next member
      for (;;) {
        if (stack.length === 0) return;
        ws();
        const close = stack[stack.length - 1];
        if (text[i] === ',') {
          i++;
          if (close === '}') key();
          break;
        }
        if (text[i] === close) {
          i++;
          stack.pop();
          continue;
        }
        fail();
      }
    }
  };
  try {
    value();
    ws();
    if (i < n) fail();
    return undefined;
  } catch (pos) {
    if (typeof pos === 'number') return Math.min(pos, n);
    throw pos;
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
