// The Grafana dashboard shipped in docs/ must load against the metrics Weft exposes: every
// metric name its queries reference is declared by a running app's registry (a histogram's
// _bucket/_sum/_count series count as the histogram), and the JSON is a well-formed dashboard.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { declaredMetrics } from './helpers/metrics.ts';

const DASHBOARD = path.resolve(import.meta.dirname, '../docs/grafana/weft-dashboard.json');
const DOC = path.resolve(import.meta.dirname, '../docs/observability.md');

interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: { expr: string; refId: string }[];
}

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({});
});
afterAll(async () => {
  await t?.close();
});

function referencedMetrics(expr: string): string[] {
  return [...expr.matchAll(/\bweft_[a-z0-9_]+/g)].map((m) => m[0]);
}

describe('the Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    title: string;
    uid: string;
    panels: Panel[];
    templating: { list: { name: string; type: string }[] };
  };
  const queries = dashboard.panels.flatMap((p) => p.targets ?? []);

  it('is a dashboard Grafana can load: unique panel ids, a Prometheus data source variable, a refId per query', () => {
    expect(dashboard.uid).toBe('weft-overview');
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource' }),
    );
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      expect(new Set(panel.targets!.map((q) => q.refId)).size).toBe(panel.targets!.length);
    }
    const rows = dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title);
    expect(rows).toEqual(expect.arrayContaining(['Runs', 'Queue', 'Steps', 'API latency and errors']));
  });

  it('queries only metrics a Weft process exposes, and the docs list every exposed metric', async () => {
    const { body } = await t.app.metrics.text();
    const declared = declaredMetrics(body);
    const histograms = new Set([...body.matchAll(/^# TYPE (\S+) histogram$/gm)].map((m) => m[1]!));
    const referenced = new Set(queries.flatMap((q) => referencedMetrics(q.expr)));
    expect(referenced.size).toBeGreaterThan(15);
    for (const name of referenced) {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      const known = declared.has(name) || (base !== name && histograms.has(base));
      expect(known, `${name} is queried by the dashboard but not exposed`).toBe(true);
    }
    const doc = readFileSync(DOC, 'utf8');
    for (const name of declared) expect(doc, `${name} is exposed but not documented`).toContain(`\`${name}\``);
  });
});
