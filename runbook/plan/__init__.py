"""The plan: data -> ordered per-node actions and checks (pure), its cache, secrets and masking."""
