-- AlterTable
ALTER TABLE "Workflow" DROP COLUMN "inputSchema",
DROP COLUMN "outputSchema";

-- AlterTable
ALTER TABLE "Template" DROP COLUMN "inputSchema";
