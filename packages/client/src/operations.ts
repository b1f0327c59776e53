// The documents the client itself sends. `npm run codegen` turns each graphql(`…`) call into a
// TypedDocumentNode in ./gql/ (generated, not committed), so their results are typed.
import { graphql } from './gql/gql.ts';

// runEventStream: the events, with one RunEventsCaughtUp between the replay and the live part.
export const RunEventsDocument = graphql(`
  subscription WeftClientRunEvents($runId: ID!, $after: String) {
    runEventStream(runId: $runId, after: $after) {
      __typename
      ... on RunEvent {
        id
        seq
        type
        stepId
        iteration
        data
        payload {
          __typename
          type
          ... on StepStartedPayload {
            attempt
          }
          ... on StepCompletedPayload {
            attempt
            durationMs
            output
          }
          ... on StepFailedPayload {
            attempt
            durationMs
            error {
              message
              name
            }
          }
          ... on StepRetryingPayload {
            attempt
            nextAttemptAt
            reason
            error {
              message
              name
            }
          }
          ... on StepLogPayload {
            lines
            live
          }
          ... on RunFinishedPayload {
            status
            output
            error {
              message
            }
          }
        }
        createdAt
      }
      ... on RunEventsCaughtUp {
        cursor
        seq
        runStatus
      }
    }
  }
`);

export const RunsFeedDocument = graphql(`
  subscription WeftClientRunsFeed($snapshot: Int, $filter: RunFeedFilter) {
    runsFeed(snapshot: $snapshot, filter: $filter) {
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
