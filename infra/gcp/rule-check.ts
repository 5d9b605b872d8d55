// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the values are Terraform interpolation tokens
/**
 * Reading synthesized Terraform JSON the way Terraform and IAM do, for gcp-rules.test.ts: the dependency graph
 * (`depends_on` and `${...}` references), and which grants cover a permission on a resource, IAM conditions included.
 */
import type { Need } from './gcp-rules-tables.ts';
import { ROLE_PERMISSIONS } from './gcp-rules-tables.ts';
import type { TerraformJson } from './synth-fixture.ts';

export type Body = Record<string, unknown>;
export interface Node {
  type: string;
  body: Body;
}
/** Every resource (`type.id`) and data source (`data.type.id`) of a stack. */
export function nodes(tf: TerraformJson): Map<string, Node> {
  const out = new Map<string, Node>();
  for (const [type, byId] of Object.entries(tf.resource)) {
    for (const [id, body] of Object.entries(byId)) out.set(`${type}.${id}`, { type, body });
  }
  for (const [type, byId] of Object.entries(tf.data ?? {})) {
    for (const [id, body] of Object.entries(byId))
      out.set(`data.${type}.${id}`, { type: `data.${type}`, body });
  }
  return out;
}
/** What Terraform orders a node after: its `depends_on` and every `${...}` reference in its arguments. */
export function directDeps(body: Body): Set<string> {
  const { '//': _meta, depends_on: dependsOn, ...args } = body;
  const deps = new Set<string>((dependsOn as string[] | undefined) ?? []);
  for (const m of JSON.stringify(args).matchAll(/\$\{((?:data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+)/g)) {
    if (m[1] && !m[1].startsWith('terraform.')) deps.add(m[1]);
  }
  return deps;
}
export function closure(tf: TerraformJson, start: string): Set<string> {
  const all = nodes(tf);
  const seen = new Set<string>();
  const todo = [...directDeps(all.get(start)?.body ?? {})];
  for (let a = todo.pop(); a !== undefined; a = todo.pop()) {
    if (seen.has(a)) continue;
    seen.add(a);
    todo.push(...directDeps(all.get(a)?.body ?? {}));
  }
  return seen;
}
/** The google_project_service address enabling `api` in a project stack. */
export function apiAddress(tf: TerraformJson, api: string): string | undefined {
  const entry = Object.entries(tf.resource.google_project_service ?? {}).find(([, b]) => b.service === api);
  return entry ? `google_project_service.${entry[0]}` : undefined;
}
/** A grant as the permission check sees it: who, which role, on what, under which condition. */
export interface Grant {
  member: string;
  role: string;
  scope: string;
  condition?: string;
}
export function grants(tf: TerraformJson): Grant[] {
  const scopeOf: Record<string, (b: Body) => string> = {
    google_project_iam_member: () => 'project',
    google_storage_bucket_iam_member: (b) => `bucket:${String(b.bucket)}`,
    google_pubsub_topic_iam_member: (b) => `topic:${String(b.topic)}`,
    google_pubsub_subscription_iam_member: (b) => `subscription:${String(b.subscription)}`,
    google_bigquery_dataset_iam_member: (b) => `dataset:${String(b.dataset_id)}`,
    google_secret_manager_secret_iam_member: (b) => `secret:${String(b.secret_id)}`,
    google_artifact_registry_repository_iam_member: (b) => `repository:${String(b.repository)}`,
    google_cloud_run_v2_service_iam_member: (b) => `service:${String(b.name)}`,
  };
  const out: Grant[] = [];
  for (const [type, byId] of Object.entries(tf.resource)) {
    if (!type.endsWith('_iam_member')) continue;
    const scope = scopeOf[type];
    if (!scope) throw new Error(`no scope rule for ${type}`);
    for (const b of Object.values(byId)) {
      const condition = (b.condition as { expression?: string } | undefined)?.expression;
      out.push({
        member: String(b.member),
        role: String(b.role),
        scope: scope(b),
        ...(condition ? { condition } : {}),
      });
    }
  }
  return out;
}
/** Cloud Storage resource names as IAM conditions see them (https://cloud.google.com/iam/docs/conditions-resource-attributes). */
export const resourceName = (target: string): string | undefined => {
  const [kind, rest = ''] = target.split(/:(.*)/s);
  if (kind === 'bucket') return `projects/_/buckets/${rest}`;
  if (kind === 'object') {
    const slash = rest.indexOf('/');
    return `projects/_/buckets/${rest.slice(0, slash)}/objects/${rest.slice(slash + 1)}`;
  }
  return undefined;
};
/** The one condition form the stacks use: `resource.name.startsWith("...")`. */
export function conditionAllows(condition: string | undefined, target: string): boolean {
  if (condition === undefined) return true;
  const prefix = condition.match(/^resource\.name\.startsWith\("(.*)"\)$/s)?.[1];
  if (prefix === undefined) throw new Error(`unsupported condition ${condition}`);
  return resourceName(target)?.startsWith(prefix) ?? false;
}
export const bucketOf = (target: string): string | undefined =>
  target.startsWith('object:') ? `bucket:${target.slice('object:'.length).split('/')[0]}` : undefined;
export function covered(all: Grant[], member: string, need: Need): boolean {
  return all.some(
    (g) =>
      g.member === member &&
      ROLE_PERMISSIONS[g.role]?.includes(need.permission) &&
      (g.scope === 'project' || g.scope === need.on || g.scope === bucketOf(need.on)) &&
      conditionAllows(g.condition, need.on),
  );
}
