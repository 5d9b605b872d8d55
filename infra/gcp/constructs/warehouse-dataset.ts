import { BigqueryDataset } from '@cdktf/provider-google/lib/bigquery-dataset/index.js';
import type { Construct } from 'constructs';
import type { GcpConfig } from '../config.ts';

export interface WarehouseDatasetProps {
  config: Pick<GcpConfig, 'project' | 'environment' | 'forceDestroy'>;
  datasetId: string;
  /** The raw and staging buckets' location: load jobs read staging objects from the same location. */
  location: string;
}

/** The BigQuery dataset the loader writes; tables are created by the loader as events arrive. */
export function warehouseDataset(scope: Construct, props: WarehouseDatasetProps): BigqueryDataset {
  return new BigqueryDataset(scope, 'warehouse-dataset', {
    project: props.config.project,
    datasetId: props.datasetId,
    location: props.location,
    description: `Sluice warehouse (${props.config.environment}): Segment-compatible event tables`,
    deleteContentsOnDestroy: props.config.forceDestroy,
    labels: { app: 'sluice', environment: props.config.environment },
  });
}
