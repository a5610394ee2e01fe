/** A real logger (createLogger, redaction included) whose entries are kept in memory, to assert what an operator would read. */
import { createLogger, type Logger } from '../../src/shared/logging/logger';

export interface CapturedLine {
  level: string;
  message: string;
  [key: string]: unknown;
}

export function captureLogger(): { logger: Logger; lines: CapturedLine[] } {
  const lines: CapturedLine[] = [];
  const logger = createLogger({
    service: 'test',
    level: 'debug',
    console: false,
    // as the file has them: the JSON line read back
    sinks: [{ write: (entry) => lines.push(JSON.parse(JSON.stringify(entry)) as CapturedLine) }],
  });
  return { logger, lines };
}
