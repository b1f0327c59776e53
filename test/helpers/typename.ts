// Narrows a typed GraphQL union result (select `__typename`) to one member, failing the test
// with the whole value when the server answered with another member (an error type, say).
// Keeps typed documents free of `as any` where a mutation returns `Payload | Error types`.
export function ofType<T extends { __typename?: string }, N extends NonNullable<T['__typename']>>(
  value: T | null | undefined,
  typename: N,
): Extract<T, { __typename?: N }> {
  if (value?.__typename !== typename) throw new Error(`expected a ${typename}, got ${JSON.stringify(value)}`);
  return value as Extract<T, { __typename?: N }>;
}
