import { TerraformProvider, TerraformResource } from 'cdktf';
import type { Construct } from 'constructs';

/**
 * The google-beta provider and its one resource the stacks need, declared without `@cdktf/provider-google-beta`
 * (its generated bindings are ~330 MB on disk for a single resource type). What cdktf synthesizes is the same
 * Terraform either way: a `required_providers` entry `hashicorp/google-beta` and the resource's arguments.
 */
export const GOOGLE_BETA_VERSION = '6.50.0';

export class GoogleBetaProvider extends TerraformProvider {
  constructor(
    scope: Construct,
    id: string,
    private readonly settings: { project: string; region: string },
  ) {
    super(scope, id, {
      terraformResourceType: 'google-beta',
      terraformGeneratorMetadata: { providerName: 'google-beta', providerVersion: GOOGLE_BETA_VERSION },
      terraformProviderSource: 'hashicorp/google-beta',
    });
  }

  protected override synthesizeAttributes(): Record<string, unknown> {
    return { project: this.settings.project, region: this.settings.region };
  }
}

export interface ProjectServiceIdentityConfig {
  project: string;
  /** The API whose service agent to create, e.g. `pubsub.googleapis.com`. */
  service: string;
  provider: GoogleBetaProvider;
  dependsOn: TerraformResource[];
}

/**
 * `google_project_service_identity` (google-beta): asks the API to create its service agent now, and returns its
 * email. Google: "if a service agent hasn't been created yet, you can't grant roles to it"
 * (https://cloud.google.com/iam/docs/create-service-agents). Destroying it does nothing in GCP.
 */
export class ProjectServiceIdentity extends TerraformResource {
  constructor(
    scope: Construct,
    id: string,
    private readonly settings: ProjectServiceIdentityConfig,
  ) {
    super(scope, id, {
      terraformResourceType: 'google_project_service_identity',
      terraformGeneratorMetadata: { providerName: 'google-beta', providerVersion: GOOGLE_BETA_VERSION },
      provider: settings.provider,
      dependsOn: settings.dependsOn,
    });
  }

  get email(): string {
    return this.getStringAttribute('email');
  }

  get member(): string {
    return this.getStringAttribute('member');
  }

  protected override synthesizeAttributes(): Record<string, unknown> {
    return { project: this.settings.project, service: this.settings.service };
  }
}
