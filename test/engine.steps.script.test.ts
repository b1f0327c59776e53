// The script handler on its own, with real child processes (/bin/sh and python3), and the
// command allowlist checker it applies.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkPythonScript, checkShellScript } from '../src/engine/steps/command-allowlist.ts';
import { SCRIPT_PATH, scriptStep } from '../src/engine/steps/script.ts';
import { NonRetriableError, type StepContext } from '../src/engine/steps/types.ts';

type TestContext = StepContext & { lines: string[] };

function ctx(config: Record<string, unknown>, overrides: Partial<StepContext> = {}): TestContext {
  const lines: string[] = [];
  return {
    runId: 'run-1',
    stepId: 'step-1',
    attempt: 1,
    config,
    signal: new AbortController().signal,
    log: (line) => void lines.push(line),
    env: { scriptsEnabled: true, agent: { baseUrl: null, apiKey: null, model: null }, fetch: () => Promise.reject(new Error('no network in script tests')), maxResponseBytes: 10 * 1024 * 1024 },
    workflow: { commandAllowlist: [] },
    idempotencyKey: 'run-1:step-1',
    lines,
    ...overrides,
  };
}

interface ScriptOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
  json: unknown;
}

const run = async (config: Record<string, unknown>, overrides: Partial<StepContext> = {}) => (await scriptStep.execute(ctx(config, overrides))) as ScriptOutput;

async function failure(promise: Promise<unknown>): Promise<Error> {
  const result = await promise.then(
    () => null,
    (error: unknown) => error,
  );
  if (!(result instanceof Error)) throw new Error(`expected a failure, got ${JSON.stringify(result)}`);
  return result;
}

/** Alive and not a zombie (an orphan may stay a zombie until its new parent reaps it). */
function isAlive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

// Every test that starts something records how to stop it, so nothing outlives the test.
const scratchDirs: string[] = [];
const pids: number[] = [];
afterEach(() => {
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone, as it should be
    }
  }
  for (const dir of scratchDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function scratchDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'weft-script-test-'));
  scratchDirs.push(dir);
  return dir;
}

function pidsIn(dir: string): number[] {
  const found = ['main.pid', 'bg.pid'].filter((f) => existsSync(path.join(dir, f))).map((f) => Number(readFileSync(path.join(dir, f), 'utf8').trim()));
  pids.push(...found);
  return found;
}

describe('script: enabling and config', () => {
  it('is disabled unless the server enables it, and the error says exactly how', async () => {
    const marker = path.join(scratchDir(), 'ran');
    const error = await failure(scriptStep.execute(ctx({ language: 'shell', source: `touch ${marker}` }, { env: { ...ctx({}).env, scriptsEnabled: false } })));
    expect(error).toBeInstanceOf(NonRetriableError);
    expect(error.message).toContain('set WEFT_SCRIPTS_ENABLED=true on the server');
    expect(existsSync(marker)).toBe(false);
  });

  it.each([
    [{ language: 'ruby', source: 'puts 1' }, /script\.language must be "shell" or "python"/],
    [{ language: 'shell', source: '   ' }, /script\.source must be a non-empty string/],
    [{ language: 'shell', source: 'x'.repeat(100_001) }, /script\.source is 100001 characters, more than 100000/],
    [{ language: 'shell', source: 'true', args: 'a b' }, /script\.args must be a list of strings/],
    [{ language: 'shell', source: 'true', args: [{ a: 1 }] }, /script\.args must be a list of strings/],
    [{ language: 'shell', source: 'true', env: { '1BAD': 'x' } }, /'1BAD' is not a valid variable name/],
    [{ language: 'shell', source: 'true', env: { PATH: '/tmp' } }, /script\.env\.PATH cannot be set: Weft sets PATH, HOME and TMPDIR itself/],
    [{ language: 'shell', source: 'true', env: { A: ['x'] } }, /script\.env\.A must be a string, number or boolean/],
    [{ language: 'shell', source: 'true', maxOutputBytes: 0 }, /script\.maxOutputBytes must be an integer from 1 to 10485760/],
  ])('refuses a bad config before running anything: %#', async (config, message) => {
    const error = await failure(scriptStep.execute(ctx(config)));
    expect(error).toBeInstanceOf(NonRetriableError);
    expect(error.message).toMatch(message);
  });

  it('does not start when the signal is already aborted', async () => {
    const marker = path.join(scratchDir(), 'ran');
    const controller = new AbortController();
    controller.abort(new Error('Run was cancelled'));
    await expect(scriptStep.execute(ctx({ language: 'shell', source: `touch ${marker}` }, { signal: controller.signal }))).rejects.toThrow('Run was cancelled');
    expect(existsSync(marker)).toBe(false);
  });
});

