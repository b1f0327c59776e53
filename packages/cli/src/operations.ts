// Every document the CLI sends; typed by `npm run codegen` (./gql/, not committed).
import { graphql } from './gql/gql.ts';

/** What every mutation selects of its typed errors: the code and message, and a validation error's problems (with the step they concern, for definitions). */
export const FailureFragment = graphql(`
  fragment WeftCliFailure on Error {
    code
    message
    ... on ValidationError {
      problems {
        path
        message
        stepId
      }
    }
  }
`);

export const ViewerDocument = graphql(`
  query WeftCliViewer {
    viewer {
      kind
      role
      permissions
      apiKey {
        id
        name
        prefix
      }
      user {
        id
        subject
        email
        name
      }
      workspace {
        id
        name
      }
    }
  }
`);

export const WorkflowsDocument = graphql(`
  query WeftCliWorkflows($first: Int, $after: String, $filter: WorkflowFilter) {
    workflows(first: $first, after: $after, filter: $filter) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          name
          description
          status
          triggerType
          latestVersion
          runsCount
          lastRunAt
          lastRunStatus
          updatedAt
        }
      }
    }
  }
`);

export const WorkflowDocument = graphql(`
  query WeftCliWorkflow($id: ID!) {
    workflow(id: $id) {
      id
      name
      description
      status
      triggerType
      latestVersion
      runsCount
      lastRunAt
      lastRunStatus
      createdAt
      updatedAt
      definition
      inputSchema
      tags {
        name
      }
      webhookUrl
      webhooksEnabled
      commandAllowlist
      maxConcurrentRuns
      metadata
      concurrency {
        key
        limit
        strategy
      }
      postRunChecks {
        name
        expression
      }
    }
  }
`);

export const CreateWorkflowDocument = graphql(`
  mutation WeftCliCreateWorkflow($input: CreateWorkflowInput!) {
    createWorkflow(input: $input) {
      ... on CreateWorkflowPayload {
        workflow {
          id
          name
          latestVersion
        }
      }
      ...WeftCliFailure
    }
  }
`);

export const UpdateWorkflowDocument = graphql(`
  mutation WeftCliUpdateWorkflow($input: UpdateWorkflowInput!) {
    updateWorkflow(input: $input) {
      ... on WorkflowPayload {
        workflow {
          id
          name
          latestVersion
        }
      }
      ...WeftCliFailure
    }
  }
`);

export const PatchWorkflowDocument = graphql(`
  mutation WeftCliPatchWorkflow($input: PatchWorkflowInput!) {
    patchWorkflow(input: $input) {
      ... on WorkflowPayload {
        workflow {
          id
          name
          latestVersion
        }
      }
      ...WeftCliFailure
    }
  }
`);

export const RunWorkflowDocument = graphql(`
  mutation WeftCliRunWorkflow($input: RunWorkflowInput!) {
    runWorkflow(input: $input) {
      ... on RunPayload {
        run {
          id
          status
          versionNumber
          createdAt
          workflow {
            id
            name
          }
        }
      }
      ...WeftCliFailure
    }
  }
`);

export const RunsDocument = graphql(`
  query WeftCliRuns($first: Int, $filter: RunFilter) {
    runs(first: $first, filter: $filter) {
      totalCount
      edges {
        node {
          id
          status
          trigger
          versionNumber
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
    }
  }
`);

export const RunDocument = graphql(`
  query WeftCliRun($id: ID!) {
    run(id: $id) {
      id
      status
      trigger
      versionNumber
      input
      output
      error
      createdAt
      startedAt
      finishedAt
      durationMs
      workflow {
        id
        name
      }
      stepRuns {
        stepId
        type
        status
        attempt
        durationMs
        error
      }
    }
  }
`);

export const RunOutcomeDocument = graphql(`
  query WeftCliRunOutcome($id: ID!) {
    run(id: $id) {
      id
      status
      durationMs
      error
      output
    }
  }
`);

export const CancelRunDocument = graphql(`
  mutation WeftCliCancelRun($input: RunIdInput!) {
    cancelRun(input: $input) {
      ... on RunPayload {
        run {
          id
          status
        }
      }
      ...WeftCliFailure
    }
  }
`);

export const ResumeRunDocument = graphql(`
  mutation WeftCliResumeRun($input: ResumeRunInput!) {
    resumeRun(input: $input) {
      ... on RunPayload {
        run {
          id
          status
        }
      }
      ...WeftCliFailure
    }
  }
`);

export const RetryRunDocument = graphql(`
  mutation WeftCliRetryRun($input: RetryRunInput!) {
    retryRun(input: $input) {
      ... on RunPayload {
        run {
          id
          status
        }
      }
      ...WeftCliFailure
    }
  }
`);

export const RunLastSeqDocument = graphql(`
  query WeftCliRunLastSeq($id: ID!) {
    run(id: $id) {
      id
      events(last: 1) {
        edges {
          node {
            seq
          }
        }
      }
    }
  }
`);
