/**
 * The shared secret of the IPC layer. `BYNINJA_IPC_TOKEN` wins when set; otherwise every local process
 * (trading, telegram, the CLI) reads `<dataDir>/ipc.token`, which the first one to start creates: 32 random
 * bytes as hex, mode 0600.
 *
 * Creation is atomic and race-free: the token is written and fsynced to a private temp file, then hard-linked
 * to the final name, which fails if another process got there first (its token is then used). A reader never
 * sees a half-written token, and two processes starting together always agree.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, errorMessage, IpcError } from '../errors';
import type { Logger } from '../logging/logger';

export const IPC_TOKEN_FILE = 'ipc.token';
/** Shortest token accepted from the environment: anything shorter is guessable. */
const MIN_TOKEN_LENGTH = 16;
const FILE_MODE = 0o600;

export function ipcTokenPath(dataDir: string): string {
  return path.join(dataDir, IPC_TOKEN_FILE);
}

/** The token to use: the env value, else the token file (created on first start). Fixes loose file modes. */
export async function loadOrCreateIpcToken(
  dataDir: string,
  envToken?: string,
  logger?: Logger,
): Promise<string> {
  const fromEnv = checkedEnvToken(envToken);
  if (fromEnv !== undefined) return fromEnv;
  const file = ipcTokenPath(dataDir);
  const existing = await readTokenFile(file, logger);
  if (existing !== undefined) return existing;
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  return createTokenFile(file, logger);
}

/** The token without ever creating one (clients that must not invent a secret the server does not know). */
export async function readIpcToken(dataDir: string, envToken?: string, logger?: Logger): Promise<string> {
  const fromEnv = checkedEnvToken(envToken);
  if (fromEnv !== undefined) return fromEnv;
  const file = ipcTokenPath(dataDir);
  const token = await readTokenFile(file, logger);
  if (token === undefined) {
    throw new IpcError(
      `No IPC token: ${file} does not exist yet (is trading started?) and BYNINJA_IPC_TOKEN is unset`,
      {
        path: file,
      },
    );
  }
  return token;
}

function checkedEnvToken(envToken: string | undefined): string | undefined {
  if (envToken === undefined || envToken.trim() === '') return undefined;
  const token = envToken.trim();
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new ConfigError([
      {
        field: 'BYNINJA_IPC_TOKEN',
        value: '[redacted]',
        message: `too short (${token.length} characters); use at least ${MIN_TOKEN_LENGTH}, e.g. \`openssl rand -hex 32\``,
      },
    ]);
  }
  return token;
}

/** The file's token, or undefined when there is no file. An empty/garbled file is an error, never replaced. */
async function readTokenFile(file: string, logger?: Logger): Promise<string | undefined> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new IpcError(
      `Cannot read IPC token file ${file}: ${errorMessage(err)}`,
      { path: file },
      { cause: err },
    );
  }
  try {
    const stat = await handle.stat();
    if ((stat.mode & 0o077) !== 0) {
      // Others could read the secret: tighten it rather than refuse, and say so.
      await handle.chmod(FILE_MODE);
      logger?.warn('IPC token file was readable by others; permissions fixed to 0600', {
        path: file,
        mode: (stat.mode & 0o777).toString(8),
      });
    }
    const token = (await handle.readFile('utf8')).trim();
    if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
      // Replacing it would silently lock out every process that already read the old one: a person must look.
      throw new IpcError(`IPC token file ${file} is empty or malformed; delete it to create a new one`, {
        path: file,
      });
    }
    return token;
  } finally {
    await handle.close();
  }
}

async function createTokenFile(file: string, logger?: Logger): Promise<string> {
  const token = crypto.randomBytes(32).toString('hex');
  const temp = `${file}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  try {
    const handle = await fs.open(temp, 'wx', FILE_MODE);
    try {
      await handle.writeFile(token + '\n', 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await fs.link(temp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // Another process created it between our read and our link: theirs is the token.
      const theirs = await readTokenFile(file, logger);
      if (theirs === undefined) throw err;
      return theirs;
    }
    await fsyncDir(path.dirname(file));
    logger?.info('Created IPC token file', { path: file });
    return token;
  } catch (err) {
    if (err instanceof IpcError) throw err;
    throw new IpcError(
      `Cannot create IPC token file ${file}: ${errorMessage(err)}`,
      { path: file },
      { cause: err },
    );
  } finally {
    await fs.rm(temp, { force: true });
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
