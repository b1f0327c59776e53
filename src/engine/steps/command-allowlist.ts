// The workflow's command allowlist (cyberdesk's terminal_command_allowlist): when set, every
// command a shell script runs must match one of the approved templates. A template is a
// command line whose `*` tokens match exactly one argument; other tokens match literally.
// Anything that cannot be checked safely — command substitution, redirection, subshells,
// background jobs, heredocs, a variable as the command name — is refused outright.
import { parse, type ParseEntry } from 'shell-quote';

const SEPARATORS = new Set([';', '&&', '||', '|', '\n']);
const VARIABLE = Symbol('variable');

type Token = string | typeof VARIABLE;

export interface AllowlistVerdict {
  allowed: boolean;
  reason?: string;
}

function tokenize(line: string): Token[][] | string {
  const entries: ParseEntry[] = parse(line, (name) => ({ op: 'glob', pattern: `\u0000var:${name}` }) as unknown as string);
  const commands: Token[][] = [[]];
  for (const entry of entries) {
    if (typeof entry === 'string') {
      commands[commands.length - 1]!.push(entry);
      continue;
    }
    if ('comment' in entry) break;
    if ('op' in entry && entry.op === 'glob') {
      const pattern = (entry as { pattern: string }).pattern;
      // A glob expands to any number of arguments, so it cannot match a template safely.
      if (!pattern.startsWith('\u0000var:')) return `the glob pattern '${pattern}' cannot be checked against the allowlist`;
      commands[commands.length - 1]!.push(VARIABLE);
      continue;
    }
    if ('op' in entry && SEPARATORS.has(entry.op)) {
      commands.push([]);
      continue;
    }
    return `the shell construct '${'op' in entry ? entry.op : '?'}' cannot be checked against the allowlist`;
  }
  return commands.filter((c) => c.length > 0);
}

function matches(command: Token[], template: string[]): boolean {
  return command.length === template.length && template.every((t, i) => t === '*' || command[i] === t);
}

function show(command: Token[]): string {
  return command.map((t) => (t === VARIABLE ? '$VAR' : t)).join(' ');
}

export function checkShellScript(source: string, allowlist: string[]): AllowlistVerdict {
  if (allowlist.length === 0) return { allowed: true };
  if (/`|\$\(|<<|\$\{/.test(source)) return { allowed: false, reason: 'command substitution, parameter expansion with ${} and heredocs cannot be checked against the allowlist' };
  // In a template, `*` parses as a glob; keep it as the wildcard token.
  const templates = allowlist.map((t) => parse(t).map((e) => (typeof e === 'string' ? e : 'op' in e && e.op === 'glob' ? (e as { pattern: string }).pattern : '\u0000')));
  for (const line of source.split('\n')) {
    const commands = tokenize(line);
    if (typeof commands === 'string') return { allowed: false, reason: commands };
    for (const command of commands) {
      if (command[0] === VARIABLE) return { allowed: false, reason: `a variable cannot be used as a command name: ${show(command)}` };
      if (!templates.some((t) => matches(command, t))) return { allowed: false, reason: `'${show(command)}' matches no allowed command template` };
    }
  }
  return { allowed: true };
}

export function checkPythonScript(allowlist: string[]): AllowlistVerdict {
  if (allowlist.length === 0 || allowlist.some((t) => t.trim() === 'python3')) return { allowed: true };
  return { allowed: false, reason: "python scripts need the template 'python3' in the workflow's command allowlist" };
}
