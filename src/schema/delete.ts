// The one shape of a delete mutation: `input: { id }` (DeleteInput) and a payload whose
// `deletedId` is the global ID of what was deleted. Payload types that existed before keep
// their name (clients select them in fragments) and their entity-named field, deprecated.
import { builder } from './builder.ts';

export const DeleteInput = builder.inputType('DeleteInput', {
  description: 'Identifies the object to delete.',
  fields: (t) => ({ id: t.id({ required: true, description: 'Global ID.' }) }),
});

export const DeletedPayload = deletePayload('DeletedPayload', 'An object was deleted.');

/** A delete payload named `name`: `deletedId`, and `legacyField` (the same value) deprecated. */
export function deletePayload(name: string, description: string, legacyField?: string) {
  return builder.objectRef<{ deletedId: string }>(name).implement({
    description,
    fields: (t) => ({
      deletedId: t.exposeID('deletedId', { description: 'Global ID of the deleted object.' }),
      ...(legacyField
        ? {
            [legacyField]: t.exposeID('deletedId', {
              description: 'Global ID of the deleted object.',
              deprecationReason: 'Use deletedId, which every delete payload has.',
            }),
          }
        : {}),
    }),
  });
}
