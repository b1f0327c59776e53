// Post-run checks as in the seed: run_attachment_exists in exact / regex / loop modes with
// expected counts (numbers and references), check_prompt judged by a model on a loopback
// OpenAI-compatible server (a verdict, a failing verdict, a malformed reply), reconciliation by
// id on save, order, and the results on the run and in its RUN_CHECKS events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import type { PostRunCheckInput } from './generated/graphql.ts';
import { startServedTestApp, type TestApp } from './helpers/app.ts';
import { filesEnv } from './helpers/files.ts';
import { startLoopbackServer, type LoopbackServer } from './helpers/http-server.ts';
import { judgeLeftoverChecks } from '../src/checks/judge.ts';
import { createWorkflow, eventsOf, rawId, startRun, waitForRun } from './helpers/runs.ts';
import { stepEnvFrom } from './helpers/step-env.ts';
import { ofType } from './helpers/typename.ts';
import { until } from './helpers/wait.ts';

/** A script loop writing one file per region, plus a summary: the attachments the checks look at. */
const definition = {
  inputSchema: {
    type: 'object',
    properties: { regions: { type: 'array', items: { type: 'string' } }, expected: { type: 'integer' } },
  },
  steps: [
    {
      id: 'each',
      type: 'loop',
      config: {
        items: 'input.regions',
        step: {
          type: 'script',
          config: { language: 'shell', source: 'echo "{{ item }}" > "output/report-{{ item }}.csv"' },
        },
      },
    },
    {
      id: 'summary',
      type: 'script',
      dependsOn: ['each'],
      config: { language: 'shell', source: 'echo done > output/summary.txt; echo \'{"count": 2}\'' },
    },
  ],
  output: { count: '{{ steps.summary.output.json.count }}' },
};

/** One entry of Run.checks (JSON), as far as these tests read it. */
interface CheckResult {
  id: string;
  name: string;
  status: 'PASSED' | 'FAILED' | 'PENDING';
  reason?: string;
  matched?: string[];
  missing?: string[];
}

const SAVE_CHECKS = graphql(`
  mutation PostRunSaveChecks($input: PatchWorkflowInput!) {
    patchWorkflow(input: $input) {
      __typename
      ... on WorkflowPayload {
        workflow {
          postRunChecks {
            id
            name
            type
            order
            fileTargetMode
            fileNames
            fileNameRegex
            expectedMatchCount
            expectedMatchCountRef
            loopInput
            loopItemFilenameTemplate
            checkPrompt
            model
            createdAt
            updatedAt
          }
        }
      }
      ... on ValidationError {
        problems {
          path
          message
        }
      }
    }
  }
`);

