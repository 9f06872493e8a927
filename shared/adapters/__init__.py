"""Implementations of the domain's ports on AWS services (boto3, PynamoDB) and HTTP."""
