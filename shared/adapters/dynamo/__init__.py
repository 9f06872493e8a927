"""DynamoDB persistence, one module per aggregate; DynamoDB errors become domain errors here."""
