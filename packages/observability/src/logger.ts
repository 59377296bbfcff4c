import { Writable } from 'node:stream';
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface LoggerConfig {
  /** Bound to every line as `service`, so one log pipeline can hold every service. */
  service: string;
  /** @defaultValue 'info' */
  level?: LogLevel;
  /** Human-readable lines instead of JSON; for a developer's terminal only. @defaultValue false */
  pretty?: boolean;
  /** Where lines go. @defaultValue standard output */
  destination?: DestinationStream;
}

const CENSOR = '[Redacted]';

/**
 * Keys whose values are secrets wherever they appear (top level or one level
 * down, which covers `req.headers`, `config` and error objects).
 */
const SECRET_KEYS = [
  'authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'password',
  'token',
  'accessToken',
  'refreshToken',
  'apiKey',
  'secret',
];
/** Keys holding connection strings: kept, but with the password masked, since host and database help debugging. */
const URL_KEYS = ['url', 'databaseUrl', 'redisUrl', 'connectionString'];

const REDACT_PATHS = [...SECRET_KEYS, ...URL_KEYS].flatMap((key) => {
  const k = /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`;
  const member = k.startsWith('[') ? k : `.${k}`;
  return [k, `*${member}`, `req.headers${member}`, `headers${member}`];
});

/** `scheme://user:secret@host` → `scheme://user:[Redacted]@host`. */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)[^@/?#\s]*@/gi;

export function maskUrlPassword(text: string): string {
  return text.replace(URL_PASSWORD, `$1${CENSOR}@`);
}

function censor(value: unknown, path: string[]): unknown {
  const key = path[path.length - 1];
  if (key !== undefined && URL_KEYS.includes(key) && typeof value === 'string') {
    return maskUrlPassword(value);
  }
  return CENSOR;
}

/**
 * A pino logger with the service bound, secrets redacted and JSON lines on
 * standard output. Redaction covers known secret keys and passwords inside
 * URLs, including URLs in the message text (a connection error that quotes
 * its connection string).
 */
export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: config.level ?? 'info',
    base: { service: config.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor },
    hooks: {
      logMethod(args, method) {
        const masked = args.map((arg) => (typeof arg === 'string' ? maskUrlPassword(arg) : arg));
        return method.apply(this, masked as Parameters<typeof method>);
      },
    },
  };
  const destination = config.destination ?? (config.pretty ? prettyStream() : pino.destination(1));
  return pino(options, destination);
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/**
 * One readable line per record: `12:00:00.123 INFO  [write-api] msg {rest}`.
 * Twenty lines here instead of pino-pretty and its dependencies, and no
 * worker thread; it is only ever used in a developer's terminal.
 */
export function prettyStream(out: NodeJS.WritableStream = process.stdout): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.length === 0) continue;
        try {
          const {
            level,
            time,
            service,
            msg,
            pid: _pid,
            hostname: _host,
            ...rest
          } = JSON.parse(line);
          const clock = typeof time === 'string' ? time.slice(11, 23) : '';
          const name = (LEVEL_NAMES[level as number] ?? String(level)).padEnd(5);
          const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
          out.write(`${clock} ${name} [${service}] ${msg ?? ''}${extra}\n`);
        } catch {
          out.write(`${line}\n`);
        }
      }
      callback();
    },
  });
}
