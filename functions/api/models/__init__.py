"""The API's request and response models (pydantic): one per body, query and response, one module per context."""
