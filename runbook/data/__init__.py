"""Reading the site data: strict YAML, the pydantic models, their one-line Spanish errors."""
