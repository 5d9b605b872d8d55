/**
 * Google Cloud's rules as data, for gcp-rules.test.ts: which API each Terraform type calls, and which permissions
 * each predefined role holds. Transcribed from Google's documentation (cited per entry), not from the stack: when
 * the stack starts using a new resource type or role, these tables must learn it first, or the tests fail.
 */

/**
 * Terraform type -> the Google APIs its create call needs enabled. Sources: each API's REST reference
 * (https://cloud.google.com/<product>/docs/reference/rest); 2nd-gen functions also need Cloud Run, Cloud Build,
 * Artifact Registry (https://cloud.google.com/functions/docs/concepts/overview, "enable the APIs") and Eventarc
 * for event triggers (https://cloud.google.com/functions/docs/calling/eventarc); project IAM and
 * `data google_project` call Cloud Resource Manager (https://cloud.google.com/resource-manager/reference/rest);
 * service identities call `services.generateServiceIdentity` on the service they name
 * (https://cloud.google.com/service-usage/docs/reference/rest/v1beta1/services/generateServiceIdentity).
 */
export const TYPE_APIS: Record<string, readonly string[]> = {
  google_artifact_registry_repository: ['artifactregistry.googleapis.com'],
  google_artifact_registry_repository_iam_member: ['artifactregistry.googleapis.com'],
  google_bigquery_dataset: ['bigquery.googleapis.com'],
  google_bigquery_dataset_iam_member: ['bigquery.googleapis.com'],
  google_cloud_run_v2_service: ['run.googleapis.com'],
  google_cloud_run_v2_service_iam_member: ['run.googleapis.com'],
  // https://cloud.google.com/scheduler/docs/reference/rest (projects.locations.jobs.create)
  google_cloud_scheduler_job: ['cloudscheduler.googleapis.com'],
  google_cloudfunctions2_function: [
    'cloudfunctions.googleapis.com',
    'run.googleapis.com',
    'cloudbuild.googleapis.com',
    'artifactregistry.googleapis.com',
    'eventarc.googleapis.com',
  ],
  google_logging_metric: ['logging.googleapis.com'],
  google_monitoring_alert_policy: ['monitoring.googleapis.com'],
  google_monitoring_dashboard: ['monitoring.googleapis.com'],
  google_monitoring_notification_channel: ['monitoring.googleapis.com'],
  google_project_iam_member: ['cloudresourcemanager.googleapis.com'],
  google_project_service: [],
  google_project_service_identity: [],
  google_pubsub_subscription: ['pubsub.googleapis.com'],
  google_pubsub_subscription_iam_member: ['pubsub.googleapis.com'],
  google_pubsub_topic: ['pubsub.googleapis.com'],
  google_pubsub_topic_iam_member: ['pubsub.googleapis.com'],
  google_secret_manager_secret_iam_member: ['secretmanager.googleapis.com'],
  google_service_account: ['iam.googleapis.com'],
  google_storage_bucket: ['storage.googleapis.com'],
  google_storage_bucket_iam_member: ['storage.googleapis.com'],
  google_storage_bucket_object: ['storage.googleapis.com'],
  // The collector image build runs `gcloud builds submit` (Cloud Build) and pushes to Artifact Registry.
  terraform_data: ['cloudbuild.googleapis.com', 'artifactregistry.googleapis.com'],
  time_sleep: [],
  'data.google_project': ['cloudresourcemanager.googleapis.com'],
  'data.google_storage_project_service_account': ['storage.googleapis.com'],
  'data.terraform_remote_state': [],
};

/**
 * Predefined role -> the permissions the stacks rely on it for (a subset of each role's list in
 * https://cloud.google.com/iam/docs/roles-permissions and the per-product role pages).
 */
export const ROLE_PERMISSIONS: Record<string, readonly string[]> = {
  'roles/storage.objectViewer': ['storage.objects.get', 'storage.objects.list'],
  'roles/storage.objectCreator': ['storage.objects.create'],
  'roles/storage.objectUser': [
    'storage.objects.create',
    'storage.objects.delete',
    'storage.objects.get',
    'storage.objects.list',
    'storage.objects.update',
  ],
  'roles/storage.legacyBucketReader': ['storage.buckets.get', 'storage.objects.list'],
  'roles/bigquery.dataEditor': [
    'bigquery.datasets.get',
    'bigquery.tables.create',
    'bigquery.tables.get',
    'bigquery.tables.getData',
    'bigquery.tables.update',
    'bigquery.tables.updateData',
  ],
  'roles/bigquery.jobUser': ['bigquery.jobs.create'],
  'roles/eventarc.eventReceiver': ['eventarc.events.receiveEvent'],
  'roles/eventarc.serviceAgent': ['pubsub.subscriptions.create', 'pubsub.topics.create'],
  'roles/run.invoker': ['run.routes.invoke'],
  'roles/pubsub.publisher': ['pubsub.topics.publish'],
  'roles/pubsub.viewer': ['pubsub.topics.get', 'pubsub.subscriptions.get'],
  'roles/pubsub.subscriber': ['pubsub.subscriptions.consume', 'pubsub.topics.attachSubscription'],
  'roles/secretmanager.secretAccessor': ['secretmanager.versions.access'],
  'roles/logging.logWriter': ['logging.logEntries.create'],
  'roles/artifactregistry.writer': [
    'artifactregistry.repositories.downloadArtifacts',
    'artifactregistry.repositories.uploadArtifacts',
  ],
  'roles/iam.serviceAccountTokenCreator': ['iam.serviceAccounts.getAccessToken'],
};

/** What a job's identity must be able to do: a permission on a target (`kind:name`). */
export interface Need {
  permission: string;
  on: string;
  /** Where Google documents the need. */
  source: string;
}
