"""The deployable package, built once (`python -m infra.package`) and then loaded the way Lambda loads it.

Each function is imported in a clean Python (`-I -S`: no site-packages, no PYTHON* variables) whose path is
the function's code (Lambda's /var/task), then its layers' `python/` (/opt/python), then boto3 (which the
Lambda runtime provides): whatever the package forgot shows up as an ImportError.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
BOTO3_CACHE = ROOT / ".build" / "test-boto3"
# The handlers the app declares today (more may be added: every function in the template is checked).
EXPECTED_HANDLERS = {"app.app", "app.processor", "app.analyzer", "functions.authorizer.keycloak"}
PROCESSOR_HANDLER = "app.processor"
# What each layer must make work inside a function that has it.
LAYER_CHECKS = {"ImagingLayer": "render", "VideoLayer": "video", "MlLayer": "moderate"}

pytestmark = pytest.mark.packaging

# Runs inside the clean interpreter: argv[1] is a JSON spec, stdout one JSON report.
PROBE = r"""
import importlib, io, json, sys
spec = json.loads(sys.argv[1])
sys.path[:0] = spec["path"]
module_name, _, attribute = spec["handler"].rpartition(".")
report = {"handler_callable": callable(getattr(importlib.import_module(module_name), attribute))}
for name in spec["imports"]:
    importlib.import_module(name)
try:
    import PIL
    report["pil"] = PIL.__file__
except ImportError:
    report["pil"] = None
if "render" in spec["checks"]:
    from PIL import Image
    from shared.media.images import render_image
    source = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 40, 40)).save(source, format="JPEG")
    result = render_image(source.getvalue(), max_pixels=10**8, renditions=(("thumbnail", 64, "WEBP"),))
    rendition = result.renditions[0]
    report["thumbnail"] = [rendition.content_type, rendition.width, rendition.height, result.metadata.width]
if "video" in spec["checks"]:
    import av
    import shared.media.video
    report["av"] = av.__file__
if "moderate" in spec["checks"]:
    from PIL import Image
    from shared.media.moderation import NudeNetModerator, nudenet_model_path
    result = NudeNetModerator().moderate(Image.new("RGB", (320, 240), (90, 140, 200)))
    report["moderation"] = [nudenet_model_path(), result.score]
report["origins"] = {n: getattr(sys.modules.get(n), "__file__", None) for n in ("botocore", "boto3", "PIL", "app")}
print(json.dumps(report))
"""


@dataclass(frozen=True)
class Build:
    out: Path
    template_path: Path
    template: dict[str, Any]
    log: str
    task: Path  # deployment.zip, extracted
    layers: dict[str, Path]  # layer resource -> extracted dir (holding python/)

    def functions(self) -> dict[str, dict[str, Any]]:
        return {
            name: resource.get("Properties", {})
            for name, resource in self.template["Resources"].items()
            if resource["Type"] == "AWS::Serverless::Function"
        }

    def layer_refs(self, properties: dict[str, Any]) -> list[str]:
        global_layers = self.template.get("Globals", {}).get("Function", {}).get("Layers", [])
        return [layer["Ref"] for layer in [*global_layers, *properties.get("Layers", [])] if isinstance(layer, dict)]


def _extract(archive: Path, target: Path) -> Path:
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(target)
    return target


def _tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """`make package`, into a temporary --out, once for this module."""
    out = tmp_path_factory.mktemp("package")
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    command = [sys.executable, "-m", "infra.package", "--stage", "dev", "--out", str(out / "build")]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800, check=False)
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"infra.package failed:\n{log}"
    template_path = out / "build" / "sam.yaml"
    assert template_path.is_file(), f"no template written:\n{log}"
    template = yaml.safe_load(template_path.read_text())
    layers = {
        name: _extract(template_path.parent / resource["Properties"]["ContentUri"], out / "opt" / name)
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::LayerVersion"
    }
    task = _extract(template_path.parent / "deployment.zip", out / "task")
    return Build(out, template_path, template, log, task, layers)


@pytest.fixture(scope="module")
def runtime_boto3() -> Path:
    """boto3 as the Lambda runtime provides it: installed once per version under .build/test-boto3."""
    version = importlib.metadata.version("boto3")
    target = BOTO3_CACHE / f"boto3-{version}"
    if not target.is_dir():
        BOTO3_CACHE.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=BOTO3_CACHE))
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
        subprocess.run([*pip, "--target", str(staging), f"boto3=={version}"], check=True, timeout=600)
        try:
            staging.rename(target)
        except OSError:  # another run got there first
            shutil.rmtree(staging, ignore_errors=True)
    return target


def clean_python() -> str:
    """The base interpreter behind this venv (same Python as Lambda's runtime: 3.12)."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    python = Path(sys.base_prefix) / "bin" / f"python{version}"
    assert python.is_file(), f"no base Python {version} at {python}"
    return str(python)


def lambda_environment(name: str, properties: dict[str, Any], template: dict[str, Any]) -> dict[str, str]:
    """What Lambda would set: runtime variables plus the function's variables (intrinsics -> placeholders)."""
    variables = {
        **template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}),
        **properties.get("Environment", {}).get("Variables", {}),
    }
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_SESSION_TOKEN": "test",
        "AWS_LAMBDA_FUNCTION_NAME": f"media-vault-dev-{name}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(properties.get("MemorySize", 128)),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}",
    }
    for key, value in variables.items():
        env[key] = value if isinstance(value, str) else f"placeholder-{key.lower()}"
    return env


