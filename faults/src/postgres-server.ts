import { createWriteStream, type WriteStream } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PostgresHandle, startPostgres } from '@refract/dev-stack';
import { createLogger } from '@refract/observability';
import { stablePort } from '@refract/testing';

/**
 * The suite's own Postgres: the dev stack's embedded cluster in a temporary
 * directory, on a port of its own, so that the fault injector can stop and
 * start it without touching the Postgres other tests share.
 */
export class PostgresServer {
  private handle: PostgresHandle | undefined;
  private port = 0;
  private root = '';

  /** The server's admin database, for createTestDatabase. */
  get url(): string {
    if (!this.handle) throw new Error('Postgres is not running');
    return this.handle.url;
  }

  async start(logFile: string): Promise<void> {
    this.root = await mkdtemp(join(tmpdir(), 'refract-faults-pg-'));
    // As root the cluster runs as user postgres, which must enter the directory.
    await chmod(this.root, 0o755);
    this.port = await stablePort();
    this.log = createWriteStream(logFile, { flags: 'a' });
    await this.boot();
  }

  private log: WriteStream | undefined;

  private async boot(): Promise<void> {
    this.handle = await startPostgres({
      url: undefined,
      dataDir: join(this.root, 'data'),
      port: { port: this.port, strict: true },
      runAsRoot: process.getuid?.() === 0,
      readyTimeoutMs: 60_000,
      logger: createLogger({ service: 'postgres', level: 'debug', destination: this.log }),
    });
  }

  /**
   * Stops the server (a fast shutdown, or an immediate one: crash recovery
   * at the next start), waits `downtimeMs`, starts it again on the same port
   * with the same data.
   */
  async restart(mode: 'fast' | 'immediate', downtimeMs: number): Promise<void> {
    const handle = this.handle;
    if (!handle) throw new Error('Postgres is not running');
    this.handle = undefined;
    if (mode === 'immediate') {
      handle.kill();
      await handle.exited;
    } else {
      await handle.close(30_000);
    }
    await new Promise((resolve) => setTimeout(resolve, downtimeMs));
    await this.boot();
  }

  async stop(): Promise<void> {
    await this.handle?.close(30_000);
    this.handle = undefined;
    this.log?.end();
    if (this.root) await rm(this.root, { recursive: true, force: true });
  }
}
