"""Create the resources infra/template.yaml declares on a local AWS emulator (moto or LocalStack).

The deploy template is the one definition: this reads it, resolves the intrinsic functions the
local resources use (Ref, Fn::GetAtt, Fn::Sub) and creates buckets, queues and tables in
dependency order. It returns the function environment (the template's Globals) resolved.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import boto3
import yaml

from infra.local.localstack import aws_session

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"
_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The merge template as a dict (it uses only JSON-style intrinsics, no YAML tags)."""
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    return document


class Provisioner:
    """Creates each supported resource once, on first reference, and remembers its attributes.

    `aws` makes the S3, SQS and STS clients: boto3 itself (endpoints from AWS_ENDPOINT_URL*) or a
    localstack_client session.
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        stack_name: str,
        region: str = "us-east-1",
        aws: Any = boto3,
        parameters: Mapping[str, str] | None = None,
    ) -> None:
        self._resources: Mapping[str, Any] = template["Resources"]
        self._globals: Mapping[str, Any] = template.get("Globals", {})
        declared: Mapping[str, Any] = template.get("Parameters", {})
        if unknown := set(parameters or {}) - set(declared):
            raise KeyError(f"the template declares no parameter {', '.join(sorted(unknown))}")
        # As CloudFormation sees them: the defaults, overridden (sam deploy --parameter-overrides), lists split.
        values = {name: str(p.get("Default", "")) for name, p in declared.items()} | dict(parameters or {})
        self._parameters: dict[str, str | list[str]] = {
            name: _parameter_value(declared[name], value) for name, value in values.items()
        }
        self._stack = stack_name
        self._region = region
        self._s3 = aws.client("s3", region_name=region)
        self._sqs = aws.client("sqs", region_name=region)
        self._ses = aws.client("ses", region_name=region)
        # Always plain boto3: beside LocalStack, DynamoDB is moto's (LocalStack's cannot start on this kind of
        # machine), named by AWS_ENDPOINT_URL_DYNAMODB.
        self._dynamodb = boto3.client("dynamodb", region_name=region)
        account = str(aws.client("sts", region_name=region).get_caller_identity()["Account"])
        self._pseudo: dict[str, str] = {
            "AWS::StackName": stack_name,
            "AWS::AccountId": account,
            "AWS::Region": region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        self._made: dict[str, dict[str, str]] = {}
        self._creators: dict[str, Callable[[str, Mapping[str, Any]], dict[str, str]]] = {
            "AWS::SQS::Queue": self._queue,
            "AWS::S3::Bucket": self._bucket,
            "AWS::DynamoDB::Table": self._table,
            "AWS::SES::EmailIdentity": self._email_identity,
        }

    def provision(self) -> dict[str, str]:
        """Create every local resource; return the functions' environment variables."""
        for logical_id, resource in self._resources.items():
            if resource.get("Type") in self._creators:
                self._attributes(logical_id)
        variables = self._globals.get("Function", {}).get("Environment", {}).get("Variables", {})
        return {name: str(self.resolve(value)) for name, value in variables.items()}

    # --- intrinsic functions ---------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        """Value with Ref / Fn::GetAtt / Fn::Sub / Fn::Join / Fn::Select replaced by local names."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self._ref(value["Ref"])
        if set(value) == {"Fn::GetAtt"}:
            logical_id, attribute = value["Fn::GetAtt"]
            return self._attributes(logical_id)[attribute]
        if set(value) == {"Fn::Sub"}:
            return _SUB_VARIABLE.sub(lambda m: self._sub_variable(m.group(1)), value["Fn::Sub"])
        if set(value) == {"Fn::Join"}:
            delimiter, items = value["Fn::Join"]
            return delimiter.join(str(item) for item in self.resolve(items))
        if set(value) == {"Fn::Select"}:
            index, items = value["Fn::Select"]
            return self.resolve(items)[int(index)]
        return {k: self.resolve(v) for k, v in value.items()}

    def _ref(self, name: str) -> str | list[str]:
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._parameters:
            return self._parameters[name]
        return str(self._attributes(name)["Ref"])

    def _sub_variable(self, name: str) -> str:
        if "." in name:
            logical_id, attribute = name.split(".", 1)
            return self._attributes(logical_id)[attribute]
        value = self._ref(name)
        if isinstance(value, list):
            raise TypeError(f"${{{name}}} is a list: Fn::Sub takes strings")
        return value

    def _attributes(self, logical_id: str) -> dict[str, str]:
        if logical_id not in self._made:
            resource = self._resources[logical_id]
            creator = self._creators.get(resource["Type"])
            if creator is None:
                raise KeyError(f"{logical_id} ({resource['Type']}) has no local equivalent")
            self._made[logical_id] = creator(logical_id, resource.get("Properties", {}))
        return self._made[logical_id]

    # --- resources -------------------------------------------------------------------------
    def _queue(self, logical_id: str, props: Mapping[str, Any]) -> dict[str, str]:
        name = self.resolve(props.get("QueueName", {"Fn::Sub": f"${{AWS::StackName}}-{logical_id}"}))
        attributes: dict[str, str] = {}
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds"):
            if key in props:
                attributes[key] = str(props[key])
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(self.resolve(props["RedrivePolicy"]))
        url = self._sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}

    def _bucket(self, logical_id: str, props: Mapping[str, Any]) -> dict[str, str]:
        name = self.resolve(props.get("BucketName", f"{self._stack}-{logical_id}".lower()))
        create: dict[str, Any] = {"Bucket": name}
        if self._region != "us-east-1":
            create["CreateBucketConfiguration"] = {"LocationConstraint": self._region}
        with contextlib.suppress(self._s3.exceptions.BucketAlreadyOwnedByYou):
            self._s3.create_bucket(**create)
        if "VersioningConfiguration" in props:
            self._s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
        if "CorsConfiguration" in props:
            rules = [_cors_rule(self.resolve(rule)) for rule in props["CorsConfiguration"]["CorsRules"]]
            self._s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
        if "LifecycleConfiguration" in props:
            rules = [_lifecycle_rule(rule) for rule in props["LifecycleConfiguration"]["Rules"]]
            self._s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
        notifications = props.get("NotificationConfiguration", {}).get("QueueConfigurations", [])
        if notifications:
            queue_configs = [
                {
                    "QueueArn": self.resolve(n["Queue"]),
                    "Events": [n["Event"]],
                    **({"Filter": {"Key": {"FilterRules": n["Filter"]["S3Key"]["Rules"]}}} if "Filter" in n else {}),
                }
                for n in notifications
            ]
            self._s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"QueueConfigurations": queue_configs}
            )
        return {"Ref": name, "Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com"}

    def _table(self, logical_id: str, props: Mapping[str, Any]) -> dict[str, str]:
        name = self.resolve(props.get("TableName", f"{self._stack}-{logical_id}"))
        create: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if "GlobalSecondaryIndexes" in props:
            create["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if "LocalSecondaryIndexes" in props:
            create["LocalSecondaryIndexes"] = props["LocalSecondaryIndexes"]
        try:
            description = self._dynamodb.create_table(**create)["TableDescription"]
        except self._dynamodb.exceptions.ResourceInUseException:
            description = self._dynamodb.describe_table(TableName=name)["Table"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            self._dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        return {"Ref": name, "Arn": description["TableArn"]}

    def _email_identity(self, logical_id: str, props: Mapping[str, Any]) -> dict[str, str]:
        # The emulators accept a verification request as verified: SES then sends from it.
        identity = str(self.resolve(props["EmailIdentity"]))
        self._ses.verify_email_identity(EmailAddress=identity)
        return {"Ref": identity}


def _parameter_value(declaration: Mapping[str, Any], value: str) -> str | list[str]:
    """A parameter's value as Ref gives it: a list for CommaDelimitedList."""
    if declaration.get("Type") == "CommaDelimitedList":
        return [item.strip() for item in value.split(",")]
    return value


def _cors_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A CloudFormation CORS rule in the S3 API's shape."""
    names = {"MaxAge": "MaxAgeSeconds", "Id": "ID", "ExposedHeaders": "ExposeHeaders"}
    return {names.get(key, key): value for key, value in rule.items()}


def _lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A CloudFormation lifecycle rule in the S3 API's shape."""
    converted: dict[str, Any] = {
        "ID": rule["Id"],
        "Status": rule["Status"],
        "Filter": {"Prefix": rule.get("Prefix", "")},
    }
    if "AbortIncompleteMultipartUpload" in rule:
        converted["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
    if "NoncurrentVersionExpiration" in rule:
        converted["NoncurrentVersionExpiration"] = rule["NoncurrentVersionExpiration"]
    if "ExpirationInDays" in rule:
        converted["Expiration"] = {"Days": rule["ExpirationInDays"]}
    return converted


def provision(
    stack_name: str = "media-vault-local",
    region: str = "us-east-1",
    localstack_host: str | None = None,
    parameters: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Provision the template's resources where AWS_ENDPOINT_URL* say; S3/SQS on localstack_host when given."""
    aws = boto3 if localstack_host is None else aws_session(localstack_host, region)
    return Provisioner(load_template(), stack_name, region, aws, parameters).provision()


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    """`Name=Value` pairs (as sam deploy's --parameter-overrides takes them) as a dict."""
    overrides = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"parameter override {pair!r} is not Name=Value")
        overrides[name] = value
    return overrides


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Provision infra/template.yaml's resources locally.")
    parser.add_argument("--stack-name", default="media-vault-local")
    parser.add_argument("--localstack-host", help="host:port of LocalStack, for S3, SQS and STS")
    parser.add_argument(
        "--parameter-overrides", nargs="*", default=[], metavar="NAME=VALUE", help="template parameters to set"
    )
    args = parser.parse_args()
    overrides = parse_overrides(args.parameter_overrides)
    print(json.dumps(provision(args.stack_name, localstack_host=args.localstack_host, parameters=overrides), indent=2))
