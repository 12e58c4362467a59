/**
 * A helper program driven one command at a time: a line on its standard input, a line back on its
 * standard output (as test/e2e/clients/JdbcDecisionChanges.java answers).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

export class LineCommands {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: string[] = [];
  private waiting: (() => void) | undefined;

  constructor(command: string, args: readonly string[]) {
    this.child = spawn(command, args);
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.lines.push(line);
      this.waiting?.();
    });
  }

  /** The next line, waiting a minute at most (a JVM starts slowly on a busy machine). */
  async line(): Promise<string> {
    for (let i = 0; i < 600 && this.lines.length === 0; i++)
      await new Promise<void>((r) => ((this.waiting = r), setTimeout(r, 100)));
    const next = this.lines.shift();
    if (next === undefined) throw new Error('the program said nothing within a minute');
    return next;
  }

  async send(command: string): Promise<string> {
    this.child.stdin.write(`${command}\n`);
    return this.line();
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}
