"""The transactional outbox: engine calls, webhooks and notices written with the business change."""
