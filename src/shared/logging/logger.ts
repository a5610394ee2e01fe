/**
 * The one logger factory. Console lines are short and readable in `pm2 logs`; a JSON file per service in the
 * log dir keeps everything, rotated by size. Every line passes through the redactor, so a secret that reaches
 * a message, a meta field, an error or a URL is masked before it is written anywhere.
 */
import path from 'node:path';
import winston from 'winston';
import { Redactor } from './redact';

export type Logger = winston.Logger;

export interface LoggerOptions {
  /** Service name: `trading`, `telegram`, `cli`… names the JSON file `<service>.log`. */
  service: string;
  /** Directory of the JSON log file; omit for console only. */
  logDir?: string;
  level?: string;
  /** Secret values to mask wherever they appear. */
  redactor?: Redactor;
  fileMaxBytes?: number;
  fileMaxFiles?: number;
  /** Console output (default true). PM2 captures it into its out/err files. */
  console?: boolean;
}

function redactFormat(redactor?: Redactor): winston.Logform.Format {
  return winston.format((info) => (redactor ? redactor.redactInfo(info) : info))();
}

const consoleLine = winston.format.printf((info) => {
  const { level, message, timestamp, module: mod, service: _service, stack, ...meta } = info as Record<string, unknown>;
  const metaKeys = Object.keys(meta).filter((k) => typeof k === 'string');
  const metaText = metaKeys.length ? ' ' + JSON.stringify(Object.fromEntries(metaKeys.map((k) => [k, meta[k]]))) : '';
  const where = mod ? ` [${String(mod)}]` : '';
  const trace = stack && String(level).includes('error') ? `\n${String(stack)}` : '';
  return `${String(timestamp)} ${String(level)}${where} ${String(message)}${metaText}${trace}`;
});

export function createLogger(options: LoggerOptions): Logger {
  const redact = redactFormat(options.redactor);
  const transports: winston.transport[] = [];
  if (options.console !== false) {
    transports.push(
      new winston.transports.Console({
        // errors and warnings go to stderr so `pm2 logs --err` shows just the problems.
        stderrLevels: ['error', 'warn'],
        format: winston.format.combine(winston.format.timestamp(), redact, consoleLine),
      }),
    );
  }
  if (options.logDir) {
    transports.push(
      new winston.transports.File({
        filename: path.join(options.logDir, `${options.service}.log`),
        maxsize: options.fileMaxBytes ?? 10 * 1024 * 1024,
        maxFiles: options.fileMaxFiles ?? 5,
        tailable: true,
        format: winston.format.combine(winston.format.timestamp(), redact, winston.format.json()),
      }),
    );
  }
  return winston.createLogger({
    level: options.level ?? 'info',
    defaultMeta: { service: options.service },
    format: winston.format.errors({ stack: true }),
    transports,
  });
}

/** A logger that writes nothing, for unit tests. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
