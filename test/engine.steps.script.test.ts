// The script handler on its own, with real sandboxed processes (bwrap, /bin/sh and python3), and
// the command allowlist checker it applies. What the sandbox hides is proven in
// security.script-sandbox.test.ts; here: config, running, output, cancellation, the allowlist.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { checkPythonScript, checkShellScript } from '../src/engine/steps/command-allowlist.ts';
import { SCRIPT_PATH } from '../src/engine/steps/sandbox.ts';
import { scriptStep } from '../src/engine/steps/script.ts';
import { NonRetriableError } from '../src/engine/steps/types.ts';
import {
  failure,
  logLine,
  privateTmpdir,
  processesInNamespace,
  runScript,
  scriptContext,
  type ScriptOutput,
} from './helpers/script.ts';
import { stepEnvFrom } from './helpers/step-env.ts';

let tmp: ReturnType<typeof privateTmpdir>;
beforeAll(() => {
  tmp = privateTmpdir();
});
afterAll(() => tmp.restore());

describe('script: enabling and config', () => {
  it('is disabled unless the server enables it, and the error says exactly how', async () => {
    const c = scriptContext(
      { language: 'shell', source: 'echo ran' },
      { env: stepEnvFrom({ WEFT_SCRIPTS_ENABLED: 'false' }) },
    );
    const error = await failure(scriptStep.execute(c));
    expect(error).toBeInstanceOf(NonRetriableError);
    expect(error.message).toContain('set WEFT_SCRIPTS_ENABLED=true on the server');
    expect(c.lines).toEqual([]);
    expect(tmp.attempts()).toEqual([]);
  });

  it.each([
    [{ language: 'ruby', source: 'puts 1' }, /script\.language must be "shell" or "python"/],
    [{ language: 'shell', source: '   ' }, /script\.source must be a non-empty string/],
    [{ language: 'shell', source: 'x'.repeat(100_001) }, /script\.source is 100001 characters, more than 100000/],
    [{ language: 'shell', source: 'true', args: 'a b' }, /script\.args must be a list of strings/],
    [{ language: 'shell', source: 'true', args: [{ a: 1 }] }, /script\.args must be a list of strings/],
    [
      { language: 'shell', source: 'true', args: ['ok', 'a\u0000--bind'] },
      /script\.args\[1\] must not contain a NUL character/,
    ],
    [{ language: 'shell', source: 'true', env: { '1BAD': 'x' } }, /'1BAD' is not a valid variable name/],
    [
      { language: 'shell', source: 'true', env: { PATH: '/tmp' } },
      /script\.env\.PATH cannot be set: Weft sets PATH, HOME, TMPDIR itself/,
    ],
    [{ language: 'shell', source: 'true', env: { A: ['x'] } }, /script\.env\.A must be a string, number or boolean/],
    // NUL separates bwrap's options: a value with one could add options of its own (--bind / /host).
    [
      { language: 'shell', source: 'true', env: { A: 'x\u0000--bind\u0000/\u0000/host' } },
      /script\.env\.A must not contain a NUL character/,
    ],
    [
      { language: 'shell', source: 'true', maxOutputBytes: 0 },
      /script\.maxOutputBytes must be an integer from 1 to 10485760/,
    ],
  ])('refuses a bad config before running anything: %#', async (config, message) => {
    const c = scriptContext(config);
    const error = await failure(scriptStep.execute(c));
    expect(error).toBeInstanceOf(NonRetriableError);
    expect(error.message).toMatch(message);
    expect(c.lines).toEqual([]);
  });

  it('reserves the proxy variables too when the network is outbound', async () => {
    const error = await failure(
      scriptStep.execute(
        scriptContext(
          { language: 'shell', source: 'true', env: { HTTPS_PROXY: 'http://evil' } },
          {},
          { WEFT_SCRIPTS_NETWORK: 'outbound' },
        ),
      ),
    );
    expect(error.message).toMatch(
      /^script\.env\.HTTPS_PROXY cannot be set: Weft sets PATH, HOME, TMPDIR, HTTP_PROXY, http_proxy, HTTPS_PROXY, https_proxy, ALL_PROXY, all_proxy itself$/,
    );
  });

  it('does not start when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('Run was cancelled'));
    const c = scriptContext({ language: 'shell', source: 'echo ran' }, { signal: controller.signal });
    await expect(scriptStep.execute(c)).rejects.toThrow('Run was cancelled');
    expect(c.lines).toEqual([]);
    expect(tmp.attempts()).toEqual([]);
  });
});

