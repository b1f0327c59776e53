SELECT "Run"."id", "Run"."status"::text, "Run"."createdAt", "Run"."workflowId" FROM "Run" WHERE ("Run"."isPreview" = $? AND "Run"."workflowId" IN ($?)) ORDER BY "Run"."createdAt" DESC OFFSET $?;

SELECT "Tag"."id", "Tag"."workspaceId", "Tag"."groupId", "Tag"."name", "Tag"."description", "Tag"."color", "Tag"."emoji", "Tag"."order", "Tag"."isArchived", "Tag"."createdAt", "Tag"."updatedAt" FROM "Tag" WHERE "Tag"."id" IN ($?) OFFSET $?;

SELECT "TagGroup"."id", "TagGroup"."workspaceId", "TagGroup"."name", "TagGroup"."description", "TagGroup"."color", "TagGroup"."emoji", "TagGroup"."order", "TagGroup"."createdAt", "TagGroup"."updatedAt" FROM "TagGroup" WHERE "TagGroup"."id" IN ($?) OFFSET $?;

SELECT "Workflow"."id", "Workflow"."workspaceId", "Workflow"."name", "Workflow"."description", "Workflow"."status"::text, "Workflow"."triggerType"::text, "Workflow"."latestVersion", "Workflow"."metadata", "Workflow"."webhooksEnabled", "Workflow"."webhookUrl", "Workflow"."webhookSecret", "Workflow"."inboundSecret", "Workflow"."commandAllowlist", "Workflow"."postRunChecks", "Workflow"."maxConcurrentRuns", "Workflow"."concurrency", "Workflow"."createdById", "Workflow"."createdAt", "Workflow"."updatedAt" FROM "Workflow" WHERE ("Workflow"."workspaceId" = $? AND ("Workflow"."name" ILIKE ('%' || $? || '%') OR "Workflow"."description" ILIKE ('%' || $? || '%'))) ORDER BY "Workflow"."name" ASC, "Workflow"."id" ASC LIMIT $? OFFSET $?;

SELECT "Workflow"."id", "Workflow"."workspaceId", "Workflow"."name", "Workflow"."description", "Workflow"."status"::text, "Workflow"."triggerType"::text, "Workflow"."latestVersion", "Workflow"."metadata", "Workflow"."webhooksEnabled", "Workflow"."webhookUrl", "Workflow"."webhookSecret", "Workflow"."inboundSecret", "Workflow"."commandAllowlist", "Workflow"."postRunChecks", "Workflow"."maxConcurrentRuns", "Workflow"."concurrency", "Workflow"."createdById", "Workflow"."createdAt", "Workflow"."updatedAt", COALESCE("aggr_selection_0_WorkflowVersion"."_aggr_count_versions", 0) AS "_aggr_count_versions" FROM "Workflow" LEFT JOIN (SELECT "WorkflowVersion"."workflowId", COUNT(*) AS "_aggr_count_versions" FROM "WorkflowVersion" WHERE 1=1 GROUP BY "WorkflowVersion"."workflowId") AS "aggr_selection_0_WorkflowVersion" ON ("Workflow"."id" = "aggr_selection_0_WorkflowVersion"."workflowId") WHERE (("Workflow"."id" = $? AND "Workflow"."workspaceId" = $?) OR …) OFFSET $?;

SELECT "WorkflowTag"."workflowId", "WorkflowTag"."tagId" FROM "WorkflowTag" WHERE "WorkflowTag"."workflowId" IN ($?) OFFSET $?;

SELECT "WorkflowVersion"."id", "WorkflowVersion"."workspaceId", "WorkflowVersion"."workflowId", "WorkflowVersion"."number", "WorkflowVersion"."definition", "WorkflowVersion"."changeSummary", "WorkflowVersion"."baseVersion", "WorkflowVersion"."createdById", "WorkflowVersion"."createdAt" FROM "WorkflowVersion" WHERE "WorkflowVersion"."workflowId" IN ($?) ORDER BY "WorkflowVersion"."number" DESC OFFSET $?;

SELECT "WorkflowVersion"."id", "WorkflowVersion"."workspaceId", "WorkflowVersion"."workflowId", "WorkflowVersion"."number", "WorkflowVersion"."definition", "WorkflowVersion"."changeSummary", "WorkflowVersion"."baseVersion", "WorkflowVersion"."createdById", "WorkflowVersion"."createdAt" FROM "WorkflowVersion" WHERE "WorkflowVersion"."workflowId" IN ($?) ORDER BY "WorkflowVersion"."number" DESC OFFSET $?;

SELECT COUNT(*) AS "_count$_all" FROM (SELECT "Workflow"."id" FROM "Workflow" WHERE ("Workflow"."workspaceId" = $? AND ("Workflow"."name" ILIKE ('%' || $? || '%') OR "Workflow"."description" ILIKE ('%' || $? || '%'))) OFFSET $?) AS "sub";

SELECT COUNT(*) AS "_count$_all", "Run"."workflowId" FROM "Run" WHERE ("Run"."workflowId" IN ($?) AND "Run"."isPreview" = $?) GROUP BY "Run"."workflowId" OFFSET $?;
