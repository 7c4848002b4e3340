// Writing other tools' config files so that they can be taken back: each write
// keeps a record (the file's content before, a hash of what was written) in the
// extension's storage. Undo puts back what was there, but only in files still as
// they were written (a file the user changed since is theirs, and is left alone);
// following a new port or token rewrites only such files too. Plain Node.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** One file to write: what it holds now (undefined: missing) and what it will hold. */
export interface FileChange {
  file: string;
  before: string | undefined;
  after: string;
  /** Mode for a file that holds a secret (applied on every write). */
  mode?: number;
}

/** What one write of one assistant's files left behind, for undo and follow. */
export interface EditRecord {
  at: number;
  files: { file: string; original: string | null; writtenHash: string }[];
}

export function hashText(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

function writeAtomic(file: string, text: string, mode?: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.argo-proxy-${process.pid}.tmp`;
  // an existing file keeps its mode, unless it must be private
  const keep = mode ?? (fs.existsSync(file) ? fs.statSync(file).mode & 0o777 : 0o644);
  fs.writeFileSync(tmp, text, { mode: keep });
  fs.chmodSync(tmp, keep);
  fs.renameSync(tmp, file);
}

function readRecord(recordFile: string): EditRecord | undefined {
  const text = readText(recordFile);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as EditRecord;
  } catch {
    return undefined;
  }
}

/** Only the changes that change something. */
export function effective(changes: FileChange[]): FileChange[] {
  return changes.filter((c) => c.before !== c.after);
}

/**
 * Writes the changes and records them in `recordFile` (mode 0600: it may hold the
 * old content of a file with a secret). A file written before keeps its first
 * original, so that undo goes back to before the extension ever touched it.
 */
export function applyChanges(changes: FileChange[], recordFile: string): EditRecord {
  const previous = readRecord(recordFile);
  const files = new Map((previous?.files ?? []).map((f) => [f.file, f]));
  for (const change of effective(changes)) {
    writeAtomic(change.file, change.after, change.mode);
    const original = files.get(change.file)?.original ?? change.before ?? null;
    files.set(change.file, { file: change.file, original, writtenHash: hashText(change.after) });
  }
  const record: EditRecord = { at: Date.now(), files: [...files.values()] };
  writeAtomic(recordFile, JSON.stringify(record, null, 2), 0o600);
  return record;
}

export function hasRecord(recordFile: string): boolean {
  return readRecord(recordFile) !== undefined;
}

/** Whether a recorded file still holds what was written into it. */
export function stillWritten(record: EditRecord, file: string): boolean {
  const entry = record.files.find((f) => f.file === file);
  const now = readText(file);
  return entry !== undefined && now !== undefined && hashText(now) === entry.writtenHash;
}

export interface UndoResult {
  restored: string[];
  /** Files changed since they were written: left as they are. */
  kept: string[];
}

/** Puts back each recorded file that still holds what was written; removes the record. */
export function undoChanges(recordFile: string): UndoResult {
  const record = readRecord(recordFile);
  const result: UndoResult = { restored: [], kept: [] };
  if (!record) return result;
  for (const entry of record.files) {
    if (!stillWritten(record, entry.file)) {
      result.kept.push(entry.file);
      continue;
    }
    if (entry.original === null) fs.rmSync(entry.file, { force: true });
    else writeAtomic(entry.file, entry.original);
    result.restored.push(entry.file);
  }
  fs.rmSync(recordFile, { force: true });
  return result;
}

/**
 * The changes for a new port or token, limited to files that still hold what was
 * written (the rest are the user's now). Writes them and updates the record.
 * Returns the files it rewrote.
 */
export function followChanges(changes: FileChange[], recordFile: string): string[] {
  const record = readRecord(recordFile);
  if (!record) return [];
  const owned = effective(changes).filter((c) => stillWritten(record, c.file));
  if (!owned.length) return [];
  applyChanges(owned, recordFile);
  return owned.map((c) => c.file);
}

/** A short account of a change for a dialog: the lines removed and added (`mask` hides secrets). */
export function describeChange(change: FileChange, mask: (line: string) => string = (l) => l): string {
  const before = (change.before ?? "").split(/\r?\n/);
  const after = change.after.split(/\r?\n/);
  const beforeSet = new Set(before);
  const afterSet = new Set(after);
  const removed = before.filter((l) => l.trim() && !afterSet.has(l)).map((l) => `- ${mask(l)}`);
  const added = after.filter((l) => l.trim() && !beforeSet.has(l)).map((l) => `+ ${mask(l)}`);
  const head = change.before === undefined ? `${change.file} (new file)` : change.file;
  const lines = [...removed, ...added];
  const shown = lines.length > 24 ? [...lines.slice(0, 24), `… and ${lines.length - 24} more lines`] : lines;
  return [head, ...shown].join("\n");
}