describe('script: server settings', () => {
  it('defaults to no network and the documented env allowlist, and refuses bad values naming the variable', () => {
    expect(loadConfig({}).steps.scripts).toEqual({
      enabled: false,
      network: 'none',
      envAllow: ['LANG', 'LC_ALL', 'TZ', 'WEFT_VAR_*'],
      bwrapPath: null,
    });
    expect(
      loadConfig({ WEFT_SCRIPT_ENV_ALLOW: ' APP_*, MODE ,', WEFT_SCRIPTS_NETWORK: 'outbound' }).steps.scripts,
    ).toMatchObject({ network: 'outbound', envAllow: ['APP_*', 'MODE'] });
    expect(() => loadConfig({ WEFT_SCRIPTS_NETWORK: 'all' })).toThrow(
      /WEFT_SCRIPTS_NETWORK: Invalid option: expected one of "none"\|"outbound"/,
    );
    expect(() => loadConfig({ WEFT_SCRIPT_ENV_ALLOW: 'LANG,*' })).toThrow(
      /WEFT_SCRIPT_ENV_ALLOW: must be a comma-separated list of variable names, each optionally ending in \* \(a prefix\)/,
    );
    expect(() => loadConfig({ WEFT_SCRIPT_ENV_ALLOW: 'GIT-*' })).toThrow(ConfigError);
    expect(() => loadConfig({ WEFT_BWRAP_PATH: 'bin/bwrap' })).toThrow(/WEFT_BWRAP_PATH: must be an absolute path/);
  });
});

