// Templates shipped with Weft. Their ids are fixed so links to them stay valid across
// installations and versions. Every definition is validated by a test.
export interface TemplateData {
  id: string;
  name: string;
  description: string;
  category: string;
  tags: string[];
  definition: Record<string, unknown>;
  isBuiltin: boolean;
  createdAt: Date;
}

const SHIPPED = new Date('2026-11-01T00:00:00.000Z');

export const BUILTIN_TEMPLATES: TemplateData[] = [
  {
    id: '00000000-0000-4000-8000-000000000001',
    name: 'Fetch and notify',
    description: 'Fetch JSON from an API and POST a signed summary to a webhook.',
    category: 'integration',
    tags: ['http', 'webhook'],
    isBuiltin: true,
    createdAt: SHIPPED,
    definition: {
      inputSchema: {
        type: 'object',
        required: ['sourceUrl', 'notifyUrl'],
        properties: { sourceUrl: { type: 'string', format: 'uri' }, notifyUrl: { type: 'string', format: 'uri' } },
      },
      steps: [
        {
          id: 'fetch',
          type: 'http_request',
          config: { url: '{{ input.sourceUrl }}' },
          retry: { attempts: 3, backoffSeconds: 2 },
        },
        {
          id: 'notify',
          type: 'webhook',
          dependsOn: ['fetch'],
          config: {
            url: '{{ input.notifyUrl }}',
            payload: { status: '{{ steps.fetch.output.status }}', data: '{{ steps.fetch.output.body }}' },
          },
          retry: { attempts: 5, backoffSeconds: 5 },
        },
      ],
    },
  },
  {
    id: '00000000-0000-4000-8000-000000000002',
    name: 'Paginated ETL',
    description:
      'List the pages of a source API, fetch each page with bounded concurrency, and load the rows into a destination endpoint.',
    category: 'data',
    tags: ['etl', 'loop'],
    isBuiltin: true,
    createdAt: SHIPPED,
    definition: {
      inputSchema: {
        type: 'object',
        required: ['baseUrl', 'pages', 'loadUrl'],
        properties: {
          baseUrl: { type: 'string' },
          pages: { type: 'integer', minimum: 1, maximum: 1000 },
          loadUrl: { type: 'string' },
        },
      },
      steps: [
        { id: 'plan', type: 'condition', config: { expression: '[1..input.pages]' } },
        {
          id: 'extract',
          type: 'loop',
          dependsOn: ['plan'],
          config: {
            items: 'steps.plan.output.result',
            concurrency: 4,
            maxItems: 1000,
            step: {
              type: 'http_request',
              config: { url: '{{ input.baseUrl }}', query: { page: '{{ item }}' } },
              retry: { attempts: 3, backoffSeconds: 1 },
            },
          },
        },
        {
          id: 'load',
          type: 'http_request',
          dependsOn: ['extract'],
          config: { method: 'POST', url: '{{ input.loadUrl }}', body: { rows: '{{ steps.extract.output.body }}' } },
        },
      ],
      output: { pages: '{{ $count(steps.extract.output) }}' },
    },
  },
  {
    id: '00000000-0000-4000-8000-000000000003',
    name: 'Approval gate',
    description: 'Ask for approval by webhook, pause until someone resumes the run, then carry on.',
    category: 'human-in-the-loop',
    tags: ['approval', 'wait'],
    isBuiltin: true,
    createdAt: SHIPPED,
    definition: {
      inputSchema: {
        type: 'object',
        required: ['approverWebhook', 'actionUrl'],
        properties: { approverWebhook: { type: 'string' }, actionUrl: { type: 'string' }, request: { type: 'object' } },
      },
      steps: [
        {
          id: 'ask',
          type: 'webhook',
          config: {
            url: '{{ input.approverWebhook }}',
            payload: {
              message: 'Approval needed: resume the run to continue',
              request: '{{ input.request }}',
              runId: '{{ run.id }}',
            },
          },
        },
        { id: 'approval', type: 'wait', dependsOn: ['ask'], config: { resume: true } },
        {
          id: 'act',
          type: 'http_request',
          dependsOn: ['approval'],
          config: { method: 'POST', url: '{{ input.actionUrl }}', body: '{{ input.request }}' },
        },
      ],
    },
  },
  {
    id: '00000000-0000-4000-8000-000000000004',
    name: 'Scheduled health check',
    description: 'Check an endpoint (meant for a cron schedule) and alert a webhook when it is down or slow to answer.',
    category: 'monitoring',
    tags: ['monitoring', 'schedule'],
    isBuiltin: true,
    createdAt: SHIPPED,
    definition: {
      inputSchema: {
        type: 'object',
        required: ['url', 'alertUrl'],
        properties: { url: { type: 'string' }, alertUrl: { type: 'string' } },
      },
      steps: [
        {
          id: 'probe',
          type: 'http_request',
          config: { url: '{{ input.url }}', expectedStatus: [200, 204, 301, 302, 500, 502, 503, 504] },
          timeoutSeconds: 10,
          retry: { attempts: 2, backoffSeconds: 5 },
        },
        {
          id: 'healthy',
          type: 'condition',
          dependsOn: ['probe'],
          config: { expression: 'steps.probe.output.status < 500' },
        },
        {
          id: 'alert',
          type: 'webhook',
          dependsOn: ['healthy'],
          when: '$not(steps.healthy.output.result)',
          config: {
            url: '{{ input.alertUrl }}',
            payload: { url: '{{ input.url }}', status: '{{ steps.probe.output.status }}' },
          },
        },
      ],
      output: { healthy: '{{ steps.healthy.output.result }}' },
    },
  },
  {
    id: '00000000-0000-4000-8000-000000000005',
    name: 'Agent summary',
    description: 'Fetch a document and have an AI agent summarise it; the summary is the run output.',
    category: 'ai',
    tags: ['agent', 'summary'],
    isBuiltin: true,
    createdAt: SHIPPED,
    definition: {
      inputSchema: {
        type: 'object',
        required: ['url'],
        properties: { url: { type: 'string' }, audience: { type: 'string', default: 'an engineer' } },
      },
      steps: [
        { id: 'fetch', type: 'http_request', config: { url: '{{ input.url }}', responseType: 'text' } },
        {
          id: 'summarize',
          type: 'agent_task',
          dependsOn: ['fetch'],
          config: {
            goal: 'Summarize this document in five bullet points for {{ input.audience }}.',
            context: '{{ steps.fetch.output.body }}',
          },
          retry: { attempts: 3, backoffSeconds: 5 },
        },
      ],
      output: { summary: '{{ steps.summarize.output.answer }}' },
    },
  },
  {
    id: '00000000-0000-4000-8000-000000000006',
    name: 'Approval',
    description:
      'Ask a person to approve with a link: post the link to a webhook (your e-mail or chat integration), wait for their yes or no until a deadline, and branch on the answer or the timeout. Unlike the Approval gate, the approver needs no API key.',
    category: 'human-in-the-loop',
    tags: ['approval', 'wait', 'event'],
    isBuiltin: true,
    createdAt: SHIPPED,
    definition: {
      inputSchema: {
        type: 'object',
        required: ['notifyUrl', 'subject'],
        properties: {
          notifyUrl: { type: 'string', format: 'uri' },
          subject: { type: 'string' },
          timeoutSeconds: { type: 'number', minimum: 1, default: 86400 },
        },
      },
      steps: [
        // The wait's token URL exists from the start of the run: the request carries it to the approver (an e-mail service, a chat hook).
        {
          id: 'request',
          type: 'webhook',
          config: {
            url: '{{ input.notifyUrl }}',
            payload: {
              subject: '{{ input.subject }}',
              approveUrl: '{{ steps.approval.signal.url }}',
              howTo: 'POST {"approved": true} or {"approved": false, "reason": "…"} to approveUrl',
            },
          },
        },
        {
          id: 'approval',
          type: 'wait',
          dependsOn: ['request'],
          config: {
            event: 'approval',
            timeoutSeconds: '{{ $exists(input.timeoutSeconds) ? input.timeoutSeconds : 86400 }}',
            onTimeout: { branch: 'expired' },
          },
        },
        {
          id: 'decide',
          type: 'condition',
          dependsOn: ['approval'],
          config: { expression: 'steps.approval.output.event.payload.approved = true' },
        },
        {
          id: 'expired',
          type: 'condition',
          dependsOn: ['approval'],
          config: { expression: '"no answer before the deadline"' },
        },
      ],
      output: {
        approved: '{{ steps.decide.output.result = true }}',
        answer: '{{ steps.approval.output.event.payload }}',
        timedOut: '{{ steps.approval.output.timedOut }}',
      },
    },
  },
];
