// The operations bench:api measures, and what the three servers share to answer them alike.
export const DASHBOARD = `query Dashboard { workflows(first: 50) { totalCount edges { node { id name status tags { name color } currentVersion { number } runsCount lastRunStatus lastRunAt } } pageInfo { hasNextPage hasPreviousPage } } }`;

export const RUN_PAGE = `query RunPage($id: ID!) { run(id: $id) { id status createdAt startedAt finishedAt workflow { id name } stepRuns { stepId type status attempt } events(last: 50) { edges { node { seq type stepId } } } } }`;

export const TYPENAME = `{ __typename }`;

/** Relay global IDs as Weft (Pothos) writes them: base64 of "<Type>:<id>". */
export const globalId = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');

export function parseGlobalId(value: string, type: string): string {
  const [kind, id] = Buffer.from(value, 'base64').toString().split(':');
  if (kind !== type || !id) throw new Error(`not a ${type} id`);
  return id;
}
