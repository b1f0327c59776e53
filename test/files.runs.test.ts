// Files through runs: a `weft-file` run input validated at runWorkflow, a real sandboxed script
// reading it from /job/input and writing /job/output, the files stored as attachments
// (Run.attachments, StepRun.attachments, ATTACHMENT_CREATED events, downloads), per loop item too;
// on the local store and on S3 (s3rver on loopback).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import { startServedTestApp, type TestApp } from './helpers/app.ts';
import { createTenant } from './helpers/auth.ts';
import { startLoopbackServer } from './helpers/http-server.ts';
import { startS3 } from './helpers/s3.ts';
import { filesEnv, putUpload } from './helpers/files.ts';
import { createWorkflow, eventsOf, startRun, waitForRun } from './helpers/runs.ts';
import { ofType } from './helpers/typename.ts';

const inputSchema = {
  type: 'object',
  properties: { doc: { type: 'string', format: 'weft-file' }, names: { type: 'array', items: { type: 'string' } } },
  required: ['doc'],
};
const RUN = graphql(`
  query FilesRunsRun($id: ID!) {
    node(id: $id) {
      __typename
      ... on Run {
        status
        error
        attachments(first: 20) {
          totalCount
          edges {
            node {
              filename
              size
              contentType
              kind
              stepId
              iteration
              downloadUrl
              uploader {
                kind
              }
            }
          }
        }
        stepRuns {
          stepId
          iteration
          status
          output
          attachments(first: 20) {
            totalCount
            edges {
              node {
                filename
              }
            }
          }
        }
      }
    }
  }
`);

/** A file a step declared in its output (`{ "$file": … }`), before and after it is stored. */
interface FileExportOutput {
  json: { report: { $file: { downloadUrl?: string } } };
}