describe('post-run checks', () => {
  let t: TestApp & { base: string };
  let model: LoopbackServer;

  beforeAll(async () => {
    model = await startLoopbackServer((req, res) => {
      const prompt = JSON.parse(req.body).messages.at(-1).content as string;
      const content = prompt.includes('Check "tone"')
        ? '{"verdict": "pass", "reason": "The summary reads fine."}'
        : prompt.includes('Check "strict"')
          ? '{"verdict": "fail", "reason": "Only two regions were reported."}'
          : 'Sure! It looks great to me.';
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          model: 'judge-1',
          choices: [{ message: { role: 'assistant', content }, finish_reason: 'stop' }],
        }),
      );
    });
    t = await startServedTestApp(
      filesEnv({ WEFT_SCRIPTS_ENABLED: 'true', WEFT_AGENT_BASE_URL: model.url, WEFT_AGENT_MODEL: 'judge-1' }),
    );
  });
  afterAll(async () => {
    await t?.close();
    await model?.close();
  });

  async function saveChecks(workflowId: string, postRunChecks: PostRunCheckInput[]) {
    const res = await t.gql(SAVE_CHECKS, { input: { id: workflowId, postRunChecks } });
    expect(res.errors).toBeUndefined();
    return res.data!.patchWorkflow;
  }

  it('refuses incomplete checks with the path of each problem', async () => {
    const wf = await createWorkflow(t, definition);
    const result = await saveChecks(wf, [
      { name: 'no names', type: 'RUN_ATTACHMENT_EXISTS', fileTargetMode: 'EXACT' },
      { name: 'bad regex', type: 'RUN_ATTACHMENT_EXISTS', fileTargetMode: 'REGEX', fileNameRegex: '(' },
      { name: 'loop', type: 'RUN_ATTACHMENT_EXISTS', fileTargetMode: 'LOOP', loopInput: 'regions' },
      {
        name: 'both',
        type: 'RUN_ATTACHMENT_EXISTS',
        fileNames: ['a'],
        expectedMatchCount: 1,
        expectedMatchCountRef: 'input.x',
      },
      { name: 'prompt', type: 'CHECK_PROMPT' },
    ]);
    expect(result.__typename).toBe('ValidationError');
    expect(ofType(result, 'ValidationError').problems.map((p) => p.path.join('.'))).toEqual([
      'input.postRunChecks.0.fileNames',
      'input.postRunChecks.1.fileNameRegex',
      'input.postRunChecks.2.loopInput',
      'input.postRunChecks.2.loopItemFilenameTemplate',
      'input.postRunChecks.3.expectedMatchCountRef',
      'input.postRunChecks.4.checkPrompt',
    ]);
  });

  it('reconciles checks by id on save and keeps their order', async () => {
    const wf = await createWorkflow(t, definition);
    const first = ofType(
      await saveChecks(wf, [
        { name: 'a', expression: 'true' },
        { name: 'b', expression: 'true' },
      ]),
      'WorkflowPayload',
    );
    const a = first.workflow.postRunChecks[0]!;
    const b = first.workflow.postRunChecks[1]!;
    const second = await saveChecks(wf, [
      { id: b.id, name: 'b renamed', expression: 'false' },
      { name: 'c', type: 'RUN_ATTACHMENT_EXISTS', fileNames: ['x.txt'] },
    ]);
    const checks = ofType(second, 'WorkflowPayload').workflow.postRunChecks;
    expect(checks.map((c) => [c.name, c.order, c.type])).toEqual([
      ['b renamed', 0, 'EXPRESSION'],
      ['c', 1, 'RUN_ATTACHMENT_EXISTS'],
    ]);
    expect(checks[0]!.id).toBe(b.id);
    expect(checks[0]!.createdAt).toBe(b.createdAt);
    expect(checks.map((c) => c.id)).not.toContain(a.id);
    expect(checks[1]).toMatchObject({ fileTargetMode: 'EXACT', fileNames: ['x.txt'] });
  });

  it('evaluates attachment checks (exact, regex over loop outputs, loop templates, counts and refs) and model-judged checks, in order', {
    timeout: 60_000,
  }, async () => {
    const wf = await createWorkflow(t, definition);
    const saved = await saveChecks(wf, [
      { name: 'summary exists', type: 'RUN_ATTACHMENT_EXISTS', fileTargetMode: 'EXACT', fileNames: ['summary.txt'] },
      { name: 'missing file', type: 'RUN_ATTACHMENT_EXISTS', fileNames: ['summary.txt', 'totals.xlsx'] },
      {
        name: 'reports by regex',
        type: 'RUN_ATTACHMENT_EXISTS',
        fileTargetMode: 'REGEX',
        fileNameRegex: '^report-.*\\.csv$',
        expectedMatchCount: 3,
      },
      {
        name: 'reports vs input',
        type: 'RUN_ATTACHMENT_EXISTS',
        fileTargetMode: 'REGEX',
        fileNameRegex: '^report-',
        expectedMatchCountRef: 'input.expected',
      },
      {
        name: 'reports vs output',
        type: 'RUN_ATTACHMENT_EXISTS',
        fileTargetMode: 'REGEX',
        fileNameRegex: '^report-',
        expectedMatchCountRef: 'output.count',
      },
      {
        name: 'one per region',
        type: 'RUN_ATTACHMENT_EXISTS',
        fileTargetMode: 'LOOP',
        loopInput: 'input.regions',
        loopItemFilenameTemplate: 'report-{{ item }}.csv',
      },
      {
        name: 'pdf per region',
        type: 'RUN_ATTACHMENT_EXISTS',
        fileTargetMode: 'LOOP',
        loopInput: 'input.regions',
        loopItemFilenameTemplate: 'report-{{ item }}.pdf',
      },
      { name: 'tone', type: 'CHECK_PROMPT', checkPrompt: 'Does the run look healthy?' },
      { name: 'strict', type: 'CHECK_PROMPT', checkPrompt: 'Were four regions reported?', model: 'judge-1' },
      { name: 'chatty', type: 'CHECK_PROMPT', checkPrompt: 'Anything?' },
      { name: 'expression', expression: 'output.count = 2' },
    ]);
    expect(saved.__typename).toBe('WorkflowPayload');
    const savedChecks = ofType(saved, 'WorkflowPayload').workflow.postRunChecks;
    const runId = await startRun(t, wf, { regions: ['north', 'south', 'east'], expected: 3 });
    await waitForRun(t, runId, ['COMPLETED', 'FAILED'], 30_000);
    const checks = await until('the model to judge', 20_000, async () => {
      const res = await t.gql(
        graphql(`
          query PostRunChecksOf($id: ID!) {
            node(id: $id) {
              __typename
              ... on Run {
                status
                checks
              }
            }
          }
        `),
        { id: runId },
      );
      expect(res.errors).toBeUndefined();
      const run = ofType(res.data?.node, 'Run');
      expect(run.status).toBe('COMPLETED');
      const results = run.checks as CheckResult[];
      return results.some((c) => c.status === 'PENDING') ? false : results;
    });
    const summary = checks.map((c) => [c.name, c.status]);
    expect(summary).toEqual([
      ['summary exists', 'PASSED'],
      ['missing file', 'FAILED'],
      ['reports by regex', 'PASSED'],
      ['reports vs input', 'PASSED'],
      ['reports vs output', 'FAILED'],
      ['one per region', 'PASSED'],
      ['pdf per region', 'FAILED'],
      ['tone', 'PASSED'],
      ['strict', 'FAILED'],
      ['chatty', 'FAILED'],
      ['expression', 'PASSED'],
    ]);
    const by = (name: string) => checks.find((c) => c.name === name)!;
    expect(by('missing file')).toMatchObject({ missing: ['totals.xlsx'], reason: 'missing: totals.xlsx' });
    expect(by('reports by regex')).toMatchObject({ found: 3, expected: 3 });
    expect([...by('reports by regex').matched!].sort()).toEqual([
      'report-east.csv',
      'report-north.csv',
      'report-south.csv',
    ]);
    expect(by('reports vs output')).toMatchObject({
      expected: 2,
      found: 3,
      reason: 'expected 2 matching attachments, found 3',
    });
    expect(by('pdf per region').missing).toEqual(['report-north.pdf', 'report-south.pdf', 'report-east.pdf']);
    expect(by('tone')).toMatchObject({
      verdict: 'pass',
      reason: 'The summary reads fine.',
      model: 'judge-1',
      passed: true,
    });
    expect(by('strict')).toMatchObject({ verdict: 'fail', reason: 'Only two regions were reported.', passed: false });
    expect(by('chatty').reason).toMatch(/^the model's reply is not JSON: "Sure! It looks great to me\."/);
    expect(checks.map((c) => c.id)).toEqual(savedChecks.map((c) => c.id));
    // The model saw the run, with its attachments.
    const asked = JSON.parse(model.requests.at(-1)!.body);
    expect(asked.messages[0].role).toBe('system');
    expect(asked.messages.at(-1).content).toContain('summary.txt');

    const events = (await eventsOf(t, runId))
      .filter((e) => e.type === 'RUN_CHECKS')
      .map((e) => e.data as unknown as { checks: CheckResult[] });
    expect(events).toHaveLength(2);
    expect(events[0]!.checks.filter((c) => c.status === 'PENDING').map((c) => c.name)).toEqual([
      'tone',
      'strict',
      'chatty',
    ]);
    expect(events[1]!.checks.map((c) => [c.name, c.status])).toEqual(summary);
  });

  it('judges at start the checks a stopped process left PENDING', async () => {
    const wf = await createWorkflow(t, { steps: [{ id: 'a', type: 'condition', config: { expression: 'true' } }] });
    const saved = await saveChecks(wf, [{ name: 'tone', type: 'CHECK_PROMPT', checkPrompt: 'Fine?' }]);
    const check = ofType(saved, 'WorkflowPayload').workflow.postRunChecks[0]!;
    const runId = await startRun(t, wf, {});
    await waitForRun(t, runId);
    await until(
      'the first judgement',
      10_000,
      async () =>
        ((await t.db.prisma.run.findUniqueOrThrow({ where: { id: rawId(runId) } })).checks as CheckResult[] | null)?.[0]
          ?.status === 'PASSED',
    );
    // As if the process had stopped before the model answered, an hour ago.
    await t.db.prisma.run.update({
      where: { id: rawId(runId) },
      data: {
        finishedAt: new Date(Date.now() - 3_600_000),
        checks: [{ id: check.id, name: 'tone', type: 'check_prompt', status: 'PENDING', passed: false }],
      },
    });
    const fresh = await startRun(t, wf, {});
    await waitForRun(t, fresh);
    const deps = {
      prisma: t.db.prisma,
      bus: t.app.bus,
      env: stepEnvFrom({ WEFT_AGENT_BASE_URL: model.url, WEFT_AGENT_MODEL: 'judge-1' }),
      agentsFor: () => ({ resolve: async () => null }),
    };
    expect(await judgeLeftoverChecks(deps)).toBe(1); // the recent run is left to its own process
    const run = await t.db.prisma.run.findUniqueOrThrow({ where: { id: rawId(runId) } });
    expect(run.checks).toEqual([expect.objectContaining({ id: check.id, status: 'PASSED', verdict: 'pass' })]);
    expect(await judgeLeftoverChecks(deps)).toBe(0);
  });
});