def probe(build: Build, boto3_dir: Path, name: str, properties: dict[str, Any]) -> dict[str, Any]:
    refs = build.layer_refs(properties)
    layer_paths = [str(build.layers[ref] / "python") for ref in refs]
    checks = [check for layer, check in LAYER_CHECKS.items() if layer in refs]
    spec = {
        "path": [str(build.task), *layer_paths, str(boto3_dir)],
        "handler": properties["Handler"],
        "imports": ["app"],
        "checks": checks,
    }
    env = lambda_environment(name, properties, build.template)
    command = [clean_python(), "-I", "-S", "-B", "-c", PROBE, json.dumps(spec)]
    result = subprocess.run(command, cwd=build.task, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"{name} ({properties['Handler']}) does not load:\n{result.stderr}"
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def test_template_is_built_and_lint_clean(build: Build) -> None:
    assert build.template_path.is_file()
    assert build.template.get("Transform") == "AWS::Serverless-2016-10-31"
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), "--format", "parseable", "--", str(build.template_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    findings = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, f"cfn-lint findings:\n{findings}"
    assert findings == ""


def test_every_function_loads_in_a_clean_python(build: Build, runtime_boto3: Path) -> None:
    functions = build.functions()
    handlers = {properties["Handler"] for properties in functions.values()}
    assert handlers >= EXPECTED_HANDLERS, f"template handlers: {sorted(handlers)}"
    for name, properties in sorted(functions.items()):
        assert properties.get("Runtime") == f"python{sys.version_info.major}.{sys.version_info.minor}", name
        report = probe(build, runtime_boto3, name, properties)
        assert report["handler_callable"], f"{name}: {properties['Handler']} is not callable"
        refs = build.layer_refs(properties)
        opt = str(build.out / "opt")
        if "ImagingLayer" in refs:
            assert report["pil"] and report["pil"].startswith(opt), f"{name}: PIL not from a layer: {report}"
            assert report["thumbnail"] == ["image/webp", 64, 48, 640], report
        else:
            assert report["pil"] is None, f"{name} can import PIL (from {report['pil']}): it belongs in the layer"
        if "VideoLayer" in refs:
            assert report["av"].startswith(opt), report
        if "MlLayer" in refs:
            model_path, score = report["moderation"]
            assert model_path.startswith(opt) and model_path.endswith(".onnx"), report
            assert 0.0 <= score < 0.2, report


def test_pillow_ships_only_in_the_processor_layer(build: Build) -> None:
    with zipfile.ZipFile(build.out / "build" / "deployment.zip") as zf:
        pil_entries = [n for n in zf.namelist() if n.split("/")[0] in ("PIL", "pillow.libs")]
    assert pil_entries == [], f"deployment.zip ships Pillow: {pil_entries[:5]}"
    assert (build.layers["ImagingLayer"] / "python" / "PIL" / "__init__.py").is_file()
    functions = build.functions()
    processor = next(p for p in functions.values() if p["Handler"] == PROCESSOR_HANDLER)
    assert {"ImagingLayer", "VideoLayer"} <= set(build.layer_refs(processor))
    analyzer = next(p for p in functions.values() if p["Handler"] == "app.analyzer")
    assert {"ImagingLayer", "MlLayer"} <= set(build.layer_refs(analyzer))
    api = next(p for p in functions.values() if p["Handler"] == "app.app")
    assert "ImagingLayer" not in build.layer_refs(api)


def test_each_function_fits_lambdas_unzipped_limit(build: Build) -> None:
    task_bytes = _tree_bytes(build.task)
    sizes = {
        name: task_bytes + sum(_tree_bytes(build.layers[ref]) for ref in build.layer_refs(properties))
        for name, properties in build.functions().items()
    }
    layer_sizes = ", ".join(f"{ref} {_mb(_tree_bytes(path))}" for ref, path in sorted(build.layers.items()))
    per_function = ", ".join(f"{name} {_mb(size)}" for name, size in sorted(sizes.items()))
    report = f"deployment.zip unzipped {_mb(task_bytes)}; layers: {layer_sizes}; per function: {per_function}"
    print(report)
    over = {name: size for name, size in sizes.items() if size >= LAMBDA_UNZIPPED_LIMIT}
    assert not over, f"over Lambda's 250 MB unzipped limit: {report}"


def test_the_packaged_stack_keeps_its_logs_alarms_to_one_topic_and_backs_itself_up(build: Build) -> None:
    resources = build.template["Resources"]

    def of_type(kind: str) -> dict[str, dict[str, Any]]:
        return {name: r.get("Properties", {}) for name, r in resources.items() if r["Type"] == kind}

    # Every function's log group exists in the stack, with the retention parameter.
    groups = of_type("AWS::Logs::LogGroup")
    names = [str(props["LogGroupName"]["Fn::Sub"]) for props in groups.values()]
    named = {name.removeprefix("/aws/lambda/${").rstrip("}") for name in names}
    assert named == set(build.functions()), f"functions without a log group: {set(build.functions()) - named}"
    assert all(props["RetentionInDays"] == {"Ref": "LogRetentionDays"} for props in groups.values())
    # Every alarm notifies the one topic; the alarms are all there.
    alarms = of_type("AWS::CloudWatch::Alarm")
    assert all(props.get("AlarmActions") == [{"Ref": "AlarmTopic"}] for props in alarms.values())
    expected = {
        "Api5xxRateAlarm", "ApiLatencyAlarm", "ThrottlesAlarm", "ProcessorErrorsAlarm", "ProcessorNearTimeoutAlarm",
        "FailedSignInSpikeAlarm", "ProcessingDeadLetterAlarm", "NotificationsDeadLetterAlarm",
        "MaintenanceDeadLetterAlarm", "RecorderErrorsAlarm", "AuditWriteFailedAlarm", "AnalyticsWriteFailedAlarm",
    }  # fmt: skip
    assert expected <= set(alarms)
    assert alarms["ApiLatencyAlarm"]["ExtendedStatistic"] == "p99" and alarms["ApiLatencyAlarm"]["Threshold"] == 2000
    # The failed-sign-in metric counts the authorizer's own refusal line.
    [metric] = of_type("AWS::Logs::MetricFilter").values()
    assert metric["FilterPattern"] == '{ $.message = "token refused" }'
    # Daily backups kept 30 days, of every table holding people's data and of the bucket.
    [plan] = of_type("AWS::Backup::BackupPlan").values()
    [rule] = plan["BackupPlan"]["BackupPlanRule"]
    assert rule["ScheduleExpression"].startswith("cron(0 3 * * ? *") and rule["Lifecycle"] == {"DeleteAfterDays": 30}
    [selection] = of_type("AWS::Backup::BackupSelection").values()
    covered = json.dumps(selection["BackupSelection"]["Resources"])
    for table in ("MediaTable", "UsersTable", "SharesTable", "AlbumsTable", "AuditTable", "NotificationsTable"):
        assert table in covered
    assert "${MediaBucket}" in covered
    # The processor's concurrency is reserved when the parameter asks for it.
    processor = build.functions()["Processor"]
    assert processor["ReservedConcurrentExecutions"]["Fn::If"][0] == "ProcessorReserved"
    assert of_type("AWS::CloudWatch::Dashboard")


def _statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    policies = template["Resources"][role]["Properties"]["Policies"]
    return [s for p in policies for s in p["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def _resources(statement: dict[str, Any]) -> list[str]:
    resources = statement["Resource"]
    listed = resources if isinstance(resources, list) else [resources]
    return [r["Fn::Sub"] if isinstance(r, dict) and "Fn::Sub" in r else json.dumps(r) for r in listed]


def test_the_api_writes_only_originals_and_the_analyzer_invokes_only_the_configured_model(build: Build) -> None:
    # The API signs uploads into originals/ and removes what a purge or rejection removes; exports/ and the rest
    # of the bucket are not its to write.
    writes = ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:AbortMultipartUpload")
    api_writes = [
        (action, resource)
        for statement in _statements(build.template, "ApiHandlerRole")
        for action in _actions(statement)
        if action in writes or action == "s3:*"
        for resource in _resources(statement)
    ]
    assert api_writes, "the API signs uploads, so it must be allowed to write originals"
    bucket = "arn:${AWS::Partition}:s3:::${MediaBucket}/"
    for action, resource in api_writes:
        assert resource in (bucket + "originals/*", bucket + "renditions/*"), (action, resource)
        assert action != "s3:PutObject" or resource == bucket + "originals/*", (action, resource)
    # Bedrock: InvokeModel on the one foundation model the stack's parameter names; no other Bedrock action.
    analyzer = _statements(build.template, "AnalyzerRole")
    bedrock = [s for s in analyzer if any(a.startswith("bedrock:") for a in _actions(s))]
    assert [_actions(s) for s in bedrock] == [["bedrock:InvokeModel"]]
    assert _resources(bedrock[0]) == [
        "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/${DescriptionModelId}"
    ]
    assert build.template["Globals"]["Function"]["Environment"]["Variables"]["BEDROCK_MODEL_ID"] == {
        "Ref": "DescriptionModelId"
    }
    # The janitor's retention chores query sparse indexes: no role may scan a table holding people's media or grants.
    for role in ("JanitorRole", "ApiHandlerRole", "ProcessorRole", "AnalyzerRole", "NotifierRole"):
        assert not [s for s in _statements(build.template, role) if "dynamodb:Scan" in _actions(s)], role
    # A wildcard resource only where the service has no resource to name (logs' own ARN form aside).
    for role in ("ApiHandlerRole", "AnalyzerRole", "ProcessorRole", "JanitorRole", "MaintainerRole", "NotifierRole"):
        for statement in _statements(build.template, role):
            if statement["Resource"] == "*":
                assert set(_actions(statement)) <= {
                    "rekognition:DetectModerationLabels", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
                    "cloudwatch:PutMetricData", "ses:SendEmail", "ses:SendRawEmail",
                }, (role, statement)  # fmt: skip


def _csp_directives(policy: str) -> dict[str, list[str]]:
    directives = [d.split() for d in policy.split(";") if d.strip()]
    return {words[0]: words[1:] for words in directives}


def test_the_console_is_served_from_a_private_bucket_through_cloudfront_only(build: Build) -> None:
    resources = build.template["Resources"]
    [(bucket_id, bucket)] = [
        (name, r) for name, r in resources.items() if r["Type"] == "AWS::S3::Bucket" and name.startswith("Console")
    ]
    [distribution] = [
        r["Properties"]["DistributionConfig"]
        for r in resources.values()
        if r["Type"] == "AWS::CloudFront::Distribution"
    ]
    [oac] = [
        r["Properties"]["OriginAccessControlConfig"]
        for r in resources.values()
        if r["Type"] == "AWS::CloudFront::OriginAccessControl"
    ]
    props = bucket["Properties"]
    # The bucket is not public and is encrypted.
    assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert "WebsiteConfiguration" not in props
    # CloudFront reads it through origin access control, signing with SigV4, and serves HTTPS only.
    assert oac == {
        **oac,
        "OriginAccessControlOriginType": "s3",
        "SigningBehavior": "always",
        "SigningProtocol": "sigv4",
    }
    [origin] = distribution["Origins"]
    assert origin["DomainName"] == {"Fn::GetAtt": [bucket_id, "RegionalDomainName"]}
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["ConsoleOriginAccessControl", "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert distribution["DefaultRootObject"] == "index.html"
    behaviours = [distribution["DefaultCacheBehavior"], *distribution.get("CacheBehaviors", [])]
    assert all(b["ViewerProtocolPolicy"] == "redirect-to-https" for b in behaviours)
    assert all(b["ResponseHeadersPolicyId"] == {"Ref": "ConsoleHeadersPolicy"} for b in behaviours)
    # Only that distribution may read (and nothing else is allowed at all).
    [policy] = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::S3::BucketPolicy" and r["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    allows = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert len(allows) == 1
    [allow] = allows
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"} and allow["Action"] == "s3:GetObject"
    source_arn = allow["Condition"]["StringEquals"]["aws:SourceArn"]["Fn::Sub"]
    assert source_arn.endswith(":distribution/${ConsoleDistribution}")
    outputs = build.template["Outputs"]
    assert outputs["ConsoleBucketName"]["Value"] == {"Ref": bucket_id}
    assert "ConsoleDistribution.DomainName" in outputs["ConsoleDistributionUrl"]["Value"]["Fn::Sub"]


def test_the_console_content_security_policy_is_strict(build: Build) -> None:
    [headers] = [
        r["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
        for r in build.template["Resources"].values()
        if r["Type"] == "AWS::CloudFront::ResponseHeadersPolicy"
    ]
    text, variables = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    assert headers["ContentSecurityPolicy"]["Override"] is True
    csp = _csp_directives(text)
    sources = [source for values in csp.values() for source in values]
    assert not [s for s in sources if "*" in s], f"a wildcard source: {text}"
    assert "'unsafe-inline'" not in csp["script-src"] + csp["default-src"]
    assert not [s for s in sources if s in ("'unsafe-eval'", "http:", "https:")]
    assert csp["default-src"] == ["'self'"] and csp["script-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'self'"]
    # The page talks to the API, the identity provider and the media bucket, and loads media from the bucket only.
    assert set(csp["connect-src"]) == {"'self'", "${ApiOrigin}", "${IdentityOrigin}", "${MediaSources}"}
    assert set(csp["img-src"]) == {"'self'", "data:", "blob:", "${MediaSources}"}
    assert set(csp["media-src"]) <= {"'self'", "blob:", "${MediaSources}"} and "${MediaSources}" in csp["media-src"]
    assert "${RestAPI}" in variables["ApiOrigin"]["Fn::Sub"]
    assert json.dumps(variables["IdentityOrigin"]).count("IdentityIssuer") == 1
    media_sources = variables["MediaSources"]["Fn::Sub"].split()
    assert media_sources and all(s.startswith("https://") and "/${MediaBucket}" in s for s in media_sources)
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert headers["ContentTypeOptions"]["Override"] is True
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "no-referrer"


def test_browsers_reach_the_api_and_the_bucket_from_the_configured_origins_only(build: Build) -> None:
    resources = build.template["Resources"]
    assert build.template["Parameters"]["AllowedOrigins"]["Type"] == "CommaDelimitedList"
    [rule] = resources["MediaBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedOrigins"] == {"Ref": "AllowedOrigins"}
    cors = resources["RestAPI"]["Properties"]["Cors"]
    assert "AllowedOrigins" in json.dumps(cors["AllowOrigin"]) and "*" not in json.dumps(cors["AllowOrigin"])
    assert {h.strip() for h in cors["AllowHeaders"].strip("'").split(",")} == {
        "Authorization", "Content-Type", "X-Link-Password"
    }  # fmt: skip
    # API Gateway's own refusals (401, 403, 429...) reach the console too, so it can show and act on them.
    gateway_responses = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::ApiGateway::GatewayResponse"]
    assert gateway_responses
    for response in gateway_responses:
        origin = response["ResponseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"]
        assert "AllowedOrigins" in json.dumps(origin), response["ResponseType"]


def test_the_console_bundle_is_packaged_for_its_bucket(build: Build) -> None:
    console = build.template_path.parent / "console"
    files = {p.relative_to(console).as_posix() for p in console.rglob("*") if p.is_file()}
    assert {"index.html", "app.js", "app.css"} <= files, files
    # Nothing a deployment must not serve: source maps, or a config.json left by a local run.
    assert not [f for f in files if f.endswith(".map") or f == "config.json"], files
    index = (console / "index.html").read_text()
    assert "<script" in index and not [line for line in index.splitlines() if "<script>" in line], "inline script"
