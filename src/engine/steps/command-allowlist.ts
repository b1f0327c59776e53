// The workflow's command allowlist: when it is set, every command a shell script runs must
// match one of the approved templates. A template is a command line whose `*` tokens match
// exactly one argument; every other token matches literally (`git status`, `echo *`).
//
// Checking is conservative: a script is accepted only when every simple command in it can be
// seen for certain. So, with an allowlist, these are refused outright:
//   - command substitution ($( ) and backquotes), ${ } expansions, $'…' quoting;
//   - variables outside double quotes ($X undergoes word splitting and globbing, so one `*`
//     could become many arguments) and "$@"/"$*"; a quoted "$X" is one argument and matches `*`;
//   - unquoted glob characters (* ? [) and braces, which may expand to several arguments;
//   - redirections, heredocs, pipes to |&, background jobs (&), subshells and groups, and
//     compound commands (if, for, while, case…), whose bodies would escape the check;
//   - line continuations, unterminated quotes and NUL characters.
// Pipelines and lists (|, ;, &&, ||, newlines) are fine: each command in them is checked.
//
// shell-quote tokenizes, but it treats newlines as spaces and `a#b` as a comment, so a small
// quote-aware scan first splits the source at unquoted newlines, drops real comments and does
// the refusals above that need to know what is quoted.
import { parse, type ParseEntry } from 'shell-quote';

export interface AllowlistVerdict {
  allowed: boolean;
  /** Why the script was refused, naming the offending line or command. */
  reason?: string;
}

/** Marks a variable inside a token; NUL cannot occur in an accepted script. */
const VARIABLE_MARK = '\u0000';
const SEPARATORS = new Set([';', '&&', '||', '|']);
const RESERVED_WORDS = new Set([
  'if',
  'then',
  'else',
  'elif',
  'fi',
  'do',
  'done',
  'case',
  'esac',
  'while',
  'until',
  'for',
  'in',
  'select',
  'function',
  '{',
  '}',
  '!',
  '[[',
  ']]',
  'time',
  'coproc',
]);

class Refusal extends Error {}

interface Line {
  number: number;
  text: string;
}

/** Splits at unquoted newlines, without comments; refuses what needs quoting context to judge. */
function scanLines(source: string): Line[] {
  const sourceLines = source.split('\n');
  const lines: Line[] = [];
  let current = '';
  let startLine = 1;
  let lineNo = 1;
  let quote: "'" | '"' | null = null;
  let wordStart = true;
  const refuse = (what: string): never => {
    throw new Refusal(`line ${lineNo} (${JSON.stringify(sourceLines[lineNo - 1]!.trim().slice(0, 120))}): ${what}`);
  };

  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === '\n') lineNo++;
    if (quote === "'") {
      current += c;
      if (c === "'") quote = null;
      continue;
    }
    if (c === '\u0000') refuse('a NUL character');
    if (c === '`') refuse('command substitution with backquotes cannot be checked against the allowlist');
    if (c === '\\') {
      if (next === '\n')
        refuse('a line continuation (backslash at the end of a line) cannot be checked against the allowlist');
      current += c + (next ?? '');
      i++;
      wordStart = false;
      continue;
    }
    if (c === '$') {
      if (next === '(') refuse('command substitution $( ) cannot be checked against the allowlist');
      if (next === '{') refuse('${ } expansions cannot be checked against the allowlist; write "$NAME"');
      if (quote === '"' && (next === '@' || next === '*')) refuse(`"$${next}" can expand to any number of arguments`);
      if (quote === null && next !== undefined && /[A-Za-z0-9_@*#?$!-]/.test(next))
        refuse('a variable outside double quotes can split into several arguments; write "$NAME"');
      if (quote === null && (next === "'" || next === '"'))
        refuse('$\'…\' and $"…" quoting cannot be checked against the allowlist');
      current += c;
      wordStart = false;
      continue;
    }
    if (quote === '"') {
      current += c;
      if (c === '"') quote = null;
      continue;
    }
    // Unquoted from here on.
    if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '#' && wordStart) {
      while (i + 1 < source.length && source[i + 1] !== '\n') i++;
      continue;
    } else if (c === '\n') {
      lines.push({ number: startLine, text: current });
      current = '';
      startLine = lineNo;
      wordStart = true;
      continue;
    } else if (c === '*' || c === '?' || c === '[') {
      refuse(`the unquoted glob character '${c}' may expand to several arguments; quote it`);
    } else if (c === '{' || c === '}') {
      refuse(
        `the unquoted brace '${c}' (a group or brace expansion) cannot be checked against the allowlist; quote it`,
      );
    }
    current += c;
    wordStart = /[\s;&|()<>]/.test(c);
  }
  if (quote) refuse(`an unterminated ${quote === '"' ? 'double' : 'single'} quote`);
  lines.push({ number: startLine, text: current });
  return lines;
}

