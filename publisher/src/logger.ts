import { pino } from 'pino';

export type Logger = pino.Logger;

/** The collector's pino logger (JSON lines). Never log event bodies or write keys. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'sluice-collector' },
    redact: { paths: ['req.headers.authorization', 'headers.authorization'], remove: true },
  });
}
