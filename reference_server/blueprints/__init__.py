"""HTTP blueprints, one per area of the v1 contract."""
