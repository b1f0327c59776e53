// The documents the client itself sends. `npm run codegen` turns each graphql(`…`) call into a
// TypedDocumentNode in ./gql/ (generated, not committed), so their results are typed.
import { graphql } from './gql/gql.ts';

export const RunEventsDocument = graphql(`
  subscription WeftClientRunEvents($runId: ID!, $after: String) {
    runEvents(runId: $runId, after: $after) {
      id
      seq
      type
      stepId
      iteration
      data
      createdAt
    }
  }
`);

export const RunsFeedDocument = graphql(`
  subscription WeftClientRunsFeed {
    runsFeed {
      id
      status
      trigger
      isPreview
      createdAt
      startedAt
      finishedAt
      durationMs
      workflow {
        id
        name
      }
    }
  }
`);

export const RunStatusDocument = graphql(`
  query WeftClientRunStatus($id: ID!) {
    run(id: $id) {
      id
      status
    }
  }
`);
