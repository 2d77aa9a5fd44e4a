#!/usr/bin/env bash
# The two instance profiles cluster.yaml names, with S3 access to one bucket only:
#   rayemr-master  S3 + what Ray's autoscaler needs to launch/end workers and pass rayemr-node
#   rayemr-node    S3
# Usage: rayemr/emr/examples/iam/create-instance-profiles.sh YOUR-BUCKET   (needs the aws CLI
# and IAM rights: iam:CreateRole, PutRolePolicy, CreateInstanceProfile, AddRoleToInstanceProfile)
set -euo pipefail
bucket="${1:?usage: $0 BUCKET (the bucket for data, logs and the metastore snapshot)}"
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

for name in rayemr-node rayemr-master; do
  sed "s/YOUR-BUCKET/${bucket}/g" "$here/${name}-policy.json" > "$tmp/${name}.json"
  if ! aws iam get-role --role-name "$name" >/dev/null 2>&1; then
    aws iam create-role --role-name "$name" \
      --assume-role-policy-document "file://$here/ec2-trust.json" >/dev/null
  fi
  aws iam put-role-policy --role-name "$name" --policy-name "$name" \
    --policy-document "file://$tmp/${name}.json"
  if ! aws iam get-instance-profile --instance-profile-name "$name" >/dev/null 2>&1; then
    aws iam create-instance-profile --instance-profile-name "$name" >/dev/null
    aws iam add-role-to-instance-profile --instance-profile-name "$name" --role-name "$name"
  fi
  echo "instance profile $name: role $name with policy $name (bucket $bucket)"
done
