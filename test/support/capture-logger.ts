/** A real winston logger whose lines are kept in memory, to assert what an operator would read. */
import { Writable } from 'node:stream';
import winston from 'winston';
import type { Logger } from '../../src/shared/logging/logger';

export interface CapturedLine {
  level: string;
  message: string;
  [key: string]: unknown;
}

export function captureLogger(): { logger: Logger; lines: CapturedLine[] } {
  const lines: CapturedLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as CapturedLine);
      cb();
    },
  });
  const logger = winston.createLogger({
    level: 'debug',
    format: winston.format.json(),
    transports: [new winston.transports.Stream({ stream })],
  });
  return { logger, lines };
}
