-- Files (#16). Upload.data was never written by any API (the model was unused): the bytes now live in the object store.
-- CreateEnum
CREATE TYPE "FileKind" AS ENUM ('UPLOAD', 'ATTACHMENT');

-- DropIndex
DROP INDEX "Upload_workflowId_createdAt_idx";

-- DropIndex
DROP INDEX "Upload_runId_idx";

-- DropIndex
DROP INDEX "Upload_workspaceId_idx";

-- AlterTable
ALTER TABLE "Workflow" ADD COLUMN     "includesFileExports" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "Upload" DROP COLUMN "data",
ADD COLUMN     "createdById" UUID,
ADD COLUMN     "createdByKind" TEXT NOT NULL DEFAULT 'system',
ADD COLUMN     "iteration" INTEGER,
ADD COLUMN     "kind" "FileKind" NOT NULL DEFAULT 'UPLOAD',
ADD COLUMN     "stepId" TEXT,
ALTER COLUMN "size" SET DATA TYPE BIGINT;

-- CreateIndex
CREATE INDEX "Upload_workflowId_createdAt_id_idx" ON "Upload"("workflowId", "createdAt", "id");

-- CreateIndex
CREATE INDEX "Upload_runId_createdAt_id_idx" ON "Upload"("runId", "createdAt", "id");

-- CreateIndex
CREATE INDEX "Upload_workspaceId_createdAt_id_idx" ON "Upload"("workspaceId", "createdAt", "id");

-- CreateIndex
CREATE INDEX "Upload_sha256_idx" ON "Upload"("sha256");
