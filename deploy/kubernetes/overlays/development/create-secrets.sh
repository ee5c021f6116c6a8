#!/usr/bin/env bash
# Creates (or replaces) every Secret the development overlay names, with fresh random passwords and
# a fresh signing key, in the namespace taskflow-dev. Needs kubectl and openssl.
# Re-running it changes the datastore passwords: delete the datastore pods afterwards (their data
# is in emptyDirs anyway).
set -euo pipefail
NS=${NAMESPACE:-taskflow-dev}
secret() { kubectl -n "$NS" create secret generic "$@" --dry-run=client -o yaml | kubectl apply -f -; }
rand() { openssl rand -hex 24; }

kubectl get namespace "$NS" >/dev/null 2>&1 || kubectl create namespace "$NS"
PG_PASSWORD=$(rand)
MQ_PASSWORD=$(rand)
KEY=$(mktemp)
trap 'rm -f "$KEY"' EXIT
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$KEY" 2>/dev/null

secret taskflow-dev-datastores \
  --from-literal=postgres-password="$PG_PASSWORD" \
  --from-literal=rabbitmq-user=taskflow \
  --from-literal=rabbitmq-password="$MQ_PASSWORD"
db=() mq=()
for s in identity tenancy work audit webhooks; do
  db+=(--from-literal="$s=postgres://postgres:$PG_PASSWORD@postgres:5432/taskflow")
  mq+=(--from-literal="$s=amqp://taskflow:$MQ_PASSWORD@rabbitmq:5672")
done
secret taskflow-database "${db[@]}"
secret taskflow-broker "${mq[@]}"
secret taskflow-jwt --from-file=private-key="$KEY"
secret taskflow-service-token --from-literal=token="$(rand)"
secret taskflow-redis --from-literal=url=redis://redis:6379
secret taskflow-webhooks --from-literal=secret-key="$(rand)"
echo "Secrets ready in namespace $NS. Now: kubectl apply -k $(dirname "$0")"
