// The first tab of a fresh playground: how to authenticate, and a query that runs as is.
export const WELCOME_QUERY = `# Welcome to the Weft GraphQL playground.
#
# Every request needs a credential. Open the
# Headers tab below and enter
#   {"Authorization": "Bearer weft_live_…"}
# Weft's first start printed an admin API key on
# the console and wrote it to .weft/admin-api-key
# (embedded database). Signed in to the monitor
# (/) in this tab? Then your key is already there;
# after changing it, ↻ (left) reloads the schema.
#
# Run this query (▶ or Ctrl-Enter): who am I?
query Me {
  viewer {
    kind
    role
    permissions
    workspace { id name }
  }
}

# Subscriptions use the same headers, e.g.
#   subscription { runsFeed { id status } }
`;

export const PLACEHOLDER_HEADERS = JSON.stringify({ Authorization: 'Bearer <your API key>' }, null, 2);
