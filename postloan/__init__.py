"""The domain core of post-loan management: models, repositories and rules.

Nothing here imports Camunda or HTTP code; the API and the workers are adapters over it.
"""