describe('script: running', () => {
  it('runs a shell script in its own temp dir (cwd, HOME, TMPDIR) with arguments, capturing output and parsing JSON', async () => {
    const c = ctx({ language: 'shell', args: ['two words', 7], source: 'echo "note to stderr" >&2\nprintf \'{"cwd":"%s","home":"%s","tmp":"%s","lang":"%s","a1":"%s","a2":"%s"}\\n\' "$(pwd)" "$HOME" "$TMPDIR" "$LANG" "$1" "$2"' });
    const out = (await scriptStep.execute(c)) as ScriptOutput;
    expect(out.exitCode).toBe(0);
    expect(out.stderr).toBe('note to stderr\n');
    const seen = out.json as Record<string, string>;
    expect(seen).toMatchObject({ lang: 'C.UTF-8', a1: 'two words', a2: '7' });
    expect(path.basename(seen.cwd!)).toMatch(/^weft-script-/);
    expect(seen.home).toBe(seen.cwd);
    expect(seen.tmp).toBe(seen.cwd);
    expect(existsSync(seen.cwd!)).toBe(false); // removed afterwards
    expect(out.stdout).toBe(`${JSON.stringify(seen)}\n`);
    // Output is streamed to the step log line by line.
    expect(c.lines).toContain('stderr: note to stderr');
    expect(c.lines).toContain(JSON.stringify(seen));
    expect(c.lines.at(-1)).toBe('script exited with code 0');
  });

  it('runs python3 with sys.argv and gives json null when stdout is not JSON', async () => {
    const py = await run({ language: 'python', source: 'import json, sys\nprint(json.dumps({"sum": 1 + 2, "args": sys.argv[1:]}))', args: ['x', 'y z'] });
    expect(py.json).toEqual({ sum: 3, args: ['x', 'y z'] });
    const text = await run({ language: 'python', source: 'print("hello")' });
    expect(text).toEqual({ exitCode: 0, stdout: 'hello\n', stderr: '', json: null });
  });

  it('scrubs the environment: only PATH, HOME, TMPDIR, LANG and the step env reach the script', async () => {
    process.env.WEFT_TEST_LEAK = 'server-secret';
    try {
      const py = await run({ language: 'python', source: 'import json, os\nprint(json.dumps(dict(os.environ)))', env: { MINE: 'ok', COUNT: 3 } });
      const env = py.json as Record<string, string>;
      expect(Object.keys(env).sort()).toEqual(['COUNT', 'HOME', 'LANG', 'MINE', 'PATH', 'TMPDIR']);
      expect(env).toMatchObject({ MINE: 'ok', COUNT: '3', LANG: 'C.UTF-8', PATH: SCRIPT_PATH });
      const sh = await run({ language: 'shell', source: 'env' });
      expect(sh.stdout).not.toContain('WEFT_TEST_LEAK');
      expect(sh.stdout).not.toContain('server-secret');
    } finally {
      delete process.env.WEFT_TEST_LEAK;
    }
  });

  it('fails with a retryable error on a non-zero exit, with the exit code and the end of stderr, and still cleans up', async () => {
    const error = await failure(scriptStep.execute(ctx({ language: 'shell', source: 'echo "in $PWD" >&2; echo "oops" >&2; exit 3' })));
    expect(error).not.toBeInstanceOf(NonRetriableError);
    expect(error.message).toMatch(/^Script exited with code 3: in \/.*weft-script-\w+\noops$/);
    const dir = /in (\/\S+)/.exec(error.message)![1]!;
    expect(existsSync(dir)).toBe(false);
  });

  it('caps stdout and stderr separately, marks the truncation and logs it', async () => {
    const c = ctx({ language: 'shell', maxOutputBytes: 100, source: 'head -c 5000 /dev/zero | tr "\\0" a\nhead -c 150 /dev/zero | tr "\\0" b >&2\necho "[1]"' });
    const out = (await scriptStep.execute(c)) as ScriptOutput;
    expect(out.stdout).toBe(`${'a'.repeat(100)}\n[truncated]`);
    expect(out.stderr).toBe(`${'b'.repeat(100)}\n[truncated]`);
    expect(out.json).toBeNull();
    expect(c.lines).toContain('stdout was over 100 bytes; the rest was dropped');
    expect(c.lines).toContain('stderr was over 100 bytes; the rest was dropped');
    // The server-wide limit applies even when the step asks for more.
    const capped = await run({ language: 'shell', source: 'head -c 3000 /dev/zero | tr "\\0" c', maxOutputBytes: 1_000_000 }, { env: { ...ctx({}).env, maxResponseBytes: 2048 } });
    expect(capped.stdout).toBe(`${'c'.repeat(2048)}\n[truncated]`);
  });

  it('bounds what it streams to the log: lines are shortened and a flood is cut off', async () => {
    const c = ctx({ language: 'python', source: 'print("x" * 5000)\nfor i in range(3000): print(i)' });
    const out = (await scriptStep.execute(c)) as ScriptOutput;
    expect(out.stdout.length).toBeGreaterThan(5000);
    expect(c.lines[1]).toBe(`${'x'.repeat(1000)}…`);
    expect(c.lines.length).toBeLessThan(520);
    expect(c.lines).toContain('… more output is not logged (the step output keeps up to its cap)');
  });

  it('kills background processes the script leaves behind instead of waiting for them', async () => {
    const dir = scratchDir();
    const started = Date.now();
    const out = await run({ language: 'shell', args: [dir], source: 'sleep 30 &\necho $! > "$1/bg.pid"\necho done' });
    expect(out.stdout).toBe('done\n');
    expect(Date.now() - started).toBeLessThan(1500);
    const [bg] = pidsIn(dir);
    await expect.poll(() => isAlive(bg!), { timeout: 1000 }).toBe(false);
  });
});