/** The simple commands of one line, each a list of tokens (variables marked with NUL). */
function commandsOf(line: Line): string[][] {
  const entries: ParseEntry[] = parse(line.text, (name) => `${VARIABLE_MARK}$${name}${VARIABLE_MARK}`);
  const commands: string[][] = [[]];
  const where = `line ${line.number} (${JSON.stringify(line.text.trim().slice(0, 120))})`;
  for (const entry of entries) {
    if (typeof entry === 'string') {
      commands.at(-1)!.push(entry);
    } else if ('comment' in entry) {
      throw new Refusal(`${where}: an unquoted '#' inside a word; quote it`);
    } else if (entry.op === 'glob') {
      throw new Refusal(`${where}: the glob pattern '${entry.pattern}' may expand to several arguments; quote it`);
    } else if (SEPARATORS.has(entry.op)) {
      commands.push([]);
    } else {
      throw new Refusal(
        `${where}: the shell operator '${entry.op}' (redirection, background job, subshell or similar) cannot be checked against the allowlist`,
      );
    }
  }
  return commands.filter((command) => command.length > 0);
}

function show(command: string[]): string {
  return command.map((token) => token.replaceAll(/\u0000(\$[^\u0000]*)\u0000/g, '$1')).join(' ');
}

/** A template's tokens; `*` is the wildcard. A template with operators in it matches nothing. */
function parseTemplate(template: string): string[] | null {
  const tokens: string[] = [];
  for (const entry of parse(template)) {
    if (typeof entry === 'string') tokens.push(entry);
    else if ('op' in entry && entry.op === 'glob') tokens.push(entry.pattern);
    else return null;
  }
  return tokens.length ? tokens : null;
}

function matches(command: string[], template: string[]): boolean {
  return command.length === template.length && template.every((token, i) => token === '*' || command[i] === token);
}

export function checkShellScript(source: string, allowlist: string[]): AllowlistVerdict {
  if (allowlist.length === 0) return { allowed: true };
  const templates = allowlist.map(parseTemplate).filter((t): t is string[] => t !== null);
  try {
    for (const line of scanLines(source)) {
      for (const command of commandsOf(line)) {
        const name = command[0]!;
        if (name.includes(VARIABLE_MARK))
          throw new Refusal(`line ${line.number}: '${show(command)}' uses a variable as the command name`);
        if (RESERVED_WORDS.has(name))
          throw new Refusal(
            `line ${line.number}: '${show(command)}' is a compound command (${name}), which cannot be checked against the allowlist`,
          );
        if (!templates.some((template) => matches(command, template)))
          throw new Refusal(`line ${line.number}: '${show(command)}' matches no allowed command template`);
      }
    }
  } catch (error) {
    if (error instanceof Refusal) return { allowed: false, reason: error.message };
    throw error;
  }
  return { allowed: true };
}

export function checkPythonScript(allowlist: string[]): AllowlistVerdict {
  if (allowlist.length === 0 || allowlist.some((t) => t.trim() === 'python3')) return { allowed: true };
  return { allowed: false, reason: "python scripts need the template 'python3' in the workflow's command allowlist" };
}
