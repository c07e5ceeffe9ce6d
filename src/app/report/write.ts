/**
 * Writing a report to disk.
 */
import { writeFileAtomic } from '../../util/atomic-write.js';

/**
 * Writes report HTML to `path` atomically (a temporary file in the same folder, flushed, then
 * renamed), so that a browser or a CI artifact upload never sees half a report. Errors are
 * `E_FILE`.
 */
export function writeReport(path: string, html: string): void {
  writeFileAtomic(path, (append) => append(html));
}
