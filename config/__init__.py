"""Settings and static configuration (identities, worker topics) of the post-loan system."""
