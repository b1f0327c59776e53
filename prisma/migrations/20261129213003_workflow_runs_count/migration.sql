-- AlterTable
ALTER TABLE "Workflow" ADD COLUMN     "runsCount" INTEGER NOT NULL DEFAULT 0;

-- Workflow."runsCount" is maintained here, in the database, so that every way a run is created
-- or deleted (engine, retries, schedules, webhooks, retention, cascades, tests) keeps it right,
-- and a workflow list reads one integer instead of counting the history. The row lock it takes
-- on the workflow lasts to the end of the inserting transaction, which run creation keeps short.
CREATE FUNCTION "weft_workflow_runs_count"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW."workflowId" IS NOT NULL AND NOT NEW."isPreview" THEN
      UPDATE "Workflow" SET "runsCount" = "runsCount" + 1 WHERE id = NEW."workflowId";
    END IF;
    RETURN NEW;
  END IF;
  IF OLD."workflowId" IS NOT NULL AND NOT OLD."isPreview" THEN
    UPDATE "Workflow" SET "runsCount" = "runsCount" - 1 WHERE id = OLD."workflowId";
  END IF;
  RETURN OLD;
END
$$;

CREATE TRIGGER "Run_runsCount" AFTER INSERT OR DELETE ON "Run"
  FOR EACH ROW EXECUTE FUNCTION "weft_workflow_runs_count"();

-- Existing runs.
UPDATE "Workflow" w SET "runsCount" = c.n
FROM (SELECT "workflowId", count(*)::int AS n FROM "Run" WHERE "workflowId" IS NOT NULL AND NOT "isPreview" GROUP BY "workflowId") c
WHERE c."workflowId" = w.id;
