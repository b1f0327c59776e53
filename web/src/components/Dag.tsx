// A workflow's DAG drawn from its definition: dagre lays it out (loaded on first use, so pages
// without a graph do not pay for it), SVG draws it. Nodes take their step's status colour and
// can be selected with the mouse or the keyboard.
import { memo, useEffect, useMemo, useState, type KeyboardEvent } from 'react';

export interface DagStep {
  id: string;
  type: string;
  name?: string;
  dependsOn?: string[];
}

export interface NodeState {
  status: string;
  /** A second line under the status, e.g. a loop's progress "3/10". */
  note?: string;
}

interface Layout {
  width: number;
  height: number;
  nodes: { id: string; x: number; y: number }[];
  edges: { from: string; to: string; points: { x: number; y: number }[] }[];
}

const NODE_W = 184;
const NODE_H = 58;

/** The steps of a definition (JSON), tolerating anything malformed: a bad definition draws nothing rather than crashing the page. */
export function stepsOf(definition: unknown): DagStep[] {
  const steps = (definition as { steps?: unknown } | null)?.steps;
  if (!Array.isArray(steps)) return [];
  return steps
    .filter(
      (s): s is Record<string, unknown> =>
        typeof s === 'object' && s !== null && typeof (s as { id?: unknown }).id === 'string',
    )
    .map((s) => ({
      id: s.id as string,
      type: typeof s.type === 'string' ? s.type : '?',
      name: typeof s.name === 'string' ? s.name : undefined,
      dependsOn: Array.isArray(s.dependsOn) ? s.dependsOn.filter((d): d is string => typeof d === 'string') : [],
    }));
}

// dagre is downloaded as soon as a page with a graph loads (this module is part of its code), in
// parallel with that page's query rather than after it.
const dagreModule = import('@dagrejs/dagre');

async function layout(steps: DagStep[]): Promise<Layout> {
  const { default: dagre } = await dagreModule;
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 56, marginx: 12, marginy: 12 });
  graph.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(steps.map((s) => s.id));
  for (const step of steps) graph.setNode(step.id, { width: NODE_W, height: NODE_H });
  for (const step of steps) for (const dep of step.dependsOn ?? []) if (ids.has(dep)) graph.setEdge(dep, step.id);
  dagre.layout(graph);
  const g = graph.graph();
  return {
    width: g.width ?? 0,
    height: g.height ?? 0,
    nodes: graph.nodes().map((id) => ({ id, x: graph.node(id).x, y: graph.node(id).y })),
    edges: graph.edges().map((e) => ({ from: e.v, to: e.w, points: graph.edge(e).points ?? [] })),
  };
}

// Memoised: the run page re-renders for every batch of events, the graph only when its data changes.
export const Dag = memo(function Dag({
  steps,
  states,
  selected,
  onSelect,
  label,
}: {
  steps: DagStep[];
  states?: Map<string, NodeState>;
  selected?: string | null;
  onSelect?: (stepId: string) => void;
  label: string;
}) {
  const key = useMemo(() => JSON.stringify(steps.map((s) => [s.id, s.dependsOn])), [steps]);
  const [drawn, setDrawn] = useState<Layout | null>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: laid out again only when the graph's shape (`key`) changes, not on every new `steps` array.
  useEffect(() => {
    let cancelled = false;
    void layout(steps).then((result) => !cancelled && setDrawn(result));
    return () => {
      cancelled = true;
    };
  }, [key]);

  if (!steps.length) return <p className="empty">This definition has no steps to draw.</p>;
  if (!drawn) return <div className="dag dag-loading" aria-busy="true" />;
  const byId = new Map(steps.map((s) => [s.id, s]));
  const onKey = (id: string) => (event: KeyboardEvent) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      onSelect?.(id);
    }
  };

  return (
    <div className="dag">
      <svg
        role="group"
        aria-label={label}
        width={drawn.width}
        height={drawn.height}
        viewBox={`0 0 ${drawn.width} ${drawn.height}`}
      >
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="7"
            markerHeight="7"
            orient="auto-start-reverse"
          >
            <path d="M 0 0 L 10 5 L 0 10 z" className="dag-arrow" />
          </marker>
        </defs>
        {drawn.edges.map((edge) => (
          <path
            key={`${edge.from}->${edge.to}`}
            className="dag-edge"
            markerEnd="url(#arrow)"
            d={edge.points.map((p, i) => `${i ? 'L' : 'M'} ${p.x} ${p.y}`).join(' ')}
          />
        ))}
        {drawn.nodes.map((node) => {
          const step = byId.get(node.id)!;
          const state = states?.get(node.id);
          const status = state?.status ?? 'DEFINED';
          return (
            // biome-ignore lint/a11y/noStaticElementInteractions: the role is set below (button when selectable, img otherwise).
            // biome-ignore lint/a11y/useAriaPropsSupportedByRole: aria-pressed is only set with role="button".
            <g
              key={node.id}
              className={`dag-node status-${status.toLowerCase()}${selected === node.id ? ' selected' : ''}`}
              transform={`translate(${node.x - NODE_W / 2}, ${node.y - NODE_H / 2})`}
              role={onSelect ? 'button' : 'img'}
              tabIndex={onSelect ? 0 : undefined}
              aria-label={`Step ${node.id}${state ? `: ${status}` : ''}`}
              aria-pressed={onSelect ? selected === node.id : undefined}
              data-step={node.id}
              data-status={status}
              onClick={onSelect ? () => onSelect(node.id) : undefined}
              onKeyDown={onSelect ? onKey(node.id) : undefined}
            >
              <rect width={NODE_W} height={NODE_H} rx="8" />
              <text x="12" y="22" className="dag-title">
                {truncate(step.name ?? step.id, 22)}
              </text>
              <text x="12" y="42" className="dag-sub">
                {step.type}
                {state ? ` · ${status}` : ''}
                {state?.note ? ` · ${state.note}` : ''}
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
});

function truncate(text: string, max: number) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
