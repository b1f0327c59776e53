// Starting a run: a form generated from the version's input JSON Schema (react-jsonschema-form),
// or raw JSON. The server validates the input (the page's CSP forbids the code generation
// client-side JSON Schema validators use); its problems are shown on the fields they concern.
// The Form component alone: the package index also exports a test helper that imports an
// eval-based validator we do not ship.
import Form from '@rjsf/core/lib/components/Form.js';
import type { ErrorSchema, RJSFSchema, ValidatorType } from '@rjsf/utils';
import { useMemo, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { useLocation } from 'wouter';
import { graphql } from '../gql/gql.ts';
import { SubmitCancel } from '../ui/controls.tsx';
import { Problem } from '../ui/errors.tsx';
import { json } from '../ui/format.ts';

const VersionSchemaDocument = graphql(`
  query VersionInputSchema($id: ID!, $number: Int!) {
    workflow(id: $id) {
      id
      version(number: $number) { id number definition }
    }
  }
`);

const RunWorkflowDocument = graphql(`
  mutation RunWorkflow($input: RunWorkflowInput!) {
    runWorkflow(input: $input) {
      __typename
      ... on RunPayload { run { id status } }
      ... on ValidationError { problems { path message } }
      ... on Error { code message }
    }
  }
`);

// Accepts everything: Weft checks the input when the run is requested.
const serverValidates: ValidatorType = {
  validateFormData: () => ({ errors: [], errorSchema: {} }),
  isValid: () => true,
  rawValidation: () => ({ errors: [], validationError: undefined }),
};

interface Issue {
  path: string[];
  message: string;
}

/** Server problems (paths like ["input", "input", "count"]) as rjsf's error tree under the form's root. */
function errorTree(problems: Issue[]): ErrorSchema {
  const tree: Record<string, unknown> = {};
  for (const problem of problems) {
    let node = tree;
    for (const segment of problem.path.slice(2)) {
      node[segment] ??= {};
      node = node[segment] as Record<string, unknown>;
    }
    node.__errors ??= [];
    (node.__errors as string[]).push(problem.message);
  }
  return tree as ErrorSchema;
}

export default function RunDialog({
  workflowId,
  versions,
  latest,
  onClose,
}: {
  workflowId: string;
  versions: number[];
  latest: number;
  onClose: () => void;
}) {
  const [version, setVersion] = useState(latest);
  const [{ data, error: loadError }] = useQuery({
    query: VersionSchemaDocument,
    variables: { id: workflowId, number: version },
  });
  const schema = useMemo(() => {
    const raw = (data?.workflow?.version?.definition as { inputSchema?: Record<string, unknown> } | undefined)
      ?.inputSchema;
    if (!raw || typeof raw !== 'object') return null;
    const { $schema: _ignored, ...rest } = raw;
    return rest as RJSFSchema;
  }, [data]);
  const [formData, setFormData] = useState<Record<string, unknown>>({});
  const [asJson, setAsJson] = useState(false);
  const [text, setText] = useState('{}');
  const [problems, setProblems] = useState<Issue[]>([]);
  const [failure, setFailure] = useState<{ code: string; message: string } | null>(null);
  const [{ fetching }, runWorkflow] = useMutation(RunWorkflowDocument);
  const [, navigate] = useLocation();

  async function start(input: unknown) {
    setProblems([]);
    setFailure(null);
    const result = await runWorkflow({ input: { workflowId, version, input } });
    const outcome = result.data?.runWorkflow;
    if (result.error)
      return setFailure({
        code: (result.error.graphQLErrors[0]?.extensions?.code as string) ?? 'NETWORK_ERROR',
        message: result.error.message,
      });
    if (outcome?.__typename === 'RunPayload') return navigate(`/runs/${encodeURIComponent(outcome.run.id)}`);
    if (outcome?.__typename === 'ValidationError') return setProblems(outcome.problems);
    if (outcome && 'code' in outcome) setFailure({ code: outcome.code, message: outcome.message });
  }

  function startFromJson() {
    try {
      void start(JSON.parse(text));
    } catch (e) {
      setProblems([{ path: ['input', 'input'], message: `is not valid JSON: ${(e as Error).message}` }]);
    }
  }

  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: a click on the backdrop closes the dialog; Escape and the Close button do the same from the keyboard.
    <div className="dialog-backdrop" role="presentation" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <div className="dialog" role="dialog" aria-modal="true" aria-label="Run workflow">
        <div className="dialog-head">
          <h2>Run workflow</h2>
          <label>
            Version{' '}
            <select aria-label="Version to run" value={version} onChange={(e) => setVersion(Number(e.target.value))}>
              {versions.map((n) => (
                <option key={n} value={n}>
                  v{n}
                  {n === latest ? ' (latest)' : ''}
                </option>
              ))}
            </select>
          </label>
          <label className="toggle">
            <input
              type="checkbox"
              checked={asJson}
              onChange={(e) => {
                setAsJson(e.target.checked);
                setText(json(formData));
              }}
            />{' '}
            Edit as JSON
          </label>
        </div>
        {loadError ? <Problem error={loadError} what="version" /> : null}
        {failure ? <Problem error={failure} what="running this workflow" /> : null}
        {problems.length ? (
          <ul className="form-error" role="alert" aria-label="Input problems">
            {problems.map((p, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: the server's problem list is replaced whole on each submit.
              <li key={i}>
                <code>{p.path.slice(2).join('.') || 'input'}</code> {p.message}
              </li>
            ))}
          </ul>
        ) : null}
        {asJson || !schema ? (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              startFromJson();
            }}
          >
            {!schema ? (
              <p className="muted">This version declares no input schema: the input is any JSON object.</p>
            ) : null}
            <label htmlFor="run-input">Input (JSON)</label>
            <textarea
              id="run-input"
              rows={10}
              value={text}
              onChange={(e) => setText(e.target.value)}
              spellCheck={false}
            />
            <SubmitCancel busy={fetching} label="Start run" busyLabel="Starting…" onCancel={onClose} />
          </form>
        ) : (
          <Form
            schema={schema}
            formData={formData}
            validator={serverValidates}
            extraErrors={errorTree(problems)}
            showErrorList={false}
            noHtml5Validate
            onChange={(e) => setFormData((e.formData ?? {}) as Record<string, unknown>)}
            onSubmit={(e) => void start(e.formData ?? {})}
          >
            <SubmitCancel busy={fetching} label="Start run" busyLabel="Starting…" onCancel={onClose} />
          </Form>
        )}
      </div>
    </div>
  );
}