describe('script: running', () => {
  it('runs a shell script in its sandbox (/job is cwd and HOME, /tmp is TMPDIR) with arguments, capturing output and parsing JSON', async () => {
    const c = scriptContext({
      language: 'shell',
      args: ['two words', 7],
      source:
        'echo "note to stderr" >&2\nprintf \'{"cwd":"%s","home":"%s","tmp":"%s","lang":"%s","a1":"%s","a2":"%s","self":"%s"}\\n\' "$(pwd)" "$HOME" "$TMPDIR" "$LANG" "$1" "$2" "$0"',
    });
    const out = (await scriptStep.execute(c)) as ScriptOutput;
    expect(out.exitCode).toBe(0);
    expect(out.stderr).toBe('note to stderr\n');
    expect(out.json).toEqual({
      cwd: '/job',
      home: '/job',
      tmp: '/tmp',
      lang: 'C.UTF-8',
      a1: 'two words',
      a2: '7',
      self: '/run/weft/script.sh',
    });
    expect(out.stdout).toBe(`${JSON.stringify(out.json)}\n`);
    // Output is streamed to the step log line by line.
    expect(c.lines[0]).toBe('running shell script (166 characters, 2 arguments) in the sandbox, network none');
    expect(c.lines).toContain('stderr: note to stderr');
    expect(c.lines).toContain(JSON.stringify(out.json));
    expect(c.lines.at(-1)).toBe('script exited with code 0');
    expect(tmp.attempts()).toEqual([]); // the attempt directory is removed afterwards
  });

  it('runs python3 with sys.argv and gives json null when stdout is not JSON', async () => {
    const py = await runScript({
      language: 'python',
      source: 'import json, sys\nprint(json.dumps({"sum": 1 + 2, "args": sys.argv[1:]}))',
      args: ['x', 'y z'],
    });
    expect(py.json).toEqual({ sum: 3, args: ['x', 'y z'] });
    const text = await runScript({ language: 'python', source: 'print("hello")' });
    expect(text).toEqual({ exitCode: 0, stdout: 'hello\n', stderr: '', json: null });
  });

  it('gives the script a fixed environment: PATH, HOME, TMPDIR, LANG, PWD and the step env, nothing of the server', async () => {
    process.env.WEFT_TEST_LEAK = 'server-secret';
    try {
      const py = await runScript({
        language: 'python',
        source: 'import json, os\nprint(json.dumps(dict(os.environ)))',
        env: { MINE: 'ok', COUNT: 3 },
      });
      const env = py.json as Record<string, string>;
      expect(Object.keys(env).sort()).toEqual(['COUNT', 'HOME', 'LANG', 'MINE', 'PATH', 'PWD', 'TMPDIR']);
      expect(env).toMatchObject({
        MINE: 'ok',
        COUNT: '3',
        LANG: 'C.UTF-8',
        PATH: SCRIPT_PATH,
        HOME: '/job',
        TMPDIR: '/tmp',
        PWD: '/job',
      });
      const sh = await runScript({ language: 'shell', source: 'env' });
      expect(sh.stdout).not.toContain('WEFT_TEST_LEAK');
      expect(sh.stdout).not.toContain('server-secret');
    } finally {
      delete process.env.WEFT_TEST_LEAK;
    }
  });

  it('fails with a retryable error on a non-zero exit, with the exit code and the end of stderr, and still cleans up', async () => {
    const error = await failure(
      scriptStep.execute(scriptContext({ language: 'shell', source: 'echo "in $PWD" >&2; echo "oops" >&2; exit 3' })),
    );
    expect(error).not.toBeInstanceOf(NonRetriableError);
    expect(error.message).toBe('Script exited with code 3: in /job\noops');
    expect(tmp.attempts()).toEqual([]);
  });

  it('caps stdout and stderr separately, marks the truncation and logs it', async () => {
    const c = scriptContext({
      language: 'shell',
      maxOutputBytes: 100,
      source: 'head -c 5000 /dev/zero | tr "\\0" a\nhead -c 150 /dev/zero | tr "\\0" b >&2\necho "[1]"',
    });
    const out = (await scriptStep.execute(c)) as ScriptOutput;
    expect(out.stdout).toBe(`${'a'.repeat(100)}\n[truncated]`);
    expect(out.stderr).toBe(`${'b'.repeat(100)}\n[truncated]`);
    expect(out.json).toBeNull();
    expect(c.lines).toContain('stdout was over 100 bytes; the rest was dropped');
    expect(c.lines).toContain('stderr was over 100 bytes; the rest was dropped');
    // The server-wide limit applies even when the step asks for more.
    const capped = await runScript(
      { language: 'shell', source: 'head -c 3000 /dev/zero | tr "\\0" c', maxOutputBytes: 1_000_000 },
      { env: stepEnvFrom({ WEFT_SCRIPTS_ENABLED: 'true', WEFT_MAX_RESPONSE_BYTES: '2048' }) },
    );
    expect(capped.stdout).toBe(`${'c'.repeat(2048)}\n[truncated]`);
  });

  it('replaces NUL characters in its output and log lines (the database cannot store them)', async () => {
    const c = scriptContext({ language: 'shell', source: "printf 'a\\000b\\n'\nprintf 'c\\000d' >&2" });
    const out = (await scriptStep.execute(c)) as ScriptOutput;
    expect(out).toMatchObject({ stdout: 'a\uFFFDb\n', stderr: 'c\uFFFDd' });
    expect(c.lines).toContain('a\uFFFDb');
    expect(c.lines).toContain('stderr: c\uFFFDd');
    const json = await runScript({ language: 'shell', source: `printf '{"a\\\\u0000b": ["c\\\\u0000d"]}'` });
    expect(json.json).toEqual({ 'a\uFFFDb': ['c\uFFFDd'] });
  });

  it('bounds what it streams to the log: lines are shortened and a flood is cut off', async () => {
    const c = scriptContext({ language: 'python', source: 'print("x" * 5000)\nfor i in range(3000): print(i)' });
    const out = (await scriptStep.execute(c)) as ScriptOutput;
    expect(out.stdout.length).toBeGreaterThan(5000);
    expect(c.lines[1]).toBe(`${'x'.repeat(1000)}…`);
    expect(c.lines.length).toBeLessThan(520);
    expect(c.lines).toContain('… more output is not logged (the step output keeps up to its cap)');
  });

  it('ends everything the script leaves running in the background when it exits, instead of waiting for it', async () => {
    const started = Date.now();
    const out = await runScript({ language: 'shell', source: 'sleep 30 &\nreadlink /proc/self/ns/pid\necho done' });
    expect(out.stdout).toMatch(/^pid:\[\d+\]\ndone\n$/);
    expect(Date.now() - started).toBeLessThan(3000);
    // The kernel kills what is left in the namespace as its init exits: a moment, not a wait.
    await expect.poll(() => processesInNamespace(out.stdout.split('\n')[0]!), { timeout: 1000 }).toEqual([]);
  });
});

