-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "traceParent" TEXT;
