SELECT "Tag"."id", "Tag"."workspaceId", "Tag"."groupId", "Tag"."name", "Tag"."description", "Tag"."color", "Tag"."emoji", "Tag"."order", "Tag"."isArchived", "Tag"."createdAt", "Tag"."updatedAt" FROM "Tag" WHERE "Tag"."id" IN ($?) OFFSET $?;

SELECT "TagGroup"."id", "TagGroup"."workspaceId", "TagGroup"."name", "TagGroup"."description", "TagGroup"."color", "TagGroup"."emoji", "TagGroup"."order", "TagGroup"."createdAt", "TagGroup"."updatedAt" FROM "TagGroup" WHERE "TagGroup"."id" IN ($?) OFFSET $?;

SELECT "Workflow"."id", "Workflow"."latestVersion", "Workflow"."name", "Workflow"."runsCount" FROM "Workflow" WHERE ("Workflow"."workspaceId" = $? AND ("Workflow"."name" ILIKE ('%' || $? || '%') OR "Workflow"."description" ILIKE ('%' || $? || '%'))) ORDER BY "Workflow"."name" ASC, "Workflow"."id" ASC LIMIT $? OFFSET $?;

SELECT "WorkflowTag"."workflowId", "WorkflowTag"."tagId" FROM "WorkflowTag" WHERE "WorkflowTag"."workflowId" IN ($?) OFFSET $?;

SELECT "WorkflowVersion"."id", "WorkflowVersion"."workflowId", "WorkflowVersion"."number" FROM "WorkflowVersion" WHERE ("WorkflowVersion"."workspaceId" = $? AND (("WorkflowVersion"."workflowId" = $? AND "WorkflowVersion"."number" = $?) OR …)) OFFSET $?;

SELECT "WorkflowVersion"."id", "WorkflowVersion"."workflowId", "WorkflowVersion"."number", "WorkflowVersion"."changeSummary" FROM "WorkflowVersion" WHERE ("WorkflowVersion"."workspaceId" = $? AND (("WorkflowVersion"."workflowId" = $? AND "WorkflowVersion"."number" >= $? AND "WorkflowVersion"."number" <= $?) OR …)) ORDER BY "WorkflowVersion"."number" DESC OFFSET $?;

SELECT COUNT(*) AS "_count$_all" FROM (SELECT "Workflow"."id" FROM "Workflow" WHERE ("Workflow"."workspaceId" = $? AND ("Workflow"."name" ILIKE ('%' || $? || '%') OR "Workflow"."description" ILIKE ('%' || $? || '%'))) OFFSET $?) AS "sub";

SELECT w.id AS "workflowId", r.status, r."createdAt" FROM unnest($?::uuid[]) AS w(id) CROSS JOIN LATERAL ( SELECT "status"::text AS status, "createdAt" FROM "Run" WHERE "workflowId" = w.id AND "workspaceId" = $?::uuid AND NOT "isPreview" ORDER BY "createdAt" DESC, id DESC LIMIT 1 ) r;
