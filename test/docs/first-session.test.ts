// The README's first session, run exactly as written (bash, curl, node) against a fresh system
// through the gateway, so a newcomer's copy-paste keeps working.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startSystem, type System } from '../e2e/system';

const readme = readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');

/** The ```sh block right after the `<!-- first-session -->` marker. */
function firstSessionScript(): string {
  const marker = readme.indexOf('<!-- first-session -->');
  expect(marker).toBeGreaterThan(0);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(marker));
  return block![1]!;
}

function runBash(script: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe("README's first session", () => {
  let system: System;
  beforeAll(async () => {
    system = await startSystem();
  });
  afterAll(async () => {
    await system?.close();
  });

  it('runs as written: verify, organization, invite and accept by mail, project, tasks, pages, If-Match, activity', async () => {
    const { code, stdout, stderr } = await runBash(firstSessionScript(), { API: system.url, MAIL: system.mailDir });
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const lines = stdout.trim().split('\n');
    expect(JSON.parse(lines[1]!)).toMatchObject({ email: 'ada@example.com', email_verified: true });
    expect(lines).toEqual(
      expect.arrayContaining([
        'pending invite for bob@example.com',
        'Acme as member',
        'Invite accepted',
        'in_progress, version 2',
        '412',
        "bob@example.com: Updated task 'Order badges'",
      ]),
    );
    // Following `next` printed every task exactly once: a full page of two, then the last one.
    expect(stdout).toMatch(/\nOrder badges \| Book the venue\nWrite the announcement\n/);
  }, 120_000);
});