describe('script: cancellation', () => {
  it('kills the whole process group within a second when aborted, and removes the temp dir', async () => {
    const dir = scratchDir();
    const controller = new AbortController();
    const reason = new Error('Run was cancelled');
    const c = ctx({ language: 'shell', args: [dir], source: 'echo $$ > "$1/main.pid"\nsleep 30 &\necho $! > "$1/bg.pid"\necho "$PWD" > "$1/cwd"\nsleep 30\nwait' }, { signal: controller.signal });
    const running = scriptStep.execute(c);
    await expect.poll(() => existsSync(path.join(dir, 'cwd')), { timeout: 5000, interval: 20 }).toBe(true);
    const [main, bg] = pidsIn(dir);
    expect(isAlive(main!) && isAlive(bg!)).toBe(true);

    const abortedAt = Date.now();
    controller.abort(reason);
    const error = await failure(running);
    expect(error).toBe(reason);
    expect(Date.now() - abortedAt).toBeLessThan(1500);
    await expect.poll(() => isAlive(main!) || isAlive(bg!), { timeout: 1000 }).toBe(false);
    expect(existsSync(readFileSync(path.join(dir, 'cwd'), 'utf8').trim())).toBe(false);
    expect(c.lines).toContain('stopping the script (SIGTERM to its process group)');
  });

  it('follows SIGTERM with SIGKILL after 2 s when the script ignores it', async () => {
    const dir = scratchDir();
    const controller = new AbortController();
    const running = scriptStep.execute(ctx({ language: 'shell', args: [dir], source: "trap '' TERM\necho $$ > \"$1/main.pid\"\nsleep 30" }, { signal: controller.signal }));
    await expect.poll(() => existsSync(path.join(dir, 'main.pid')), { timeout: 5000, interval: 20 }).toBe(true);
    const [main] = pidsIn(dir);
    const abortedAt = Date.now();
    controller.abort(new Error('Step timed out after 1 s'));
    await expect(running).rejects.toThrow('Step timed out after 1 s');
    const took = Date.now() - abortedAt;
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(3500);
    expect(isAlive(main!)).toBe(false);
  });

  it('honours a timeout signal', async () => {
    const started = Date.now();
    const error = await failure(scriptStep.execute(ctx({ language: 'python', source: 'import time\ntime.sleep(30)' }, { signal: AbortSignal.timeout(200) })));
    expect(error.name).toBe('TimeoutError');
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

describe('command allowlist', () => {
  const allow = ['echo *', 'echo', 'date', 'grep -c *', 'wc -l', 'python3'];

  it.each([
    ['one allowed command', 'date'],
    ['commands on lines, lists and pipelines', 'echo hello\ndate && echo "two words" || echo x; date\necho abc | grep -c a | wc -l'],
    ['comments, including quotes inside them', "# don't worry: it's fine\necho hi # trailing comment, isn't it\n\n"],
    ['quoted variables as one argument', 'echo "$HOME"\necho "prefix-$1-suffix"'],
    ['quoted glob characters, operators and substitutions', 'echo "*"\necho \'a; rm -rf /\'\necho \'$(not run)\'\necho "a\nb"'],
    ['an escaped dollar', 'echo \\$HOME'],
    ['a list split over lines after &&', 'echo a &&\necho b'],
  ])('accepts %s', (_what, source) => {
    expect(checkShellScript(source, allow)).toEqual({ allowed: true });
  });

  it.each([
    ['a command that matches no template', 'rm -rf /', /line 1: 'rm -rf \/' matches no allowed command template/],
    ['a second argument where * allows one', 'echo a b', /'echo a b' matches no allowed command template/],
    ['an allowed command followed by a forbidden one', 'echo ok; curl http://x', /'curl http:\/\/x' matches no/],
    ['a forbidden command on a later line', 'date\n\ncat /etc/passwd', /line 3: 'cat \/etc\/passwd' matches no/],
    ['command substitution', 'echo $(cat /etc/passwd)', /line 1 .*command substitution \$\( \)/],
    ['command substitution inside double quotes', 'echo "$(id)"', /command substitution \$\( \)/],
    ['backquotes', 'echo `id`', /backquotes/],
    ['a redirection', 'echo hi > /tmp/x', /shell operator '>'/],
    ['an input redirection', 'wc -l < /etc/passwd', /shell operator '<'/],
    ['a heredoc', 'wc -l <<EOF\nhello\nEOF', /shell operator '<<'/],
    ['a background job', 'date &', /shell operator '&'/],
    ['a subshell', '(date)', /shell operator '\('/],
    ['a group', '{ date; }', /unquoted brace/],
    ['a function definition', 'echo() { rm -rf /; }', /unquoted brace '\{'/],
    ['a compound command', 'if date; then echo x; fi', /'if date' is a compound command/],
    ['a variable as the command name', '"$CMD" x', /uses a variable as the command name/],
    ['an unquoted variable (word splitting)', 'echo $1', /outside double quotes can split/],
    ['"$@"', 'echo "$@"', /can expand to any number of arguments/],
    ['${ } expansion', 'echo "${X:-y}"', /\$\{ \} expansions/],
    ['an unquoted glob', 'echo *', /glob character '\*'/],
    ['an unquoted bracket glob', 'echo [ab]', /glob character '\['/],
    ['an assignment prefix', 'PATH=/tmp echo x', /'PATH=\/tmp echo x' matches no/],
    ['a line continuation', 'echo \\\nhi', /line continuation/],
    ['an unterminated quote', "echo 'oops", /unterminated single quote/],
    // A quote that spans lines must not let a later "line" hide a command from the check.
    ['a command hidden after a multi-line quote', "echo 'x\necho ' ; rm -rf / ; echo '\n'", /'rm -rf \/' matches no allowed command template/],
  ])('refuses %s', (_what, source, reason) => {
    const verdict = checkShellScript(source, allow);
    expect(verdict.allowed).toBe(false);
    expect(verdict.reason).toMatch(reason);
  });

  it('applies no restriction without an allowlist, and needs python3 for python', () => {
    expect(checkShellScript('rm -rf / $(id) > x &', [])).toEqual({ allowed: true });
    expect(checkPythonScript([])).toEqual({ allowed: true });
    expect(checkPythonScript(['echo *', ' python3 '])).toEqual({ allowed: true });
    expect(checkPythonScript(['echo *'])).toMatchObject({ allowed: false, reason: expect.stringMatching(/template 'python3'/) });
  });

  it('refuses a script through the handler, naming the command and listing the allowed templates, without running anything', async () => {
    const marker = path.join(scratchDir(), 'ran');
    const error = await failure(scriptStep.execute(ctx({ language: 'shell', source: `echo start\ntouch ${marker}` }, { workflow: { commandAllowlist: ['echo *', 'date'] } })));
    expect(error).toBeInstanceOf(NonRetriableError);
    expect(error.message).toBe(`Script refused by the workflow's command allowlist: line 2: 'touch ${marker}' matches no allowed command template. Allowed templates: "echo *", "date"`);
    expect(existsSync(marker)).toBe(false);

    const py = await failure(scriptStep.execute(ctx({ language: 'python', source: 'print(1)' }, { workflow: { commandAllowlist: ['echo *'] } })));
    expect(py).toBeInstanceOf(NonRetriableError);
    expect(py.message).toMatch(/python scripts need the template 'python3'.*Allowed templates: "echo \*"/);

    const loader = await failure(scriptStep.execute(ctx({ language: 'shell', source: 'date', env: { LD_PRELOAD: '/tmp/x.so' } }, { workflow: { commandAllowlist: ['date'] } })));
    expect(loader.message).toMatch(/script\.env\.LD_PRELOAD cannot be set when the workflow has a command allowlist/);
  });

  it('runs a script the allowlist accepts', async () => {
    const out = await run({ language: 'shell', args: ['hello world'], source: 'echo "$1" | grep -c world' }, { workflow: { commandAllowlist: ['echo *', 'grep -c *'] } });
    expect(out.stdout).toBe('1\n');
    const py = await run({ language: 'python', source: 'print(6 * 7)' }, { workflow: { commandAllowlist: ['python3'] } });
    expect(py.json).toBe(42);
  });
});
