import type { PrismaClient } from '../db/client.ts';

/**
 * The workspace every request uses until authentication lands. Created on first start;
 * the slug is unique, so two instances starting together end up with the same one.
 */
export async function ensureDefaultWorkspace(prisma: PrismaClient): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      const workspace = await prisma.workspace.upsert({
        where: { slug: 'default' },
        create: { name: 'Default workspace', slug: 'default', isDefault: true },
        update: {},
      });
      return workspace.id;
    } catch (error) {
      // Two concurrent upserts can both try the insert; the loser sees a unique violation.
      if (attempt >= 2 || (error as { code?: string }).code !== 'P2002') throw error;
    }
  }
}
