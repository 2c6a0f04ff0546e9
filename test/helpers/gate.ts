import { createServer, type ServerResponse } from 'node:http';
import type { TestContext } from 'node:test';
import { waitFor } from './wait.js';

/**
 * An HTTP endpoint on 127.0.0.1 the test holds: while closed, every request waits unanswered until
 * `open()`; while open, it answers 200 at once. A drill or deploy whose smoke check points here stays
 * inside that check (and its lock) for exactly as long as the test wants, however slow the machine.
 */
export class HttpGate {
  private held: ServerResponse[] = [];
  private isOpen = true;
  /** Requests seen so far, answered or not. */
  requests = 0;

  private constructor(
    private readonly server: ReturnType<typeof createServer>,
    readonly url: string,
  ) {}

  /** A listening gate, open; it is closed for good (held requests dropped) after the test. */
  static async create(t: TestContext): Promise<HttpGate> {
    let gate: HttpGate | null = null;
    const server = createServer((req, res) => {
      req.resume();
      gate?.arrive(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    gate = new HttpGate(server, `http://127.0.0.1:${port}/gate`);
    t.after(() => gate?.shutdown());
    return gate;
  }

  /** A smoke check (as written in the config) that passes once the gate lets it through. */
  smokeCheck(timeoutMs = 60_000): Record<string, unknown> {
    return { name: 'test-gate', url: this.url, expectStatus: 200, timeoutMs };
  }

  /** From now on requests wait. */
  close(): void {
    this.isOpen = false;
  }

  /** Answers every waiting request, and every later one at once. */
  open(): void {
    this.isOpen = true;
    for (const res of this.held.splice(0)) res.end('open\n');
  }

  /** Resolves once a request is held at the gate (the operation is inside its check). */
  async waiting(timeoutMs = 30_000): Promise<void> {
    await waitFor(() => this.held.length > 0, { timeoutMs, what: 'a request held at the test gate' });
  }

  private arrive(res: ServerResponse): void {
    this.requests++;
    if (this.isOpen) res.end('open\n');
    else this.held.push(res);
  }

  private shutdown(): Promise<void> {
    this.held.splice(0).forEach((res) => res.destroy());
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
