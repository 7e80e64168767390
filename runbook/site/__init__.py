"""The Spanish site: the MkDocs plugin and the blocks it renders from the plan."""
