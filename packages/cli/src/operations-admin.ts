// Documents of `weft schedules`, `weft keys` and `weft runs logs` (typed by codegen like ./operations.ts).
import { graphql } from './gql/gql.ts';

export const ScheduleFieldsFragment = graphql(`
  fragment WeftCliSchedule on Schedule {
    id
    name
    cronExpression
    timezone
    enabled
    nextRunAt
    lastRunAt
    workflow {
      id
      name
    }
  }
`);

export const WorkflowSchedulesDocument = graphql(`
  query WeftCliWorkflowSchedules($id: ID!) {
    workflow(id: $id) {
      schedules {
        ...WeftCliSchedule
      }
    }
  }
`);

export const SchedulesDocument = graphql(`
  query WeftCliSchedules($first: Int!) {
    workflows(first: $first) {
      totalCount
      edges {
        node {
          schedules {
            ...WeftCliSchedule
          }
        }
      }
    }
  }
`);

export const CreateScheduleDocument = graphql(`
  mutation WeftCliCreateSchedule($input: CreateScheduleInput!) {
    createSchedule(input: $input) {
      ... on SchedulePayload {
        schedule {
          ...WeftCliSchedule
        }
      }
      ...WeftCliFailure
    }
  }
`);

export const PauseScheduleDocument = graphql(`
  mutation WeftCliPauseSchedule($input: ScheduleIdInput!) {
    pauseSchedule(input: $input) {
      ... on SchedulePayload {
        schedule {
          ...WeftCliSchedule
        }
      }
      ...WeftCliFailure
    }
  }
`);

export const ResumeScheduleDocument = graphql(`
  mutation WeftCliResumeSchedule($input: ScheduleIdInput!) {
    resumeSchedule(input: $input) {
      ... on SchedulePayload {
        schedule {
          ...WeftCliSchedule
        }
      }
      ...WeftCliFailure
    }
  }
`);

export const CreateApiKeyDocument = graphql(`
  mutation WeftCliCreateApiKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      ... on CreateApiKeyPayload {
        key
        apiKey {
          id
          name
          prefix
          scopes
          expiresAt
        }
      }
      ...WeftCliFailure
    }
  }
`);

export const RevokeApiKeyDocument = graphql(`
  mutation WeftCliRevokeApiKey($input: RevokeApiKeyInput!) {
    revokeApiKey(input: $input) {
      ... on ApiKeyPayload {
        apiKey {
          id
          name
          revokedAt
        }
      }
      ...WeftCliFailure
    }
  }
`);

export const StepLogsDocument = graphql(`
  query WeftCliStepLogs($id: ID!) {
    run(id: $id) {
      id
      status
      stepRuns {
        stepId
        logs
        iterations {
          iteration
          logs
        }
      }
    }
  }
`);
