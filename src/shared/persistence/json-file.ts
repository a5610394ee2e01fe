/**
 * The one reader of a JSON file that may be missing or damaged. Each caller decides what a missing, unreadable
 * or corrupt file means for it (start empty, fail safe, quarantine, refuse); none of them half-trusts a file:
 * `valid` only when the text parsed AND `parse` (the file's full schema) accepted it.
 */
import fs, { promises as fsp } from 'node:fs';
import { errorMessage } from '../errors';

export type JsonFileRead<T> =
  | { kind: 'missing' }
  /** The file exists but could not be read (permissions, EIO, a directory…). */
  | { kind: 'unreadable'; error: NodeJS.ErrnoException }
  /** Larger than `maxBytes`, not JSON, or refused by `parse`; `reason` says which. */
  | { kind: 'corrupt'; reason: string }
  | { kind: 'valid'; value: T };

export interface JsonFileOptions<T> {
  /** Validates the parsed value and returns it typed; throws (a zod error, say) when it does not match. */
  parse: (value: unknown) => T;
  /** Files larger than this are corrupt without being read (records of a known small size); default no limit. */
  maxBytes?: number;
}

export async function readJsonFile<T>(file: string, options: JsonFileOptions<T>): Promise<JsonFileRead<T>> {
  let text: string;
  try {
    if (options.maxBytes !== undefined && (await fsp.stat(file)).size > options.maxBytes) {
      return tooLarge(options.maxBytes);
    }
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    return readFailure(err);
  }
  return interpretJson(text, options.parse);
}

/** For paths that must not wait for the event loop (boot, crash handler, the status report). */
export function readJsonFileSync<T>(file: string, options: JsonFileOptions<T>): JsonFileRead<T> {
  let text: string;
  try {
    if (options.maxBytes !== undefined && fs.statSync(file).size > options.maxBytes) {
      return tooLarge(options.maxBytes);
    }
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return readFailure(err);
  }
  return interpretJson(text, options.parse);
}

/** The file's text as JSON checked by `parse`; exported for text that did not come from a file of its own. */
export function interpretJson<T>(
  text: string,
  parse: (value: unknown) => T,
): Extract<JsonFileRead<T>, { kind: 'corrupt' | 'valid' }> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { kind: 'corrupt', reason: `not valid JSON: ${errorMessage(err)}` };
  }
  try {
    return { kind: 'valid', value: parse(value) };
  } catch (err) {
    return { kind: 'corrupt', reason: errorMessage(err) };
  }
}

function readFailure(err: unknown): JsonFileRead<never> {
  const error = err as NodeJS.ErrnoException;
  return error.code === 'ENOENT' ? { kind: 'missing' } : { kind: 'unreadable', error };
}

function tooLarge(maxBytes: number): JsonFileRead<never> {
  return { kind: 'corrupt', reason: `larger than ${maxBytes} bytes` };
}
