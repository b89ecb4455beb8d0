"""Publishing: connected accounts (OAuth 2), scheduled posts, the dispatcher that posts each exactly once, and one
publisher per platform. Everything here is hosting (studio/); pipelines and models know nothing of it."""