describe('script: cancellation', () => {
  it.each(['none', 'outbound'])(
    'stops every process of the script within a second when aborted (SIGTERM first, which it may handle), and removes the attempt directory (network %s)',
    async (network) => {
      const controller = new AbortController();
      const reason = new Error('Run was cancelled');
      const c = scriptContext(
        {
          language: 'shell',
          source: "trap 'echo cleaning up; exit 0' TERM\nsleep 30 &\nreadlink /proc/self/ns/pid\nwait",
        },
        { signal: controller.signal },
        { WEFT_SCRIPTS_NETWORK: network },
      );
      const running = scriptStep.execute(c);
      const [ns] = await logLine(c, /^pid:\[\d+\]$/);
      expect(processesInNamespace(ns).length).toBeGreaterThanOrEqual(3); // the sandbox's init, sh and sleep (and the relay)
      expect(tmp.attempts()).toHaveLength(1);

      const abortedAt = Date.now();
      controller.abort(reason);
      const error = await failure(running);
      expect(error).toBe(reason);
      expect(Date.now() - abortedAt).toBeLessThan(1500);
      await expect.poll(() => processesInNamespace(ns), { timeout: 1000 }).toEqual([]);
      expect(tmp.attempts()).toEqual([]);
      expect(c.lines).toContain('stopping the script (SIGTERM to its processes)');
      expect(c.lines).toContain('cleaning up');
    },
  );

  it('follows SIGTERM with SIGKILL after 2 s when the script ignores it', async () => {
    const controller = new AbortController();
    const c = scriptContext(
      { language: 'shell', source: "trap '' TERM\nreadlink /proc/self/ns/pid\nsleep 30" },
      { signal: controller.signal },
    );
    const running = scriptStep.execute(c);
    const [ns] = await logLine(c, /^pid:\[\d+\]$/);
    const abortedAt = Date.now();
    controller.abort(new Error('Step timed out after 1 s'));
    await expect(running).rejects.toThrow('Step timed out after 1 s');
    const took = Date.now() - abortedAt;
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(3500);
    await expect.poll(() => processesInNamespace(ns), { timeout: 1000 }).toEqual([]);
  });

  it('honours a timeout signal', async () => {
    const started = Date.now();
    const error = await failure(
      scriptStep.execute(
        scriptContext(
          { language: 'python', source: 'import time\ntime.sleep(30)' },
          { signal: AbortSignal.timeout(500) },
        ),
      ),
    );
    expect(error.name).toBe('TimeoutError');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('command allowlist', () => {
  const allow = ['echo *', 'echo', 'date', 'grep -c *', 'wc -l', 'python3'];

  it.each([
    ['one allowed command', 'date'],
    [
      'commands on lines, lists and pipelines',
      'echo hello\ndate && echo "two words" || echo x; date\necho abc | grep -c a | wc -l',
    ],
    ['comments, including quotes inside them', "# don't worry: it's fine\necho hi # trailing comment, isn't it\n\n"],
    ['quoted variables as one argument', 'echo "$HOME"\necho "prefix-$1-suffix"'],
    [
      'quoted glob characters, operators and substitutions',
      'echo "*"\necho \'a; rm -rf /\'\necho \'$(not run)\'\necho "a\nb"',
    ],
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
    [
      'a command hidden after a multi-line quote',
      "echo 'x\necho ' ; rm -rf / ; echo '\n'",
      /'rm -rf \/' matches no allowed command template/,
    ],
  ])('refuses %s', (_what, source, reason) => {
    const verdict = checkShellScript(source, allow);
    expect(verdict.allowed).toBe(false);
    expect(verdict.reason).toMatch(reason);
  });

  it('applies no restriction without an allowlist, and needs python3 for python', () => {
    expect(checkShellScript('rm -rf / $(id) > x &', [])).toEqual({ allowed: true });
    expect(checkPythonScript([])).toEqual({ allowed: true });
    expect(checkPythonScript(['echo *', ' python3 '])).toEqual({ allowed: true });
    expect(checkPythonScript(['echo *'])).toMatchObject({
      allowed: false,
      reason: expect.stringMatching(/template 'python3'/),
    });
  });

  it('refuses a script through the handler, naming the command and listing the allowed templates, without running anything', async () => {
    const c = scriptContext(
      { language: 'shell', source: 'echo start\ntouch /job/ran' },
      { workflow: { commandAllowlist: ['echo *', 'date'] } },
    );
    const error = await failure(scriptStep.execute(c));
    expect(error).toBeInstanceOf(NonRetriableError);
    expect(error.message).toBe(
      `Script refused by the workflow's command allowlist: line 2: 'touch /job/ran' matches no allowed command template. Allowed templates: "echo *", "date"`,
    );
    expect(c.lines).toEqual([]);
    expect(tmp.attempts()).toEqual([]);

    const py = await failure(
      scriptStep.execute(
        scriptContext({ language: 'python', source: 'print(1)' }, { workflow: { commandAllowlist: ['echo *'] } }),
      ),
    );
    expect(py).toBeInstanceOf(NonRetriableError);
    expect(py.message).toMatch(/python scripts need the template 'python3'.*Allowed templates: "echo \*"/);
  });

  it('runs a script the allowlist accepts', async () => {
    const out = await runScript(
      { language: 'shell', args: ['hello world'], source: 'echo "$1" | grep -c world' },
      { workflow: { commandAllowlist: ['echo *', 'grep -c *'] } },
    );
    expect(out.stdout).toBe('1\n');
    const py = await runScript(
      { language: 'python', source: 'print(6 * 7)' },
      { workflow: { commandAllowlist: ['python3'] } },
    );
    expect(py.json).toBe(42);
  });
});

describe('env under a command allowlist (WEFT_SCRIPT_ENV_ALLOW)', () => {
  const allowlisted = { workflow: { commandAllowlist: ['echo *', 'git status', 'python3'] } };

  // Each of these changes what an allowed command does; none is named anywhere in Weft's code.
  it.each([
    'GIT_CONFIG_COUNT',
    'GIT_DIR',
    'GIT_SSH_COMMAND',
    'LD_PRELOAD',
    'LD_LIBRARY_PATH',
    'PYTHONSTARTUP',
    'PYTHONPATH',
    'BASH_ENV',
    'ENV',
    'PERL5OPT',
    'NODE_OPTIONS',
    'IFS',
    'EDITOR',
    'PAGER',
    'LANGUAGE',
    'LOCPATH',
    'GCONV_PATH',
  ])('refuses %s by default, naming it and the setting, before anything runs', async (name) => {
    const c = scriptContext({ language: 'shell', source: 'echo "$X"', env: { [name]: 'x' } }, allowlisted);
    const error = await failure(scriptStep.execute(c));
    expect(error).toBeInstanceOf(NonRetriableError);
    expect(error.message).toBe(
      `script.env.${name} cannot be set: the workflow has a command allowlist, and then a step may set only the variables the server's WEFT_SCRIPT_ENV_ALLOW allows (LANG, LC_ALL, TZ, WEFT_VAR_*), because a variable can change what an allowed command does`,
    );
    expect(c.lines).toEqual([]);
  });

  it('lets the default safe set through, and only what the operator adds', async () => {
    const out = await runScript(
      {
        language: 'shell',
        source: 'echo "$TZ"\necho "$WEFT_VAR_REGION"\necho "$LC_ALL"',
        env: { TZ: 'UTC', WEFT_VAR_REGION: 'eu', LC_ALL: 'C.UTF-8' },
      },
      allowlisted,
    );
    expect(out.stdout).toBe('UTC\neu\nC.UTF-8\n');
    const vars = { WEFT_SCRIPT_ENV_ALLOW: 'APP_*, MODE' };
    const own = await runScript(
      { language: 'shell', source: 'echo "$APP_COLOR"\necho "$MODE"', env: { APP_COLOR: 'red', MODE: 'fast' } },
      allowlisted,
      vars,
    );
    expect(own.stdout).toBe('red\nfast\n');
    const error = await failure(
      scriptStep.execute(scriptContext({ language: 'shell', source: 'echo x', env: { TZ: 'UTC' } }, allowlisted, vars)),
    );
    expect(error.message).toMatch(/^script\.env\.TZ cannot be set: .*WEFT_SCRIPT_ENV_ALLOW allows \(APP_\*, MODE\)/);
  });

  it('does not restrict env without an allowlist (the script can run anything then anyway)', async () => {
    const out = await runScript({
      language: 'shell',
      source: 'echo "$GIT_DIR $PYTHONPATH"',
      env: { GIT_DIR: '/job/x', PYTHONPATH: '/job' },
    });
    expect(out.stdout).toBe('/job/x /job\n');
  });
});
