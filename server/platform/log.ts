// Structured JSON logs (pino): one line per event, machine-readable, secrets never logged.
import { pino } from 'pino';

export const log = pino({
  level: process.env.LOG_LEVEL ?? 'info',
  base: { service: 'onemap' },
  redact: ['req.headers.authorization', 'req.headers.cookie', 'connection.password'],
});
export type Logger = typeof log;