describe.each(['local', 's3'] as const)('files through runs (%s store)', (storeKind) => {
  let t: TestApp & { base: string };
  let doc: { id: string };
  let s3: Awaited<ReturnType<typeof startS3>> | undefined;

  beforeAll(async () => {
    if (storeKind === 's3') s3 = await startS3();
    t = await startServedTestApp(filesEnv({ WEFT_SCRIPTS_ENABLED: 'true', ...(s3?.env ?? {}) }));
    expect(t.app.files.store.kind).toBe(storeKind);
    doc = (await putUpload(t.base, t.authHeaders, 'name,qty\napple,3\npear,5\n', { filename: 'data.csv' }, 'text/csv'))
      .body.upload;
  });
  afterAll(async () => {
    await t?.close();
    await s3?.close();
  });

  async function runMutation(workflowId: string, input: unknown, headers?: Record<string, string>) {
    const res = await t.gql(
      graphql(`
        mutation FilesRunsRunWorkflow($input: RunWorkflowInput!) {
          runWorkflow(input: $input) {
            __typename
            ... on ValidationError {
              problems {
                path
                message
              }
            }
            ... on RunPayload {
              run {
                id
              }
            }
          }
        }
      `),
      { input: { workflowId, input } },
      headers,
    );
    expect(res.errors).toBeUndefined();
    return res.data!.runWorkflow;
  }

  async function runOf(runId: string) {
    const res = await t.gql(RUN, { id: runId });
    expect(res.errors).toBeUndefined();
    return ofType(res.data?.node, 'Run');
  }

  it('refuses a weft-file input that names no file of the workspace', async () => {
    const wf = await createWorkflow(t, {
      inputSchema,
      steps: [{ id: 'a', type: 'condition', config: { expression: 'true' } }],
    });
    const malformed = await runMutation(wf, { doc: 'not-an-id' });
    expect(malformed.__typename).toBe('ValidationError');
    expect(ofType(malformed, 'ValidationError').problems[0]?.path).toEqual(['input', 'input', 'doc']);
    const unknown = await runMutation(wf, { doc: '0190a1b2-0000-7000-8000-000000000000' });
    expect(unknown).toMatchObject({
      __typename: 'ValidationError',
      problems: [{ path: ['input', 'input', 'doc'], message: expect.stringContaining('no file') }],
    });
    // Another workspace's file is as absent as a file that does not exist.
    const other = await createTenant(t, `files-runs-other-${storeKind}`);
    const theirs = (await putUpload(t.base, other.headers, 'theirs', { filename: 'theirs.txt' })).body.upload;
    const crossed = await runMutation(wf, { doc: theirs.id });
    expect(crossed).toMatchObject({ __typename: 'ValidationError', problems: [{ path: ['input', 'input', 'doc'] }] });
    expect((await runMutation(wf, { doc: doc.id })).__typename).toBe('RunPayload');
  });

  it('a file goes through a real script step into attachments', async () => {
    const source = [
      'set -e',
      'ls input',
      'grep -c , input/data.csv > output/count.txt',
      'tr a-z A-Z < input/data.csv > output/upper.csv',
      'ln -s /etc/passwd output/link',
      'echo \'{"ok":true}\'',
    ].join('\n');
    const wf = await createWorkflow(t, {
      inputSchema,
      steps: [{ id: 'convert', type: 'script', config: { language: 'shell', source, files: ['{{ input.doc }}'] } }],
    });
    const runId = await startRun(t, wf, { doc: doc.id });
    await waitForRun(t, runId, ['COMPLETED', 'FAILED'], 30_000);
    const run = await runOf(runId);
    expect(run.error).toBeNull();
    expect(run.status).toBe('COMPLETED');
    const files = run.attachments.edges.map((e) => e.node);
    expect(files.map((f) => f.filename)).toEqual(['count.txt', 'upper.csv']); // the symlink is not followed
    expect(files[1]).toMatchObject({
      kind: 'ATTACHMENT',
      stepId: 'convert',
      iteration: null,
      contentType: 'text/csv',
      uploader: { kind: 'system' },
    });
    expect(
      (run.stepRuns[0]!.output as { attachments: { filename: string }[] }).attachments.map((a) => a.filename),
    ).toEqual(['count.txt', 'upper.csv']);
    expect(run.stepRuns[0]!.attachments.totalCount).toBe(2);
    expect(await (await fetch(`${t.base}${files[1]!.downloadUrl}`, { headers: t.authHeaders })).text()).toBe(
      'NAME,QTY\nAPPLE,3\nPEAR,5\n',
    );
    expect(await (await fetch(`${t.base}${files[0]!.downloadUrl}`, { headers: t.authHeaders })).text()).toBe('3\n');
    const events = await eventsOf(t, runId);
    const attached = events.filter((e) => e.type === 'ATTACHMENT_CREATED');
    expect(
      attached.map((e) => [e.stepId, (e.data as { attachment: { filename: string } }).attachment.filename]),
    ).toEqual([
      ['convert', 'count.txt'],
      ['convert', 'upper.csv'],
    ]);
    // The attachment events come before the step's completion.
    const types = events.map((e) => e.type);
    expect(types.indexOf('ATTACHMENT_CREATED')).toBeLessThan(types.indexOf('STEP_COMPLETED'));
  });

  it('each loop item leaves its own attachment, recorded with its iteration', async () => {
    const wf = await createWorkflow(t, {
      inputSchema,
      steps: [
        {
          id: 'each',
          type: 'loop',
          config: {
            items: 'input.names',
            step: {
              type: 'script',
              config: { language: 'shell', source: 'echo "{{ item }}" > "output/report-{{ item }}.txt"' },
            },
          },
        },
      ],
    });
    const runId = await startRun(t, wf, { doc: doc.id, names: ['north', 'south', 'east'] });
    await waitForRun(t, runId, ['COMPLETED', 'FAILED'], 30_000);
    const run = await runOf(runId);
    expect(run.status).toBe('COMPLETED');
    const files = run.attachments.edges.map((e) => e.node).sort((a, b) => a.iteration! - b.iteration!);
    expect(files.map((f) => [f.iteration, f.filename])).toEqual([
      [0, 'report-north.txt'],
      [1, 'report-south.txt'],
      [2, 'report-east.txt'],
    ]);
    // The loop step's attachments are its iterations'.
    const loop = run.stepRuns.find((s) => s.stepId === 'each');
    expect(loop?.attachments.totalCount).toBe(3);
  });

  it('http_request sends a file as the body and as a form, and saves a response as an attachment', async () => {
    const server = await startLoopbackServer((req, res) => {
      if (req.path === '/report') {
        res.writeHead(200, { 'content-type': 'application/pdf' });
        res.end('%PDF-1.4 fake report');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ got: req.body.length }));
    });
    try {
      const wf = await createWorkflow(t, {
        inputSchema,
        steps: [
          {
            id: 'raw',
            type: 'http_request',
            config: { method: 'PUT', url: `${server.url}/raw`, bodyFile: '{{ input.doc }}' },
          },
          {
            id: 'form',
            type: 'http_request',
            config: {
              method: 'POST',
              url: `${server.url}/form`,
              form: { fields: { note: 'hi' }, files: { upload: '{{ input.doc }}' } },
            },
          },
          { id: 'fetch', type: 'http_request', config: { url: `${server.url}/report`, saveAs: 'report.pdf' } },
        ],
      });
      const runId = await startRun(t, wf, { doc: doc.id });
      await waitForRun(t, runId, ['COMPLETED', 'FAILED'], 30_000);
      const run = await runOf(runId);
      expect(run.error).toBeNull();
      const raw = server.requests.find((r) => r.path === '/raw')!;
      expect(raw.body).toBe('name,qty\napple,3\npear,5\n');
      expect(raw.headers['content-type']).toBe('text/csv');
      const form = server.requests.find((r) => r.path === '/form')!;
      expect(form.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
      expect(form.body).toContain('name="note"\r\n\r\nhi');
      expect(form.body).toContain('name="upload"; filename="data.csv"');
      expect(form.body).toContain('apple,3');
      const files = run.attachments.edges.map((e) => e.node);
      expect(files).toEqual([
        expect.objectContaining({ filename: 'report.pdf', contentType: 'application/pdf', stepId: 'fetch', size: 20 }),
      ]);
      const fetchStep = run.stepRuns.find((s) => s.stepId === 'fetch');
      expect(fetchStep?.output).toMatchObject({
        status: 200,
        body: null,
        attachment: { filename: 'report.pdf', size: 20 },
      });
      expect(await (await fetch(`${t.base}${files[0]!.downloadUrl}`, { headers: t.authHeaders })).text()).toBe(
        '%PDF-1.4 fake report',
      );
    } finally {
      await server.close();
    }
  });

  it('includesFileExports stores files a step declares in its output; without it they stay as they are', async () => {
    const source = `echo '{"report": {"$file": {"name": "hello.txt", "base64": "aGVsbG8=", "contentType": "text/plain"}}}'`;
    const steps = [{ id: 'make', type: 'script', config: { language: 'shell', source } }];
    const on = await createWorkflow(t, { inputSchema, steps }, { includesFileExports: true });
    const off = await createWorkflow(t, { inputSchema, steps });
    const exportOf = (run: Awaited<ReturnType<typeof runOf>>) =>
      (run.stepRuns[0]!.output as FileExportOutput).json.report.$file;
    const results: Awaited<ReturnType<typeof runOf>>[] = [];
    for (const wf of [on, off]) {
      const runId = await startRun(t, wf, { doc: doc.id });
      await waitForRun(t, runId, ['COMPLETED', 'FAILED'], 30_000);
      results.push(await runOf(runId));
    }
    expect(results[0]!.status).toBe('COMPLETED');
    expect(results[0]!.attachments.edges.map((e) => e.node.filename)).toEqual(['hello.txt']);
    expect(exportOf(results[0]!)).toMatchObject({
      filename: 'hello.txt',
      size: 5,
      contentType: 'text/plain',
    });
    const download = await fetch(`${t.base}${exportOf(results[0]!).downloadUrl}`, {
      headers: t.authHeaders,
    });
    expect(await download.text()).toBe('hello');
    expect(results[1]!.attachments.totalCount).toBe(0);
    expect(exportOf(results[1]!)).toEqual({
      name: 'hello.txt',
      base64: 'aGVsbG8=',
      contentType: 'text/plain',
    });
  });
});
