/**
 * `JSON.stringify(value)` for an error message, which never throws: the recursive stringify overflows
 * the stack on a value nested some thousands deep, which JSON.parse reads fine. Such a value is
 * described instead. `undefined` gives `undefined`, as in a template string.
 */
export function jsonText(value: unknown): string {
  try {
    return String(JSON.stringify(value));
  } catch {
    return Array.isArray(value) ? 'an array nested too deep to show' : 'an object nested too deep to show';
  }
}
