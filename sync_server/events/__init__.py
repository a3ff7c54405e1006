"""Events: events, their days, ticket types, bundles and categories."""
